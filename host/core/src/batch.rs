//! Flat transaction batches: one byte arena plus offset arrays.
//!
//! A batch is laid out the way a device copy takes it. Every transaction's *leaf* (the
//! bytes its Merkle leaf is hashed over, see docs/MERKLE.md) sits back to back in one arena:
//!
//! * a Solana wire transaction's leaf is its raw bytes as received, and its signatures,
//!   public keys and message are located inside those bytes (parsed in place);
//! * a generic transaction's leaf is its canonical encoding
//!   `u8 signer_count || (pubkey || signature)* || message`, so again every signer and the
//!   message are sub-ranges of the leaf.
//!
//! Offsets are `u32` (a batch's arena is capped at 4 GiB - 1) to halve what crosses
//! PCIe. Per transaction there is the start of its leaf and of its message (the message
//! always runs to the end of the leaf); per signer there is the offset of its public key
//! and of its signature and the index of its transaction. Nothing is allocated per item.
//!
//! A transaction that could not be parsed stays in the batch, with no signers and its
//! reason, so verdicts line up with the input; it is invalid. Its leaf is the raw
//! bytes received where there are some (Solana wire), empty otherwise.

use std::sync::Arc;

/// Length of an Ed25519 public key.
pub const PUBKEY_LEN: usize = 32;
/// Length of an Ed25519 signature (R || S).
pub const SIG_LEN: usize = 64;
/// Most signers one transaction may have (the count is one byte in the canonical form).
pub const MAX_SIGNERS: usize = 255;
/// Largest arena a batch may hold: offsets are `u32`.
pub const MAX_ARENA: usize = u32::MAX as usize;

/// One signer of a generic transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signer {
    /// The Ed25519 public key A, as received.
    pub pubkey: [u8; PUBKEY_LEN],
    /// The signature R || S, as received.
    pub signature: [u8; SIG_LEN],
}

/// Errors that concern a whole batch (not one transaction).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// The arena would pass [`MAX_ARENA`] bytes.
    #[error("batch too large: its bytes would exceed {MAX_ARENA}")]
    TooLarge,
}

/// Byte strings stored back to back: the leaves of a Merkle tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leaves {
    bytes: Vec<u8>,
    /// `starts[i]..starts[i + 1]` is leaf `i`; always one longer than the leaf count.
    starts: Vec<u32>,
}

impl Default for Leaves {
    fn default() -> Self {
        Leaves::with_capacity(0, 0)
    }
}

impl Leaves {
    /// An empty set with room for `leaves` leaves of `bytes` bytes in all.
    pub fn with_capacity(leaves: usize, bytes: usize) -> Self {
        let mut starts = Vec::with_capacity(leaves + 1);
        starts.push(0);
        Leaves {
            bytes: Vec::with_capacity(bytes),
            starts,
        }
    }

    /// Appends one leaf.
    pub fn push(&mut self, leaf: &[u8]) -> Result<(), BatchError> {
        self.bytes.extend_from_slice(leaf);
        self.seal()
    }

    /// Ends the leaf whose bytes were written with [`Leaves::bytes_mut`].
    fn seal(&mut self) -> Result<(), BatchError> {
        let end = u32::try_from(self.bytes.len()).map_err(|_| BatchError::TooLarge)?;
        self.starts.push(end);
        Ok(())
    }

    fn bytes_mut(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }

    fn offset(&self) -> usize {
        self.bytes.len()
    }

    /// Number of leaves.
    pub fn len(&self) -> usize {
        self.starts.len() - 1
    }

    /// Whether there are no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Leaf `i`. Panics if `i >= len()` (an index bug, not an input error).
    pub fn get(&self, i: usize) -> &[u8] {
        &self.bytes[self.starts[i] as usize..self.starts[i + 1] as usize]
    }

    /// Iterates over the leaves in order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.starts
            .windows(2)
            .map(|w| &self.bytes[w[0] as usize..w[1] as usize])
    }

    /// The whole arena (what a device copies).
    pub fn arena(&self) -> &[u8] {
        &self.bytes
    }

    /// The leaf start offsets, `len() + 1` of them.
    pub fn starts(&self) -> &[u32] {
        &self.starts
    }
}

