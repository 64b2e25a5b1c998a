//! Input forms parsed into a [`crate::Batch`].

pub mod jsonl;
pub mod solana;
