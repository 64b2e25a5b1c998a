//! Solana wire transactions (placeholder: being written).

/// Where things sit inside one wire transaction (offsets from its first byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireLayout {
    /// Offset of the first signature; signature i is at `signatures_at + 64 * i`.
    pub signatures_at: usize,
    /// Number of signatures = number of required signers.
    pub signer_count: usize,
    /// Offset of the message (it runs to the end of the transaction).
    pub message_at: usize,
    /// Offset of the first account key; signer i's key is at `pubkeys_at + 32 * i`.
    pub pubkeys_at: usize,
}

/// Why a wire transaction does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Placeholder.
    #[error("truncated")]
    Truncated,
}

/// Parses one wire transaction.
pub fn parse(_raw: &[u8]) -> Result<WireLayout, WireError> {
    Err(WireError::Truncated)
}
