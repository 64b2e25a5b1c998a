//! Why a device left service, as a type.
//!
//! A device that fails while it holds work is never trusted again (its later results
//! could be as wrong as the one that failed), so the first fault is kept for the life
//! of the device: every later submission is refused with it, `vigil devices` shows it,
//! and the scheduler re-runs the failed work elsewhere. The driver's own error is kept
//! in words, since the fault is shared with every caller that asks.

/// Why a device was taken out of service.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Fault {
    /// Queuing the work failed (an allocation, a copy or a launch was refused).
    #[error("enqueue failed: {0}")]
    Enqueue(String),
    /// Waiting for the work failed (the device was lost, a kernel faulted).
    #[error("batch did not complete: {0}")]
    Wait(String),
    /// The verification wrote a verdict byte other than 0 or 1.
    #[error("the check kernel wrote verdict byte {0:#x}")]
    VerdictByte(u8),
    /// The verification gave a verdict count unlike the batch's signature count.
    #[error("the device returned {got} verdicts for {want} signatures")]
    VerdictCount {
        /// Verdicts returned.
        got: usize,
        /// Signatures sent.
        want: usize,
    },
    /// The Merkle root could not be read back.
    #[error("the root could not be read back")]
    RootUnreadable,
    /// An operator (or a test) took the device out of service.
    #[error("{0}")]
    Drained(String),
}