impl<T: AsRef<[u8]>> FromIterator<T> for Leaves {
    /// Collects leaves; panics only if they pass 4 GiB in all.
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut leaves = Leaves::with_capacity(0, 0);
        for leaf in iter {
            #[allow(clippy::expect_used)]
            leaves.push(leaf.as_ref()).expect("leaves exceed 4 GiB");
        }
        leaves
    }
}

/// A batch of transactions in flat buffers. Build one with [`BatchBuilder`].
#[derive(Debug, Clone)]
pub struct Batch {
    leaves: Arc<Leaves>,
    /// Per transaction: arena offset where its message starts (it ends with the leaf).
    msg_start: Vec<u32>,
    /// Per transaction, plus one: `signer_start[i]..signer_start[i + 1]` are its signers.
    signer_start: Vec<u32>,
    /// Per signer: arena offset of its public key.
    pubkey_at: Vec<u32>,
    /// Per signer: arena offset of its signature.
    sig_at: Vec<u32>,
    /// Per signer: index of its transaction.
    signer_tx: Vec<u32>,
    /// Per transaction: why it could not be parsed.
    errors: Vec<Option<Box<str>>>,
}

impl Batch {
    /// Number of transactions.
    pub fn len(&self) -> usize {
        self.msg_start.len()
    }

    /// Whether the batch holds no transactions.
    pub fn is_empty(&self) -> bool {
        self.msg_start.is_empty()
    }

    /// Number of signatures over all transactions.
    pub fn signature_count(&self) -> usize {
        self.pubkey_at.len()
    }

    /// The transactions' leaves (shared, for Merkle roots and device copies).
    pub fn leaves(&self) -> &Arc<Leaves> {
        &self.leaves
    }

    /// The message transaction `tx` signs.
    pub fn message(&self, tx: usize) -> &[u8] {
        let end = self.leaves.starts()[tx + 1] as usize;
        &self.leaves.arena()[self.msg_start[tx] as usize..end]
    }

    /// The range of signer indices belonging to transaction `tx`.
    pub fn signers_of(&self, tx: usize) -> std::ops::Range<usize> {
        self.signer_start[tx] as usize..self.signer_start[tx + 1] as usize
    }

    /// The range of signer indices belonging to transactions `txs` (contiguous: those
    /// of its first to its last transaction; empty for no transactions).
    pub fn signers_of_range(&self, txs: &std::ops::Range<usize>) -> std::ops::Range<usize> {
        if txs.is_empty() {
            return 0..0;
        }
        self.signers_of(txs.start).start..self.signers_of(txs.end - 1).end
    }

    /// Signer `s`'s public key.
    pub fn pubkey(&self, s: usize) -> &[u8; PUBKEY_LEN] {
        let at = self.pubkey_at[s] as usize;
        self.fixed(at)
    }

    /// Signer `s`'s signature.
    pub fn signature(&self, s: usize) -> &[u8; SIG_LEN] {
        let at = self.sig_at[s] as usize;
        self.fixed(at)
    }

    /// The transaction signer `s` belongs to.
    pub fn signer_tx(&self, s: usize) -> usize {
        self.signer_tx[s] as usize
    }

    /// Everything needed to check signer `s`: (public key, signature, message).
    pub fn signer_item(&self, s: usize) -> (&[u8; PUBKEY_LEN], &[u8; SIG_LEN], &[u8]) {
        (
            self.pubkey(s),
            self.signature(s),
            self.message(self.signer_tx(s)),
        )
    }

    /// Why transaction `tx` could not be parsed, if it could not.
    pub fn error(&self, tx: usize) -> Option<&str> {
        self.errors[tx].as_deref()
    }

