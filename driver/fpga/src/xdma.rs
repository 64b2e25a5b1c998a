//! A real card through the Xilinx XDMA driver's character devices.
//!
//! The XDMA driver (Xilinx `dma_ip_drivers`) exposes card `N` as, among others:
//!
//! * `/dev/xdma<N>_user`: the AXI-Lite window of the user logic. A 4-byte `pread` or
//!   `pwrite` at a register's byte offset is one AXI-Lite read or write.
//! * `/dev/xdma<N>_h2c_0`: host-to-card stream channel 0. One `write()` is one DMA
//!   transfer, and the driver ends each transfer with `tlast`, so one write is exactly
//!   one request frame.
//! * `/dev/xdma<N>_c2h_0`: card-to-host stream channel 0. One `read()` returns at most
//!   one packet, up to its `tlast`: exactly one response frame when the buffer is large
//!   enough for the largest one.
//!
//! A `read()` on the C2H device blocks until a packet arrives (or the driver's own
//! timeout passes), which a caller with a deadline cannot use directly, and no unsafe
//! `poll` is allowed here. So a reader thread owns the C2H device, reads packets into a
//! bounded channel (the card's output is paced by the host, never buffered without
//! limit), and [`Transport::recv_frame`] waits on the channel with a timeout. Dropping
//! the transport asks the thread to stop; it notices when its current read returns.
//!
//! [`discover`] lists the cards of a device directory and opens each, with the identity
//! check of [`Card::open_with`]; every card found is reported, opened or with the reason
//! it was rejected, so `vigil devices` can say why a card is not used.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::sync::Arc;
use std::time::Duration;

use crate::card::{Card, CardError, CardOptions};
use crate::transport::{check_frame_length, Transport, TransportError, MAX_RESPONSE_BYTES};

/// Response frames the reader thread holds before it stops reading (backpressure).
const RX_QUEUE: usize = 64;

/// Pause of the reader after a read that returned nothing (the driver's own timeout).
const IDLE_PAUSE: Duration = Duration::from_millis(1);

/// The three device paths of card `index` under `dir`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XdmaPaths {
    /// Card number (the `N` of `xdma<N>`).
    pub index: u32,
    /// `xdma<N>_user`.
    pub user: PathBuf,
    /// `xdma<N>_h2c_0`.
    pub h2c: PathBuf,
    /// `xdma<N>_c2h_0`.
    pub c2h: PathBuf,
}

impl XdmaPaths {
    /// The paths of card `index` under `dir`.
    pub fn new(dir: &Path, index: u32) -> XdmaPaths {
        XdmaPaths {
            index,
            user: dir.join(format!("xdma{index}_user")),
            h2c: dir.join(format!("xdma{index}_h2c_0")),
            c2h: dir.join(format!("xdma{index}_c2h_0")),
        }
    }
}

/// The card number of a `xdma<N>_user` file name, if it is one.
pub fn parse_user_name(name: &str) -> Option<u32> {
    let digits = name.strip_prefix("xdma")?.strip_suffix("_user")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// One card reached through XDMA.
pub struct XdmaTransport {
    paths: XdmaPaths,
    user: File,
    h2c: File,
    rx: Receiver<Result<Vec<u8>, std::io::Error>>,
    stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for XdmaTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("XdmaTransport")
            .field("paths", &self.paths)
            .finish()
    }
}

fn open_io(path: &Path, read: bool, write: bool) -> Result<File, TransportError> {
    OpenOptions::new()
        .read(read)
        .write(write)
        .open(path)
        .map_err(|source| TransportError::Io {
            what: format!("opening {}", path.display()),
            source,
        })
}

impl XdmaTransport {
    /// Opens the three devices of a card and starts the C2H reader thread.
    pub fn open(paths: XdmaPaths) -> Result<XdmaTransport, TransportError> {
        let user = open_io(&paths.user, true, true)?;
        let h2c = open_io(&paths.h2c, false, true)?;
        let c2h = open_io(&paths.c2h, true, false)?;
        let (tx, rx) = mpsc::sync_channel(RX_QUEUE);
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = Arc::clone(&stop);
        std::thread::Builder::new()
            .name(format!("vigil-xdma{}-c2h", paths.index))
            .spawn(move || read_packets(c2h, &tx, &thread_stop))
            .map_err(|source| TransportError::Io {
                what: "starting the C2H reader thread".into(),
                source,
            })?;
        Ok(XdmaTransport {
            paths,
            user,
            h2c,
            rx,
            stop,
        })
    }

    /// The card's device paths.
    pub fn paths(&self) -> &XdmaPaths {
        &self.paths
    }

    fn io(&self, what: String, source: std::io::Error) -> TransportError {
        TransportError::Io { what, source }
    }
}

