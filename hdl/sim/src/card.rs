//! The simulated card: `vigil_card_top` under Verilator, served over a Unix socket.
//!
//! # Why
//!
//! The host driver (`vigil-fpga`) must be tested against the RTL itself, not against a
//! model of what the RTL is meant to do. [`Card`] clocks the card's Verilator model and
//! gives it the host's view: AXI-Lite register reads and writes (done as the handshakes
//! the XDMA core's AXI-Lite master makes), one request frame per H2C transfer, one
//! response frame per C2H read. [`serve`] exposes that over a Unix stream socket with the
//! protocol below, which the driver's `sim` transport speaks; `vigil-card-sim` is the
//! program, [`SimCard`] the same server on a thread for tests.
//!
//! # Socket protocol
//!
//! All integers little-endian; one command at a time, each answered before the next.
//!
//! | Command | Arguments | Reply |
//! |---|---|---|
//! | 1 READ32 | u32 offset | u8 status, u32 value |
//! | 2 WRITE32 | u32 offset, u32 value | u8 status |
//! | 3 H2C | u32 len (a multiple of 8, > 0), len bytes: one request frame | u8 status, once the card took every word |
//! | 4 C2H | u32 max_len, u32 timeout_ms | u8 status, u32 len, len bytes: one response frame |
//! | 5 RESET | | u8 status |
//!
//! Status: 0 OK, 1 BAD_COMMAND, 2 BAD_ADDRESS, 3 TIMEOUT (H2C: the card stopped taking
//! words for [`H2C_STALL_LIMIT`]; C2H: no whole frame in time, len 0), 4
//! BUFFER_TOO_SMALL (the next frame is longer than max_len; it is kept), 5 BAD_LENGTH.
//!
//! # Time
//!
//! The clock runs only while a command needs it: an H2C transfer clocks until the card
//! has taken the frame, a C2H read until a whole response frame has come out (or the
//! timeout), a register access for its handshakes. Between commands the card is frozen,
//! which changes no result (the card has no timers) and keeps an idle simulator idle.
//! Response words are collected as they leave the card, into a buffer of
//! [`C2H_BUFFER_BYTES`]: past that the card sees backpressure, as it would from a host
//! that does not read.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::ffi::CardTopModel;
use crate::SimError;
use crate::Traffic;

/// Socket command: read a register.
pub const CMD_READ32: u8 = 1;
/// Socket command: write a register.
pub const CMD_WRITE32: u8 = 2;
/// Socket command: send one request frame.
pub const CMD_H2C: u8 = 3;
/// Socket command: receive one response frame.
pub const CMD_C2H: u8 = 4;
/// Socket command: reset the card.
pub const CMD_RESET: u8 = 5;

/// Reply status: done.
pub const ST_OK: u8 = 0;
/// Reply status: unknown command.
pub const ST_BAD_COMMAND: u8 = 1;
/// Reply status: register offset unaligned or outside the 4 KiB window.
pub const ST_BAD_ADDRESS: u8 = 2;
/// Reply status: the card did not take or give a frame in time.
pub const ST_TIMEOUT: u8 = 3;
/// Reply status: the next response frame is longer than the read allows.
pub const ST_BUFFER_TOO_SMALL: u8 = 4;
/// Reply status: a frame length that is zero or not a multiple of 8.
pub const ST_BAD_LENGTH: u8 = 5;

/// Response bytes the simulated C2H side holds before it backpressures the card.
pub const C2H_BUFFER_BYTES: usize = 1 << 20;
/// Wall-clock time an H2C transfer may go without the card taking a word.
pub const H2C_STALL_LIMIT: Duration = Duration::from_secs(20);
/// Longest request frame the server accepts, in bytes.
pub const MAX_FRAME_BYTES: usize = 256 << 20;
/// Cycles an AXI-Lite access may take before the card is called stuck.
const AXIL_LIMIT: u64 = 1000;

/// The source hash the card model was built with (its BUILD_HASH registers).
pub const BUILD_HASH: u64 = match u64::from_str_radix(env!("VIGIL_CARD_BUILD_HASH"), 16) {
    Ok(h) => h,
    Err(_) => 0,
};

/// What the host drives on the card's AXI-Lite port in one cycle.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AxilIn {
    pub aw_valid: bool,
    pub aw_addr: u32,
    pub w_valid: bool,
    pub w_data: u32,
    pub w_strb: u8,
    pub b_ready: bool,
    pub ar_valid: bool,
    pub ar_addr: u32,
    pub r_ready: bool,
}

