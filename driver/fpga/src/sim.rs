//! The simulated card's transport: a Unix stream socket to the `hdl/sim` card server.
//!
//! The simulated card is the RTL itself, run by Verilator in a server process
//! (`vigil_hdl_sim::card`). This transport speaks its socket protocol, so every layer
//! above the transport (identity check, framing, tags, tree splitting, the backend) runs
//! unchanged against the real RTL, and `vigil --backend fpga-sim` works on any machine.
//!
//! # Protocol
//!
//! One command at a time; each is answered before the next is sent. All integers are
//! little-endian. A command is one byte followed by its arguments:
//!
//! | command | arguments | reply |
//! |---|---|---|
//! | [`CMD_READ32`] = 1 | `u32 offset` | `u8 status, u32 value` |
//! | [`CMD_WRITE32`] = 2 | `u32 offset, u32 value` | `u8 status` |
//! | [`CMD_H2C`] = 3 | `u32 len`, then `len` bytes: one request frame | `u8 status` |
//! | [`CMD_C2H`] = 4 | `u32 max_len, u32 timeout_ms` | `u8 status, u32 len`, then `len` bytes if OK |
//! | [`CMD_RESET`] = 5 | none | `u8 status` |
//!
//! * Replies have the same shape whatever their status: READ32 always sends its value
//!   (0 unless OK), C2H always sends its length.
//! * READ32 and WRITE32 address the AXI-Lite window; an offset outside it, or not a
//!   multiple of 4, is answered [`BAD_ADDRESS`]; a bus handshake that never completes,
//!   [`TIMEOUT`].
//! * H2C's `len` must be a non-empty multiple of 8: the frame's words go to the card's
//!   request stream, `tlast` on the last one, and the reply is sent once the card has
//!   taken every word. Any other `len` is answered [`BAD_LENGTH`] without reading the
//!   frame, and the server closes the connection (it cannot find the next command).
//!   If the card stops taking words for the server's stall limit the reply is
//!   [`TIMEOUT`].
//! * C2H waits up to `timeout_ms` for one whole response frame (up to `tlast`). OK: `len`
//!   is its length and its bytes follow. None in time: [`TIMEOUT`] with `len` 0. A frame
//!   longer than `max_len`: [`BUFFER_TOO_SMALL`] with `len` the frame's length and no
//!   bytes; the frame is kept for a later C2H.
//! * RESET pulses the card's reset: registers and counters return to their reset values
//!   (so CONTROL.ENABLE is clear) and frames in flight are lost.
//! * An unknown command byte is answered [`BAD_COMMAND`] and the connection is closed.
//!
//! The socket of `vigil --backend fpga-sim` is [`default_sim_socket`].

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::transport::{check_frame_length, Transport, TransportError, MAX_RESPONSE_BYTES};

/// Command: read a register.
pub const CMD_READ32: u8 = 1;
/// Command: write a register.
pub const CMD_WRITE32: u8 = 2;
/// Command: send one request frame to the card.
pub const CMD_H2C: u8 = 3;
/// Command: receive one response frame from the card.
pub const CMD_C2H: u8 = 4;
/// Command: reset the card.
pub const CMD_RESET: u8 = 5;

/// Reply status: done.
pub const OK: u8 = 0;
/// Reply status: unknown command (the server closes the connection).
pub const BAD_COMMAND: u8 = 1;
/// Reply status: register offset outside the window or unaligned.
pub const BAD_ADDRESS: u8 = 2;
/// Reply status: no response frame within the timeout (C2H), the card stopped taking
/// words (H2C), or a register handshake did not complete.
pub const TIMEOUT: u8 = 3;
/// Reply status: the waiting frame is longer than `max_len` (it is kept).
pub const BUFFER_TOO_SMALL: u8 = 4;
/// Reply status: an H2C length that is zero or not a multiple of 8.
pub const BAD_LENGTH: u8 = 5;

/// A reply status's name.
pub fn status_name(status: u8) -> &'static str {
    match status {
        OK => "OK",
        BAD_COMMAND => "BAD_COMMAND",
        BAD_ADDRESS => "BAD_ADDRESS",
        TIMEOUT => "TIMEOUT",
        BUFFER_TOO_SMALL => "BUFFER_TOO_SMALL",
        BAD_LENGTH => "BAD_LENGTH",
        _ => "UNKNOWN",
    }
}

/// Environment variable naming the simulated card's socket.
pub const SOCKET_ENV: &str = "VIGIL_FPGA_SIM";

/// The simulated card's socket: `$VIGIL_FPGA_SIM`, else
/// `$XDG_RUNTIME_DIR/vigil-card-sim.sock`, else `/tmp/vigil-card-sim.sock`.
pub fn default_sim_socket() -> PathBuf {
    socket_from(
        std::env::var_os(SOCKET_ENV),
        std::env::var_os("XDG_RUNTIME_DIR"),
    )
}