    /// The raw offset arrays, for device copies.
    pub fn offsets(&self) -> BatchOffsets<'_> {
        BatchOffsets {
            msg_start: &self.msg_start,
            signer_start: &self.signer_start,
            pubkey_at: &self.pubkey_at,
            sig_at: &self.sig_at,
            signer_tx: &self.signer_tx,
        }
    }

    fn fixed<const N: usize>(&self, at: usize) -> &[u8; N] {
        // The builder only records offsets with N bytes behind them.
        #[allow(clippy::expect_used)]
        self.leaves.arena()[at..at + N]
            .try_into()
            .expect("builder recorded an in-bounds offset")
    }
}

/// A batch's offset arrays (all into [`Leaves::arena`]), as a device copies them.
#[derive(Debug, Clone, Copy)]
pub struct BatchOffsets<'a> {
    /// Per transaction: where its message starts; it ends where its leaf ends.
    pub msg_start: &'a [u32],
    /// Per transaction plus one: the first signer index of each transaction.
    pub signer_start: &'a [u32],
    /// Per signer: where its public key is.
    pub pubkey_at: &'a [u32],
    /// Per signer: where its signature is.
    pub sig_at: &'a [u32],
    /// Per signer: its transaction.
    pub signer_tx: &'a [u32],
}

/// Appends transactions to a [`Batch`].
#[derive(Debug)]
pub struct BatchBuilder {
    leaves: Leaves,
    msg_start: Vec<u32>,
    signer_start: Vec<u32>,
    pubkey_at: Vec<u32>,
    sig_at: Vec<u32>,
    signer_tx: Vec<u32>,
    errors: Vec<Option<Box<str>>>,
}

impl Default for BatchBuilder {
    fn default() -> Self {
        Self::with_capacity(0, 0)
    }
}

impl BatchBuilder {
    /// A builder with room for `txs` transactions and `bytes` arena bytes.
    pub fn with_capacity(txs: usize, bytes: usize) -> Self {
        let mut signer_start = Vec::with_capacity(txs + 1);
        signer_start.push(0);
        BatchBuilder {
            leaves: Leaves::with_capacity(txs, bytes),
            msg_start: Vec::with_capacity(txs),
            signer_start,
            pubkey_at: Vec::with_capacity(txs),
            sig_at: Vec::with_capacity(txs),
            signer_tx: Vec::with_capacity(txs),
            errors: Vec::with_capacity(txs),
        }
    }

    /// Transactions added so far.
    pub fn len(&self) -> usize {
        self.msg_start.len()
    }

    /// Whether no transaction was added.
    pub fn is_empty(&self) -> bool {
        self.msg_start.is_empty()
    }

    /// Adds a generic transaction: `message` signed by every one of `signers`.
    ///
    /// A signer count outside 1..=255 makes the transaction malformed (recorded, not an
    /// error); only running out of arena space is an error.
    pub fn push_generic(&mut self, message: &[u8], signers: &[Signer]) -> Result<(), BatchError> {
        let Ok(count) = u8::try_from(signers.len()) else {
            return self.push_malformed(
                &format!(
                    "a transaction has 1 to {MAX_SIGNERS} signers, this one has {}",
                    signers.len()
                ),
                &[],
            );
        };
        if count == 0 {
            return self.push_malformed("a transaction needs at least one signer", &[]);
        }
        let base = self.leaves.offset();
        let need = 1 + signers.len() * (PUBKEY_LEN + SIG_LEN) + message.len();
        if base + need > MAX_ARENA {
            return Err(BatchError::TooLarge);
        }
        let tx = self.tx_index()?;
        let arena = self.leaves.bytes_mut();
        arena.push(count);
        for signer in signers {
            let at = arena.len();
            arena.extend_from_slice(&signer.pubkey);
            arena.extend_from_slice(&signer.signature);
            self.pubkey_at.push(to_u32(at)?);
            self.sig_at.push(to_u32(at + PUBKEY_LEN)?);
            self.signer_tx.push(tx);
        }
        self.msg_start.push(to_u32(arena.len())?);
        arena.extend_from_slice(message);
        self.finish_tx(None)
    }