/// The card's AXI-Lite outputs in one cycle.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AxilOut {
    pub aw_ready: bool,
    pub w_ready: bool,
    pub b_valid: bool,
    pub ar_ready: bool,
    pub r_valid: bool,
    pub r_data: u32,
}

/// The card model with the host's side of its ports.
pub struct Card {
    model: CardTopModel,
    cycles: u64,
    /// Whole response frames, oldest first.
    frames: VecDeque<Vec<u8>>,
    /// The response frame coming out now.
    partial: Vec<u8>,
    buffered: usize,
    traffic: Traffic,
    rng: ChaCha8Rng,
    /// A response word offered and not taken: it must be offered again, unchanged.
    held: Option<(u64, bool)>,
    violations: Vec<String>,
}

/// The numbers of verification engines a card model was built with (`hdl/sim/build.rs`):
/// the default card has one engine and one SHA-512 core; the variants with 2 and 4
/// engines have 2 SHA-512 cores. [`Card::with_engines`] takes one of these.
pub const ENGINE_COUNTS: &[u32] = crate::ffi::CARD_ENGINES;

impl Card {
    /// A new card model (the default: one verification engine), out of reset.
    pub fn new() -> Result<Card, SimError> {
        Card::with_engines(1)
    }

    /// A new model of the card with `engines` verification engines (one of
    /// [`ENGINE_COUNTS`], else [`SimError::NoCardModel`]), out of reset.
    pub fn with_engines(engines: u32) -> Result<Card, SimError> {
        let mut card = Card {
            model: CardTopModel::new(engines)?,
            cycles: 0,
            frames: VecDeque::new(),
            partial: Vec::new(),
            buffered: 0,
            traffic: Traffic::FULL,
            rng: ChaCha8Rng::seed_from_u64(0),
            held: None,
            violations: Vec::new(),
        };
        card.reset();
        Ok(card)
    }

    /// Pulses reset and drops every response not yet read.
    pub fn reset(&mut self) {
        self.model.set_in(false, 0, false);
        self.model.set_axil(AxilIn::default());
        self.model.reset();
        self.frames.clear();
        self.partial.clear();
        self.buffered = 0;
        self.held = None;
    }

    /// Makes the host side stall at random: request words are offered in
    /// `in_valid_percent` of the cycles (an offered word stays until taken) and
    /// responses are taken in `out_ready_percent`. The default is [`Traffic::FULL`].
    pub fn set_traffic(&mut self, traffic: Traffic) {
        self.rng = ChaCha8Rng::seed_from_u64(traffic.seed);
        self.traffic = traffic;
    }

    /// Breaches of the AXI-Stream contract seen on the response stream so far (a word
    /// withdrawn or changed while waiting to be taken).
    pub fn violations(&self) -> &[String] {
        &self.violations
    }

    /// Clock cycles run so far.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// One clock cycle with these stream and AXI-Lite inputs. Returns whether the
    /// request word was taken, and the card's AXI-Lite outputs before the edge.
    fn cycle(&mut self, word: Option<(u64, bool)>, axil: AxilIn) -> (bool, AxilOut) {
        let (data, last) = word.unwrap_or((0, false));
        self.model.set_in(word.is_some(), data, last);
        self.model.set_axil(axil);
        let room = self.buffered + self.partial.len() + 8 <= C2H_BUFFER_BYTES
            && self.rng.gen_range(0..100) < self.traffic.out_ready_percent;
        self.model.set_out_ready(room);
        self.model.eval();
        let taken = word.is_some() && self.model.in_ready();
        let axil_out = self.model.axil();
        let valid = self.model.out_valid();
        let now = valid.then(|| self.model.out());
        if let Some(before) = self.held.take() {
            if now != Some(before) {
                self.violations.push(format!(
                    "cycle {}: response word {before:x?} withdrawn or changed to {now:x?} before it was taken",
                    self.cycles
                ));
            }
        }
        if !room {
            self.held = now;
        }
        if let (true, Some((out, out_last))) = (room, now) {
            self.partial.extend_from_slice(&out.to_le_bytes());
            if out_last {
                let frame = std::mem::take(&mut self.partial);
                self.buffered += frame.len();
                self.frames.push_back(frame);
            }
        }
        self.model.tick();
        self.cycles += 1;
        (taken, axil_out)
    }

    /// Reads a register (an AXI-Lite read: address handshake, then data handshake).
    pub fn read32(&mut self, offset: u32) -> Result<u32, SimError> {
        let mut ar = AxilIn {
            ar_valid: true,
            ar_addr: offset,
            ..AxilIn::default()
        };
        for _ in 0..AXIL_LIMIT {
            let (_, out) = self.cycle(None, ar);
            if ar.ar_valid && out.ar_ready {
                ar.ar_valid = false;
                ar.r_ready = true;
            } else if ar.r_ready && out.r_valid {
                return Ok(out.r_data);
            }
        }
        Err(SimError::Stuck(AXIL_LIMIT))
    }

