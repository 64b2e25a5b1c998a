//! Synthetic batches (being written).