fn socket_from(
    explicit: Option<std::ffi::OsString>,
    runtime: Option<std::ffi::OsString>,
) -> PathBuf {
    const NAME: &str = "vigil-card-sim.sock";
    match (explicit, runtime) {
        (Some(path), _) if !path.is_empty() => PathBuf::from(path),
        (_, Some(dir)) if !dir.is_empty() => Path::new(&dir).join(NAME),
        _ => Path::new("/tmp").join(NAME),
    }
}

/// Slack on top of a command's own timeout before the server counts as hung: a
/// simulated card runs slower than a real one.
const REPLY_SLACK: Duration = Duration::from_secs(60);

/// A connection to the simulated card server.
#[derive(Debug)]
pub struct SimTransport {
    stream: UnixStream,
    path: PathBuf,
}

impl SimTransport {
    /// Connects to the server listening on `socket`.
    pub fn connect(socket: &Path) -> Result<SimTransport, TransportError> {
        let stream = UnixStream::connect(socket).map_err(|source| TransportError::Io {
            what: format!(
                "connecting to the simulated card at {} (is the card server running?)",
                socket.display()
            ),
            source,
        })?;
        Ok(SimTransport {
            stream,
            path: socket.to_owned(),
        })
    }

    /// Resets the card (registers and counters to reset values, CONTROL.ENABLE clear).
    pub fn reset(&mut self) -> Result<(), TransportError> {
        self.send(&[CMD_RESET], Duration::ZERO)?;
        let status = self.u8()?;
        self.check("RESET", status)
    }

    fn io(&self, what: &str, source: std::io::Error) -> TransportError {
        if matches!(
            source.kind(),
            std::io::ErrorKind::UnexpectedEof
                | std::io::ErrorKind::BrokenPipe
                | std::io::ErrorKind::ConnectionReset
        ) {
            return TransportError::Closed(format!("simulated card at {}", self.path.display()));
        }
        TransportError::Io {
            what: format!("{what} on {}", self.path.display()),
            source,
        }
    }

    /// Sends a command; its reply must start within `wait` plus the slack.
    fn send(&mut self, bytes: &[u8], wait: Duration) -> Result<(), TransportError> {
        self.stream
            .set_read_timeout(Some(wait + REPLY_SLACK))
            .map_err(|e| self.io("setting the reply timeout", e))?;
        let result = self.stream.write_all(bytes);
        result.map_err(|e| self.io("sending a command", e))
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), TransportError> {
        let result = self.stream.read_exact(buf);
        result.map_err(|e| self.io("reading a reply", e))
    }

    fn u8(&mut self) -> Result<u8, TransportError> {
        let mut b = [0u8; 1];
        self.read_exact(&mut b)?;
        Ok(b[0])
    }