    /// Writes a register (AXI-Lite: address and data, then the write response).
    pub fn write32(&mut self, offset: u32, value: u32) -> Result<(), SimError> {
        let mut w = AxilIn {
            aw_valid: true,
            aw_addr: offset,
            w_valid: true,
            w_data: value,
            w_strb: 0xF,
            ..AxilIn::default()
        };
        for _ in 0..AXIL_LIMIT {
            let (_, out) = self.cycle(None, w);
            if w.aw_valid && out.aw_ready {
                w.aw_valid = false;
            }
            if w.w_valid && out.w_ready {
                w.w_valid = false;
            }
            if !w.aw_valid && !w.w_valid && !w.b_ready {
                w.b_ready = true;
            } else if w.b_ready && out.b_valid {
                return Ok(());
            }
        }
        Err(SimError::Stuck(AXIL_LIMIT))
    }

    /// Streams one request frame into the card (tlast on its final word). Returns
    /// `false` if the card stopped taking words for `stall_limit` (the frame is then
    /// partly sent, as on a real card whose DMA timed out).
    pub fn send_frame(&mut self, frame: &[u8], stall_limit: Duration) -> bool {
        let words = frame.len().div_ceil(8);
        // When the card last took a word, read only every 4096 idle cycles.
        let mut stalled_since: Option<Instant> = None;
        let mut i = 0;
        let mut idle = 0u32;
        let mut offered = false;
        while i < words {
            let chunk = &frame[8 * i..frame.len().min(8 * i + 8)];
            let mut bytes = [0u8; 8];
            bytes[..chunk.len()].copy_from_slice(chunk);
            offered = offered || self.rng.gen_range(0..100) < self.traffic.in_valid_percent;
            let word = offered.then_some((u64::from_le_bytes(bytes), i + 1 == words));
            let (taken, _) = self.cycle(word, AxilIn::default());
            if taken {
                i += 1;
                idle = 0;
                offered = false;
                stalled_since = None;
            } else {
                idle += 1;
                if idle.is_multiple_of(4096)
                    && stalled_since.get_or_insert_with(Instant::now).elapsed() > stall_limit
                {
                    return false;
                }
            }
        }
        true
    }

    /// Length of the next whole response frame, clocking the card until there is one or
    /// `timeout` passes.
    pub fn next_frame_len(&mut self, timeout: Duration) -> Option<usize> {
        let start = Instant::now();
        let mut n = 0u32;
        while self.frames.is_empty() {
            self.cycle(None, AxilIn::default());
            n = n.wrapping_add(1);
            if n.is_multiple_of(1024) && start.elapsed() >= timeout {
                return None;
            }
        }
        self.frames.front().map(Vec::len)
    }

    /// Takes the next whole response frame, if one is buffered.
    pub fn take_frame(&mut self) -> Option<Vec<u8>> {
        let frame = self.frames.pop_front()?;
        self.buffered -= frame.len();
        Some(frame)
    }
}

fn read_u32(s: &mut impl Read) -> io::Result<u32> {
    let mut b = [0u8; 4];
    s.read_exact(&mut b)?;
    Ok(u32::from_le_bytes(b))
}

/// A response frame's length on the wire. Frames are at most 13 words, so the
/// saturation never happens; it keeps a wrong length from being silently wrapped.
fn frame_len(n: usize) -> [u8; 4] {
    u32::try_from(n).unwrap_or(u32::MAX).to_le_bytes()
}

fn valid_offset(offset: u32) -> bool {
    offset.is_multiple_of(4) && offset < 0x1000
}

