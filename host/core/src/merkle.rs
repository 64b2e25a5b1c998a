//! The vigil-merkle-v1 tree (being written).