impl Drop for XdmaTransport {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// The reader thread: one `read()` per packet, into the channel, until told to stop,
/// the receiver is gone, or the device fails (the error is passed on).
fn read_packets(
    mut c2h: File,
    tx: &SyncSender<Result<Vec<u8>, std::io::Error>>,
    stop: &AtomicBool,
) {
    let mut buf = vec![0u8; MAX_RESPONSE_BYTES];
    while !stop.load(Ordering::Acquire) {
        match c2h.read(&mut buf) {
            Ok(0) => std::thread::sleep(IDLE_PAUSE),
            Ok(n) => {
                if tx.send(Ok(buf[..n].to_vec())).is_err() {
                    return;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::Interrupted | ErrorKind::TimedOut | ErrorKind::WouldBlock
                ) => {}
            Err(e) => {
                let _ = tx.send(Err(e));
                return;
            }
        }
    }
}

impl Transport for XdmaTransport {
    fn read32(&mut self, offset: u32) -> Result<u32, TransportError> {
        let mut b = [0u8; 4];
        self.user
            .read_exact_at(&mut b, u64::from(offset))
            .map_err(|e| {
                self.io(
                    format!(
                        "reading register {offset:#x} of {}",
                        self.paths.user.display()
                    ),
                    e,
                )
            })?;
        Ok(u32::from_le_bytes(b))
    }

    fn write32(&mut self, offset: u32, value: u32) -> Result<(), TransportError> {
        self.user
            .write_all_at(&value.to_le_bytes(), u64::from(offset))
            .map_err(|e| {
                self.io(
                    format!(
                        "writing register {offset:#x} of {}",
                        self.paths.user.display()
                    ),
                    e,
                )
            })
    }

    fn send_frame(&mut self, frame: &[u8]) -> Result<(), TransportError> {
        check_frame_length(frame)?;
        // One write is one transfer ending in tlast; a partial write would have split
        // the frame into two packets, so it is an error, not something to resume.
        let written = self.h2c.write(frame).map_err(|e| {
            self.io(
                format!("writing a frame to {}", self.paths.h2c.display()),
                e,
            )
        })?;
        if written != frame.len() {
            return Err(TransportError::Protocol {
                peer: self.describe(),
                what: format!("H2C took {written} of a {}-byte frame", frame.len()),
            });
        }
        Ok(())
    }

    fn recv_frame(&mut self, timeout: Duration) -> Result<Option<Vec<u8>>, TransportError> {
        match self.rx.recv_timeout(timeout) {
            Ok(Ok(frame)) => Ok(Some(frame)),
            Ok(Err(e)) => Err(self.io(format!("reading {}", self.paths.c2h.display()), e)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => {
                Err(TransportError::Closed(self.paths.c2h.display().to_string()))
            }
        }
    }

    fn describe(&self) -> String {
        format!("XDMA card {}", self.paths.user.display())
    }
}

/// One card found by [`discover`]: opened, or why not.
#[derive(Debug)]
pub struct Discovered {
    /// Its device paths.
    pub paths: XdmaPaths,
    /// The opened card, or why it was rejected.
    pub card: Result<Card<XdmaTransport>, CardError>,
}

/// Every `xdma<N>_user` under `dev_dir` (usually `/dev`), in card order, each opened
/// and identity-checked with `opts`. An error only if the directory cannot be read.
pub fn discover(dev_dir: &Path, opts: &CardOptions) -> Result<Vec<Discovered>, TransportError> {
    let entries = std::fs::read_dir(dev_dir).map_err(|source| TransportError::Io {
        what: format!("listing {}", dev_dir.display()),
        source,
    })?;
    let mut indices: Vec<u32> = entries
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(parse_user_name))
        .collect();
    indices.sort_unstable();
    indices.dedup();
    Ok(indices
        .into_iter()
        .map(|index| {
            let paths = XdmaPaths::new(dev_dir, index);
            let card = XdmaTransport::open(paths.clone())
                .map_err(CardError::from)
                .and_then(|t| Card::open_with(t, opts));
            if let Err(e) = &card {
                tracing::info!(card = %paths.user.display(), error = %e, "XDMA card not used");
            }
            Discovered { paths, card }
        })
        .collect())
}

#[cfg(test)]
#[allow(clippy::cast_possible_truncation)]
mod tests {
    use super::*;
    use crate::regs::{regs, MAGIC};

    #[test]
    fn user_device_names() {
        assert_eq!(parse_user_name("xdma0_user"), Some(0));
        assert_eq!(parse_user_name("xdma17_user"), Some(17));
        for bad in [
            "xdma_user",
            "xdma0_h2c_0",
            "xdma0_c2h_0",
            "xdma+1_user",
            "xdma-1_user",
            "xdma1x_user",
            "xdma0_user0",
            "Xdma0_user",
            "xdma99999999999_user",
        ] {
            assert_eq!(parse_user_name(bad), None, "{bad}");
        }
    }

    /// A register file: a plain file whose bytes at each offset are the register.
    fn registers(path: &Path, values: &[(u32, u32)]) {
        let f = File::create(path).unwrap();
        f.set_len(0x1000).unwrap();
        for (offset, value) in values {
            f.write_all_at(&value.to_le_bytes(), u64::from(*offset))
                .unwrap();
        }
    }

    fn good_card(dir: &Path, index: u32, id: u32) {
        let p = XdmaPaths::new(dir, index);
        registers(
            &p.user,
            &[
                (regs::ID, id),
                (regs::VERSION, 1 << 16 | 2),
                (regs::BUILD_HASH_LO, 0x89ab_cdef),
                (regs::BUILD_HASH_HI, 0x0123_4567),
                (regs::CAPS, 3),
                // One SHA-512 core, no verification engines.
                (regs::VERIFY_SLOTS, 1 << 16),
                (regs::MAX_LEAVES, 64),
                (regs::MAX_LEAF_BYTES, 1232),
                (regs::MAX_MESSAGE_BYTES, 1232),
                // A plain file does not make STATUS follow CONTROL; preset it.
                (regs::STATUS, 1),
            ],
        );
        File::create(&p.h2c).unwrap();
        File::create(&p.c2h).unwrap();
    }

    #[test]
    fn discovery_reports_every_card_with_its_reason() {
        let dir = crate::fake::temp_dir("xdma");
        good_card(&dir, 0, MAGIC);
        good_card(&dir, 2, 0xdead_beef);
        // Card 3 has registers but no stream devices.
        registers(&XdmaPaths::new(&dir, 3).user, &[(regs::ID, MAGIC)]);
        // Not cards.
        File::create(dir.join("xdma4_h2c_0")).unwrap();
        File::create(dir.join("xdma_user")).unwrap();
        File::create(dir.join("null")).unwrap();

        let found = discover(&dir, &CardOptions::default()).unwrap();
        let indices: Vec<u32> = found.iter().map(|d| d.paths.index).collect();
        assert_eq!(indices, [0, 2, 3]);

        let card = found[0].card.as_ref().unwrap();
        assert_eq!(card.info().build_hash, 0x0123_4567_89ab_cdef);
        assert_eq!(card.info().max_leaves, 64);
        assert!(card.describe().contains("xdma0_user"));
        // The identity check wrote SCRATCH and CONTROL.ENABLE through pwrite.
        let mut b = [0u8; 4];
        File::open(&found[0].paths.user)
            .unwrap()
            .read_exact_at(&mut b, u64::from(regs::CONTROL))
            .unwrap();
        assert_eq!(u32::from_le_bytes(b), 1);

        let err = found[1].card.as_ref().unwrap_err();
        assert!(
            matches!(err, CardError::NotACard { id: 0xdead_beef }),
            "{err}"
        );
        assert!(err.to_string().contains("0xdeadbeef"), "{err}");
        let err = found[2].card.as_ref().unwrap_err().to_string();
        assert!(err.contains("xdma3_h2c_0"), "{err}");

        // A build hash pin rejects card 0 too.
        let pinned = CardOptions {
            expected_build_hash: Some(1),
            ..CardOptions::default()
        };
        let found = discover(&dir, &pinned).unwrap();
        assert!(matches!(found[0].card, Err(CardError::BuildHash { .. })));

        assert!(discover(&dir.join("missing"), &CardOptions::default()).is_err());
    }

    #[test]
    fn frames_go_out_as_one_write_and_come_back_from_the_reader() {
        let dir = crate::fake::temp_dir("xdma-stream");
        good_card(&dir, 0, MAGIC);
        let p = XdmaPaths::new(&dir, 0);
        std::fs::write(&p.c2h, [5u8; 16]).unwrap();
        let mut t = XdmaTransport::open(p.clone()).unwrap();
        t.send_frame(&[1u8; 24]).unwrap();
        assert!(matches!(
            t.send_frame(&[1u8; 5]),
            Err(TransportError::FrameLength(5))
        ));
        assert_eq!(std::fs::read(&p.h2c).unwrap(), vec![1u8; 24]);
        // The plain file reads as one packet, then nothing.
        assert_eq!(
            t.recv_frame(Duration::from_secs(5)).unwrap(),
            Some(vec![5u8; 16])
        );
        assert_eq!(t.recv_frame(Duration::from_millis(20)).unwrap(), None);
        assert_eq!(t.read32(regs::ID).unwrap(), MAGIC);
    }
}
