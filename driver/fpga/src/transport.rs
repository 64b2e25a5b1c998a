//! How the driver reaches a card: 32-bit registers and whole stream frames.
//!
//! A card is two buses. AXI-Lite carries 32-bit registers at byte offsets; AXI-Stream
//! carries frames of 64-bit words, one request (host to card) or one response (card to
//! host) per packet, its last word marked by `tlast`. A [`Transport`] moves exactly
//! those: it never splits or merges frames, so a frame boundary on the host side is a
//! `tlast` on the card side. Everything above this trait (framing, tags, identity) is
//! the same for a real card ([`crate::xdma`]) and the simulated one ([`crate::sim`]),
//! and the unit tests drive the card logic through an in-crate fake transport.

use std::time::Duration;

/// Bytes in one stream word.
pub const WORD_BYTES: usize = 8;

/// The longest response frame the card can send: a header plus the most payload words
/// its 16-bit word count can declare.
pub const MAX_RESPONSE_BYTES: usize = (1 + 0xffff) * WORD_BYTES;

/// Why a transport operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    /// An operating-system call on the device or socket failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done, on which path.
        what: String,
        /// The error the system returned.
        #[source]
        source: std::io::Error,
    },
    /// A request frame must be a whole, non-empty number of 64-bit words.
    #[error("a frame of {0} bytes is not a non-empty whole number of 8-byte words")]
    FrameLength(usize),
    /// The peer answered outside the protocol (a short frame, an impossible length).
    #[error("protocol violation by {peer}: {what}")]
    Protocol {
        /// The device or socket.
        peer: String,
        /// What it did.
        what: String,
    },
    /// The peer refused a command with a status code.
    #[error("{peer} refused {command}: status {status} ({name})")]
    Refused {
        /// The device or socket.
        peer: String,
        /// The command refused.
        command: &'static str,
        /// The status code.
        status: u8,
        /// Its name.
        name: &'static str,
    },
    /// The device or connection is gone.
    #[error("{0} is closed")]
    Closed(String),
}

/// Registers and frames of one card.
///
/// Implementations keep frames whole: one [`Transport::send_frame`] is one stream packet
/// with `tlast` on its last word, and one [`Transport::recv_frame`] returns one whole
/// response packet.
pub trait Transport: Send {
    /// Reads the 32-bit register at byte `offset`.
    fn read32(&mut self, offset: u32) -> Result<u32, TransportError>;

    /// Writes the 32-bit register at byte `offset`.
    fn write32(&mut self, offset: u32, value: u32) -> Result<(), TransportError>;

    /// Sends one request frame (a non-empty multiple of 8 bytes) as one packet.
    fn send_frame(&mut self, frame: &[u8]) -> Result<(), TransportError>;

    /// Receives one whole response frame, or `None` if none arrived within `timeout`.
    fn recv_frame(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>, TransportError>;

    /// The card in words, for logs and `vigil devices` (`/dev/xdma0`, a socket path).
    fn describe(&self) -> String;
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn read32(&mut self, offset: u32) -> Result<u32, TransportError> {
        (**self).read32(offset)
    }
    fn write32(&mut self, offset: u32, value: u32) -> Result<(), TransportError> {
        (**self).write32(offset, value)
    }
    fn send_frame(&mut self, frame: &[u8]) -> Result<(), TransportError> {
        (**self).send_frame(frame)
    }
    fn recv_frame(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>, TransportError> {
        (**self).recv_frame(timeout)
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
}

/// Checks that `frame` is a non-empty whole number of words.
pub fn check_frame_length(frame: &[u8]) -> Result<(), TransportError> {
    if frame.is_empty() || !frame.len().is_multiple_of(WORD_BYTES) {
        return Err(TransportError::FrameLength(frame.len()));
    }
    Ok(())
}