    /// Adds a Solana wire transaction, parsed in place. A transaction that does not
    /// parse is recorded as malformed with the parser's reason; its raw bytes stay its
    /// leaf.
    pub fn push_solana(&mut self, raw: &[u8]) -> Result<(), BatchError> {
        let layout = match crate::input::solana::parse(raw) {
            Ok(layout) => layout,
            Err(e) => return self.push_malformed(&format!("solana: {e}"), raw),
        };
        let base = self.leaves.offset();
        if base + raw.len() > MAX_ARENA {
            return Err(BatchError::TooLarge);
        }
        let tx = self.tx_index()?;
        for i in 0..layout.signer_count {
            self.pubkey_at
                .push(to_u32(base + layout.pubkeys_at + i * PUBKEY_LEN)?);
            self.sig_at
                .push(to_u32(base + layout.signatures_at + i * SIG_LEN)?);
            self.signer_tx.push(tx);
        }
        self.msg_start.push(to_u32(base + layout.message_at)?);
        self.leaves.bytes_mut().extend_from_slice(raw);
        self.finish_tx(None)
    }

    /// Adds a transaction that could not be parsed, with the reason. `raw` becomes its
    /// leaf (pass the bytes as received where the form has them, else nothing).
    pub fn push_malformed(&mut self, reason: &str, raw: &[u8]) -> Result<(), BatchError> {
        if self.leaves.offset() + raw.len() > MAX_ARENA {
            return Err(BatchError::TooLarge);
        }
        self.tx_index()?;
        self.leaves.bytes_mut().extend_from_slice(raw);
        self.msg_start.push(to_u32(self.leaves.offset())?);
        self.finish_tx(Some(reason.into()))
    }

    /// The finished batch.
    pub fn finish(self) -> Batch {
        Batch {
            leaves: Arc::new(self.leaves),
            msg_start: self.msg_start,
            signer_start: self.signer_start,
            pubkey_at: self.pubkey_at,
            sig_at: self.sig_at,
            signer_tx: self.signer_tx,
            errors: self.errors,
        }
    }

    fn tx_index(&self) -> Result<u32, BatchError> {
        to_u32(self.msg_start.len())
    }

    fn finish_tx(&mut self, error: Option<Box<str>>) -> Result<(), BatchError> {
        self.leaves.seal()?;
        self.signer_start.push(to_u32(self.pubkey_at.len())?);
        self.errors.push(error);
        Ok(())
    }
}

fn to_u32(n: usize) -> Result<u32, BatchError> {
    u32::try_from(n).map_err(|_| BatchError::TooLarge)
}

/// A batch's verdicts: one per signature (in batch order) and one per transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdicts {
    /// Per signature, in the order of [`Batch`] signer indices.
    pub signature_valid: Vec<bool>,
    /// Per transaction: parsed, has signers, and every signature valid.
    pub transaction_valid: Vec<bool>,
}

impl Verdicts {
    /// Derives transaction verdicts from per-signature ones. Returns `None` if
    /// `signature_valid` does not have one entry per signature of `batch`.
    pub fn from_signatures(batch: &Batch, signature_valid: Vec<bool>) -> Option<Verdicts> {
        if signature_valid.len() != batch.signature_count() {
            return None;
        }
        Some(Self::derive(batch, signature_valid))
    }

    /// The reference crates' verdicts on every signature of `batch` under `profile`, one
    /// [`crate::profile::reference_verify`] call each: what every backend must return.
    /// Slow by design; it is the oracle tests compare with.
    pub fn reference(batch: &Batch, profile: crate::profile::Profile) -> Verdicts {
        let signature_valid = (0..batch.signature_count())
            .map(|s| {
                let (pk, sig, msg) = batch.signer_item(s);
                crate::profile::reference_verify(profile, pk, sig, msg)
            })
            .collect();
        Self::derive(batch, signature_valid)
    }