/// Serves one connection until the peer closes it (`Ok`) or an I/O error.
pub fn serve_connection(card: &mut Card, stream: &mut UnixStream) -> io::Result<()> {
    loop {
        let mut cmd = [0u8; 1];
        match stream.read_exact(&mut cmd) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(e),
        }
        let mut reply: Vec<u8> = Vec::with_capacity(16);
        match cmd[0] {
            CMD_READ32 => {
                let offset = read_u32(stream)?;
                if !valid_offset(offset) {
                    reply.push(ST_BAD_ADDRESS);
                    reply.extend_from_slice(&0u32.to_le_bytes());
                } else {
                    match card.read32(offset) {
                        Ok(v) => {
                            reply.push(ST_OK);
                            reply.extend_from_slice(&v.to_le_bytes());
                        }
                        Err(_) => {
                            reply.push(ST_TIMEOUT);
                            reply.extend_from_slice(&0u32.to_le_bytes());
                        }
                    }
                }
            }
            CMD_WRITE32 => {
                let offset = read_u32(stream)?;
                let value = read_u32(stream)?;
                reply.push(if !valid_offset(offset) {
                    ST_BAD_ADDRESS
                } else if card.write32(offset, value).is_ok() {
                    ST_OK
                } else {
                    ST_TIMEOUT
                });
            }
            CMD_H2C => {
                let len = read_u32(stream)? as usize;
                if len == 0 || !len.is_multiple_of(8) || len > MAX_FRAME_BYTES {
                    // The bytes cannot be trusted to follow: the connection ends.
                    stream.write_all(&[ST_BAD_LENGTH])?;
                    return Ok(());
                }
                let mut frame = vec![0u8; len];
                stream.read_exact(&mut frame)?;
                let ok = card.send_frame(&frame, H2C_STALL_LIMIT);
                reply.push(if ok { ST_OK } else { ST_TIMEOUT });
            }
            CMD_C2H => {
                let max_len = read_u32(stream)? as usize;
                let timeout = Duration::from_millis(u64::from(read_u32(stream)?));
                match card.next_frame_len(timeout) {
                    None => {
                        reply.push(ST_TIMEOUT);
                        reply.extend_from_slice(&0u32.to_le_bytes());
                    }
                    Some(n) if n > max_len => {
                        reply.push(ST_BUFFER_TOO_SMALL);
                        reply.extend_from_slice(&frame_len(n));
                    }
                    Some(_) => {
                        let frame = card.take_frame().unwrap_or_default();
                        reply.push(ST_OK);
                        reply.extend_from_slice(&frame_len(frame.len()));
                        reply.extend_from_slice(&frame);
                    }
                }
            }
            CMD_RESET => {
                card.reset();
                reply.push(ST_OK);
            }
            _ => {
                // Unknown command: its arguments' length is unknown too, so the
                // connection cannot stay in step; answer and close.
                stream.write_all(&[ST_BAD_COMMAND])?;
                return Ok(());
            }
        }
        stream.write_all(&reply)?;
    }
}

/// Serves connections one after another on `listener` until `stop` is set (checked
/// after each connection; [`SimCard`] wakes the accept with a connection of its own).
pub fn serve(card: &mut Card, listener: &UnixListener, stop: &AtomicBool) -> io::Result<()> {
    for stream in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let mut stream = stream?;
        if let Err(e) = serve_connection(card, &mut stream) {
            // A peer that went away mid-command ends its connection, not the server.
            eprintln!("vigil-card-sim: connection ended: {e}");
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
    }
    Ok(())
}

/// A simulated card served on a thread, at a fresh socket path; dropping it stops the
/// server and removes the socket.
pub struct SimCard {
    path: PathBuf,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl SimCard {
    /// Starts a card model (the default: one verification engine) and its server.
    pub fn spawn() -> Result<SimCard, SimError> {
        SimCard::spawn_with_engines(1)
    }

    /// Starts a model of the card with `engines` verification engines (one of
    /// [`ENGINE_COUNTS`]) and its server.
    pub fn spawn_with_engines(engines: u32) -> Result<SimCard, SimError> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "vigil-card-sim-{}-{}.sock",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_file(&path);
        let listener =
            UnixListener::bind(&path).map_err(|e| SimError::Rtl(format!("bind: {e}")))?;
        let stop = Arc::new(AtomicBool::new(false));
        let (ready_tx, ready_rx) = mpsc::channel();
        let thread_stop = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("vigil-card-sim".into())
            .spawn(move || {
                // The model is made on the thread that uses it (handles are not Send).
                let mut card = match Card::with_engines(engines) {
                    Ok(card) => {
                        let _ = ready_tx.send(Ok(()));
                        card
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = serve(&mut card, &listener, &thread_stop);
            })
            .map_err(|e| SimError::Rtl(format!("thread: {e}")))?;
        let started = ready_rx
            .recv()
            .unwrap_or(Err(SimError::ModelCreation("vigil_card_top")));
        let card = SimCard {
            path,
            stop,
            thread: Some(thread),
        };
        started.map(|()| card)
    }

    /// The socket the card is served on.
    pub fn socket_path(&self) -> &Path {
        &self.path
    }
}

impl Drop for SimCard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept. The thread ends after it, or after the connection it is
        // serving closes; it is not joined, so a client that outlives this handle
        // cannot hang the drop.
        let _ = UnixStream::connect(&self.path);
        drop(self.thread.take());
        let _ = std::fs::remove_file(&self.path);
    }
}
