//! JSON Lines interchange format (being written).