    /// Transaction verdicts from per-signature ones, which must number one per signature.
    fn derive(batch: &Batch, signature_valid: Vec<bool>) -> Verdicts {
        let transaction_valid = (0..batch.len())
            .map(|tx| {
                let signers = batch.signers_of(tx);
                batch.error(tx).is_none()
                    && !signers.is_empty()
                    && signature_valid[signers].iter().all(|&v| v)
            })
            .collect();
        Verdicts {
            signature_valid,
            transaction_valid,
        }
    }

    /// The per-signature verdicts of transaction `tx`.
    pub fn signatures_of<'a>(&'a self, batch: &Batch, tx: usize) -> &'a [bool] {
        &self.signature_valid[batch.signers_of(tx)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(k: u8) -> Signer {
        Signer {
            pubkey: [k; 32],
            signature: [k ^ 0xff; 64],
        }
    }

    #[test]
    fn generic_layout_is_canonical_encoding() {
        let mut b = BatchBuilder::default();
        b.push_generic(b"hello", &[signer(1), signer(2)]).unwrap();
        b.push_malformed("bad hex", &[]).unwrap();
        b.push_generic(b"", &[signer(3)]).unwrap();
        let batch = b.finish();
        assert_eq!(batch.len(), 3);
        assert_eq!(batch.signature_count(), 3);
        let leaf0 = batch.leaves().get(0);
        assert_eq!(leaf0[0], 2);
        assert_eq!(&leaf0[1..33], &[1u8; 32]);
        assert_eq!(&leaf0[33..97], &[0xfeu8; 64]);
        assert_eq!(&leaf0[97..129], &[2u8; 32]);
        assert_eq!(&leaf0[193..], b"hello");
        assert_eq!(leaf0.len(), 1 + 2 * 96 + 5);
        assert_eq!(batch.message(0), b"hello");
        assert_eq!(batch.signers_of(0), 0..2);
        assert_eq!(batch.signers_of(1), 2..2);
        assert_eq!(batch.error(1), Some("bad hex"));
        assert_eq!(batch.leaves().get(1), b"");
        assert_eq!(batch.message(2), b"");
        assert_eq!(batch.pubkey(2), &[3u8; 32]);
        assert_eq!(batch.signature(1), &[0xfdu8; 64]);
        assert_eq!(batch.signer_tx(2), 2);
    }

    #[test]
    fn signer_counts_outside_range_are_malformed() {
        let mut b = BatchBuilder::default();
        b.push_generic(b"m", &[]).unwrap();
        b.push_generic(b"m", &vec![signer(0); 256]).unwrap();
        b.push_generic(b"m", &vec![signer(0); 255]).unwrap();
        let batch = b.finish();
        assert!(batch.error(0).is_some());
        assert!(batch.error(1).is_some());
        assert!(batch.error(2).is_none());
        assert_eq!(batch.signature_count(), 255);
    }

    #[test]
    fn verdicts_need_every_signature() {
        let mut b = BatchBuilder::default();
        b.push_generic(b"a", &[signer(1), signer(2)]).unwrap();
        b.push_generic(b"b", &[signer(1)]).unwrap();
        b.push_malformed("x", b"raw").unwrap();
        let batch = b.finish();
        assert!(Verdicts::from_signatures(&batch, vec![true; 2]).is_none());
        let v = Verdicts::from_signatures(&batch, vec![true, false, true]).unwrap();
        assert_eq!(v.transaction_valid, vec![false, true, false]);
        assert_eq!(v.signatures_of(&batch, 0), &[true, false]);
        assert_eq!(v.signatures_of(&batch, 2), &[] as &[bool]);
        assert_eq!(batch.leaves().get(2), b"raw");
    }

    #[test]
    fn leaves_collect_and_iterate() {
        let leaves: Leaves = [&b"a"[..], b"", b"bc"].into_iter().collect();
        assert_eq!(leaves.len(), 3);
        let got: Vec<&[u8]> = leaves.iter().collect();
        assert_eq!(got, vec![&b"a"[..], b"", b"bc"]);
        assert!(Leaves::default().is_empty());
        assert_eq!(Leaves::default().starts(), &[0]);
    }
}