    fn u32(&mut self) -> Result<u32, TransportError> {
        let mut b = [0u8; 4];
        self.read_exact(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn check(&self, command: &'static str, status: u8) -> Result<(), TransportError> {
        if status == OK {
            return Ok(());
        }
        Err(TransportError::Refused {
            peer: self.describe(),
            command,
            status,
            name: status_name(status),
        })
    }
}

impl Transport for SimTransport {
    fn read32(&mut self, offset: u32) -> Result<u32, TransportError> {
        let mut cmd = vec![CMD_READ32];
        cmd.extend_from_slice(&offset.to_le_bytes());
        self.send(&cmd, Duration::ZERO)?;
        let status = self.u8()?;
        let value = self.u32()?;
        self.check("READ32", status)?;
        Ok(value)
    }

    fn write32(&mut self, offset: u32, value: u32) -> Result<(), TransportError> {
        let mut cmd = vec![CMD_WRITE32];
        cmd.extend_from_slice(&offset.to_le_bytes());
        cmd.extend_from_slice(&value.to_le_bytes());
        self.send(&cmd, Duration::ZERO)?;
        let status = self.u8()?;
        self.check("WRITE32", status)
    }

    fn send_frame(&mut self, frame: &[u8]) -> Result<(), TransportError> {
        check_frame_length(frame)?;
        let len =
            u32::try_from(frame.len()).map_err(|_| TransportError::FrameLength(frame.len()))?;
        let mut cmd = Vec::with_capacity(5 + frame.len());
        cmd.push(CMD_H2C);
        cmd.extend_from_slice(&len.to_le_bytes());
        cmd.extend_from_slice(frame);
        // The card takes words at its own pace: a long frame may take a while.
        self.send(&cmd, Duration::ZERO)?;
        let status = self.u8()?;
        self.check("H2C", status)
    }

    fn recv_frame(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>, TransportError> {
        let ms = u32::try_from(timeout.as_millis()).unwrap_or(u32::MAX);
        let max = u32::try_from(MAX_RESPONSE_BYTES).unwrap_or(u32::MAX);
        let mut cmd = vec![CMD_C2H];
        cmd.extend_from_slice(&max.to_le_bytes());
        cmd.extend_from_slice(&ms.to_le_bytes());
        self.send(&cmd, timeout)?;
        let status = self.u8()?;
        let len = self.u32()? as usize;
        match status {
            OK if len <= MAX_RESPONSE_BYTES => {
                let mut frame = vec![0u8; len];
                self.read_exact(&mut frame)?;
                Ok(Some(frame))
            }
            OK => Err(TransportError::Protocol {
                peer: self.describe(),
                what: format!("C2H reply of {len} bytes, more than the {max} asked for"),
            }),
            TIMEOUT => Ok(None),
            other => self.check("C2H", other).map(|()| None),
        }
    }

    fn describe(&self) -> String {
        format!("simulated card at {}", self.path.display())
    }
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixListener;

    #[test]
    fn socket_path_precedence() {
        let s =
            |e: Option<&str>, r: Option<&str>| socket_from(e.map(Into::into), r.map(Into::into));
        assert_eq!(
            s(Some("/x/card.sock"), Some("/run/user/1")),
            PathBuf::from("/x/card.sock")
        );
        assert_eq!(
            s(None, Some("/run/user/1")),
            PathBuf::from("/run/user/1/vigil-card-sim.sock")
        );
        assert_eq!(s(Some(""), None), PathBuf::from("/tmp/vigil-card-sim.sock"));
        assert_eq!(s(None, None), PathBuf::from("/tmp/vigil-card-sim.sock"));
    }

    /// A scripted server: checks each command's bytes and answers with canned replies.
    fn scripted(script: Vec<(Vec<u8>, Vec<u8>)>) -> (PathBuf, std::thread::JoinHandle<()>) {
        let dir = crate::fake::temp_dir("sim");
        let path = dir.join("card.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let server = std::thread::spawn(move || {
            let (mut conn, _) = listener.accept().unwrap();
            for (expect, reply) in script {
                let mut got = vec![0u8; expect.len()];
                conn.read_exact(&mut got).unwrap();
                assert_eq!(got, expect);
                conn.write_all(&reply).unwrap();
            }
        });
        (path, server)
    }

    fn cat(parts: &[&[u8]]) -> Vec<u8> {
        parts.concat()
    }

    #[test]
    fn speaks_the_documented_protocol() {
        let frame = [7u8; 16];
        let response = [9u8; 24];
        let (path, server) = scripted(vec![
            (
                cat(&[&[1], &0x28u32.to_le_bytes()]),
                cat(&[&[0], &0xabcdu32.to_le_bytes()]),
            ),
            (
                cat(&[&[2], &0x28u32.to_le_bytes(), &5u32.to_le_bytes()]),
                vec![0],
            ),
            (cat(&[&[3], &16u32.to_le_bytes(), &frame]), vec![0]),
            (
                cat(&[
                    &[4],
                    &(MAX_RESPONSE_BYTES as u32).to_le_bytes(),
                    &250u32.to_le_bytes(),
                ]),
                cat(&[&[0], &24u32.to_le_bytes(), &response]),
            ),
            (
                cat(&[
                    &[4],
                    &(MAX_RESPONSE_BYTES as u32).to_le_bytes(),
                    &0u32.to_le_bytes(),
                ]),
                cat(&[&[TIMEOUT], &0u32.to_le_bytes()]),
            ),
            (
                cat(&[&[1], &0x999u32.to_le_bytes()]),
                cat(&[&[BAD_ADDRESS], &0u32.to_le_bytes()]),
            ),
            (vec![5], vec![0]),
        ]);
        let mut t = SimTransport::connect(&path).unwrap();
        assert_eq!(t.read32(0x28).unwrap(), 0xabcd);
        t.write32(0x28, 5).unwrap();
        t.send_frame(&frame).unwrap();
        assert_eq!(
            t.recv_frame(Duration::from_millis(250)).unwrap(),
            Some(response.to_vec())
        );
        assert_eq!(t.recv_frame(Duration::ZERO).unwrap(), None);
        assert!(matches!(
            t.read32(0x999),
            Err(TransportError::Refused {
                status: BAD_ADDRESS,
                name: "BAD_ADDRESS",
                ..
            })
        ));
        t.reset().unwrap();
        // Bad frame lengths never reach the server.
        assert!(matches!(
            t.send_frame(&[0; 12]),
            Err(TransportError::FrameLength(12))
        ));
        assert!(matches!(
            t.send_frame(&[]),
            Err(TransportError::FrameLength(0))
        ));
        server.join().unwrap();
        // The server is gone: a closed connection, not a hang.
        assert!(matches!(t.read32(0), Err(TransportError::Closed(_))));
    }

    #[test]
    fn connecting_to_nothing_says_so() {
        let err = SimTransport::connect(Path::new("/nonexistent/vigil.sock")).unwrap_err();
        assert!(
            err.to_string().contains("is the card server running"),
            "{err}"
        );
    }
}
