//! Whole BLAKE3 hashes with every compression done by the RTL core.
//!
//! [`hash_many`] hashes a list of inputs at once: a software schedule (chunks of
//! 1024 bytes in 64-byte blocks, the binary tree of parents, the root's output blocks)
//! decides *what* to compress, and [`Blake3Compress`] does *every* compression: chunk
//! blocks, parents, and each 64-byte output block of the root, including extended
//! output. Nothing is hashed in software, so the results test the core; they are
//! compared with the `blake3` crate by the testbenches, never here.
//!
//! To keep the pipeline full the schedule exposes all the work that is ready: the next
//! block of every unfinished chunk of every input, every parent whose children are
//! done, every output block of a known root. [`run`] offers a random ready item when
//! [`Traffic`] says to, drives `out_ready` at random, and matches each result to its
//! work by tag. It also checks the core's interface contract every cycle:
//!
//! - an output held while `out_ready` is low stays exactly as it was;
//! - results leave in the order their inputs were accepted, with the same tags;
//! - `in_ready` is high exactly when the output register is empty or being taken
//!   (the global-enable backpressure of the RTL);
//! - no result arrives that was not asked for.
//!
//! The tree is built level by level (pair adjacent chaining values, carry an odd last
//! one up), which is BLAKE3's tree (left subtree = the largest power of two of chunks
//! below the total) for the reason `vigil_core::merkle` gives for its tree of the same
//! shape.

use std::collections::{HashMap, VecDeque};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::blake3_compress::{Blake3Compress, Compression};
use crate::{SimError, Traffic};

/// BLAKE3's IV: the key of plain hashes and of context-string hashes.
pub const IV: [u32; 8] = [
    0x6A09_E667,
    0xBB67_AE85,
    0x3C6E_F372,
    0xA54F_F53A,
    0x510E_527F,
    0x9B05_688C,
    0x1F83_D9AB,
    0x5BE0_CD19,
];

/// Flag of a chunk's first block.
pub const CHUNK_START: u32 = 1 << 0;
/// Flag of a chunk's last block.
pub const CHUNK_END: u32 = 1 << 1;
/// Flag of a parent node.
pub const PARENT: u32 = 1 << 2;
/// Flag of the root's compressions.
pub const ROOT: u32 = 1 << 3;
/// Mode flag of keyed hashes.
pub const KEYED_HASH: u32 = 1 << 4;
/// Mode flag of hashing a derive-key context string.
pub const DERIVE_KEY_CONTEXT: u32 = 1 << 5;
/// Mode flag of hashing key material under a context key.
pub const DERIVE_KEY_MATERIAL: u32 = 1 << 6;

const BLOCK: usize = 64;
const BLOCK_LEN: u32 = 64;
const CHUNK: usize = 1024;

/// One hash to compute: an input under a key and mode, and how many output bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashRequest {
    /// The key words: [`IV`] for plain hashes and context strings, the key for keyed
    /// hashes, the context key for derive-key material.
    pub key: [u32; 8],
    /// The mode flag put on every compression (0, [`KEYED_HASH`], [`DERIVE_KEY_CONTEXT`]
    /// or [`DERIVE_KEY_MATERIAL`]).
    pub mode: u32,
    /// The input.
    pub input: Vec<u8>,
    /// Output bytes wanted (32 for a plain hash; more is extended output).
    pub out_len: usize,
}

impl HashRequest {
    /// `blake3::hash(input)`.
    pub fn hash(input: &[u8]) -> Self {
        Self::with_key(IV, 0, input)
    }

    /// `blake3::keyed_hash(key, input)`.
    pub fn keyed(key: &[u8; 32], input: &[u8]) -> Self {
        Self::with_key(words_from_le_bytes(key), KEYED_HASH, input)
    }

    /// The context key of `context` (`blake3::hazmat::hash_derive_key_context`).
    pub fn derive_key_context(context: &str) -> Self {
        Self::with_key(IV, DERIVE_KEY_CONTEXT, context.as_bytes())
    }

    /// `derive_key` of `input` under an already-derived context key.
    pub fn derive_key_material(context_key: &[u8; 32], input: &[u8]) -> Self {
        Self::with_key(words_from_le_bytes(context_key), DERIVE_KEY_MATERIAL, input)
    }

    /// A request with explicit key words and mode flag, 32 output bytes.
    pub fn with_key(key: [u32; 8], mode: u32, input: &[u8]) -> Self {
        HashRequest {
            key,
            mode,
            input: input.to_vec(),
            out_len: 32,
        }
    }

    /// The same request with `out_len` output bytes.
    #[must_use]
    pub fn out_len(mut self, out_len: usize) -> Self {
        self.out_len = out_len;
        self
    }
}

/// What a run cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunStats {
    /// Clock cycles of the run.
    pub cycles: u64,
    /// Compressions done.
    pub compressions: u64,
}

/// Work that the core can do: a source of ready compressions, told about their results.
pub trait Work {
    /// What the driver needs to route a result back.
    type Ticket;
    /// The compressions ready now (the driver takes any of them, in any order).
    fn ready(&mut self) -> &mut Vec<(Compression, Self::Ticket)>;
    /// The result of a compression taken from `ready`.
    fn complete(&mut self, ticket: Self::Ticket, state: [u32; 16]) -> Result<(), SimError>;
    /// Whether everything is done.
    fn is_done(&self) -> bool;
}

/// Cycles without any transfer after which [`run`] gives up.
const STUCK_CYCLES: u64 = 10_000;

/// Runs `work` through `core` until it is done, with `traffic`'s stalls, checking the
/// core's interface contract (see the module docs) on every cycle.
pub fn run<W: Work>(
    core: &mut Blake3Compress,
    work: &mut W,
    traffic: &Traffic,
) -> Result<RunStats, SimError> {
    let mut rng = ChaCha8Rng::seed_from_u64(traffic.seed);
    let mut offer: Option<(Compression, W::Ticket)> = None;
    let mut in_flight: VecDeque<u32> = VecDeque::new();
    let mut tickets: HashMap<u32, W::Ticket> = HashMap::new();
    let mut next_tag: u32 = rng.gen();
    let mut held = None;
    let mut stats = RunStats::default();
    let mut idle = 0u64;

    while !(work.is_done() && offer.is_none() && in_flight.is_empty()) {
        if offer.is_none() && rng.gen_range(0..100) < traffic.in_valid_percent {
            let ready = work.ready();
            if !ready.is_empty() {
                let (mut c, ticket) = ready.swap_remove(rng.gen_range(0..ready.len()));
                c.tag = next_tag;
                next_tag = next_tag.wrapping_add(1);
                offer = Some((c, ticket));
            }
        }
        let out_ready = rng.gen_range(0..100) < traffic.out_ready_percent;
        let cycle = core.cycle(offer.as_ref().map(|(c, _)| c), out_ready);
        stats.cycles += 1;

        if let Some(prev) = held.take() {
            if cycle.out != Some(prev) {
                return Err(SimError::Protocol(format!(
                    "output changed while stalled: {prev:x?} became {:x?}",
                    cycle.out
                )));
            }
        }
        let enabled = out_ready || cycle.out.is_none();
        if cycle.in_ready != enabled {
            return Err(SimError::Protocol(format!(
                "in_ready = {} with out_ready = {out_ready}, out_valid = {}",
                cycle.in_ready,
                cycle.out.is_some()
            )));
        }
        if cycle.accepted {
            if let Some((c, ticket)) = offer.take() {
                in_flight.push_back(c.tag);
                tickets.insert(c.tag, ticket);
            }
        }
        if let Some(out) = cycle.out {
            if cycle.taken {
                match in_flight.pop_front() {
                    Some(tag) if tag == out.tag => {}
                    expected => {
                        return Err(SimError::Protocol(format!(
                            "result tagged {:#x}, expected {expected:x?}",
                            out.tag
                        )))
                    }
                }
                let ticket = tickets.remove(&out.tag).ok_or_else(|| {
                    SimError::Protocol(format!("result with unknown tag {:#x}", out.tag))
                })?;
                work.complete(ticket, out.state)?;
                stats.compressions += 1;
            } else {
                held = Some(out);
            }
        }
        if cycle.accepted || cycle.taken {
            idle = 0;
        } else {
            idle += 1;
            if idle >= STUCK_CYCLES {
                return Err(SimError::Stuck(idle));
            }
        }
    }
    Ok(stats)
}

/// Hashes every request with the core; returns each request's `out_len` output bytes.
pub fn hash_many(
    core: &mut Blake3Compress,
    requests: &[HashRequest],
    traffic: &Traffic,
) -> Result<(Vec<Vec<u8>>, RunStats), SimError> {
    let mut schedule = Schedule::new(requests);
    let stats = run(core, &mut schedule, traffic)?;
    let outputs = schedule.jobs.into_iter().map(|j| j.output).collect();
    Ok((outputs, stats))
}

/// Where a compression's result goes.
#[derive(Debug, Clone, Copy)]
pub enum Ticket {
    /// Block `block` of chunk `chunk` of job `job`.
    Block {
        /// The request's index.
        job: usize,
        /// The chunk.
        chunk: usize,
        /// The block within the chunk.
        block: usize,
    },
    /// Node `index` of tree level `level` (level 0 = chunk chaining values) of `job`.
    Parent {
        /// The request's index.
        job: usize,
        /// The level of the parent made.
        level: usize,
        /// Its index in the level.
        index: usize,
    },
    /// Output block `block` of job `job`'s root.
    Output {
        /// The request's index.
        job: usize,
        /// The output block (the root compression's counter).
        block: usize,
    },
}

struct Job {
    key: [u32; 8],
    mode: u32,
    input: Vec<u8>,
    chunks: usize,
    /// The running chaining value of each chunk.
    chunk_cv: Vec<[u32; 8]>,
    /// Node counts of the tree's levels, level 0 = chunks, down to the root's 2.
    level_len: Vec<usize>,
    levels: Vec<Vec<Option<[u32; 8]>>>,
    output: Vec<u8>,
    outputs_left: usize,
}

/// The work of [`hash_many`]: the schedule of every request's compressions.
pub struct Schedule {
    jobs: Vec<Job>,
    ready: Vec<(Compression, Ticket)>,
}

impl Schedule {
    /// The schedule of `requests`, with every chunk's first block ready.
    pub fn new(requests: &[HashRequest]) -> Self {
        let mut s = Schedule {
            jobs: Vec::with_capacity(requests.len()),
            ready: Vec::new(),
        };
        for (j, r) in requests.iter().enumerate() {
            let chunks = r.input.len().div_ceil(CHUNK).max(1);
            let mut level_len = vec![chunks];
            while level_len.last().is_some_and(|&n| n > 2) {
                let n = level_len.last().copied().unwrap_or(0);
                level_len.push(n.div_ceil(2));
            }
            s.jobs.push(Job {
                key: r.key,
                mode: r.mode,
                input: r.input.clone(),
                chunks,
                chunk_cv: vec![r.key; chunks],
                levels: level_len.iter().map(|&n| vec![None; n]).collect(),
                level_len,
                output: vec![0; r.out_len],
                outputs_left: r.out_len.div_ceil(BLOCK),
            });
            for c in 0..chunks {
                s.block_ready(j, c, 0);
            }
        }
        s
    }

    /// Queues block `b` of chunk `c` of job `j`; the only chunk's last block is the
    /// root, whose output blocks are queued instead.
    fn block_ready(&mut self, j: usize, c: usize, b: usize) {
        let job = &self.jobs[j];
        let start = (c * CHUNK).min(job.input.len());
        let end = ((c + 1) * CHUNK).min(job.input.len());
        let chunk = &job.input[start..end];
        let blocks = chunk.len().div_ceil(BLOCK).max(1);
        let bytes = &chunk[(b * BLOCK).min(chunk.len())..((b + 1) * BLOCK).min(chunk.len())];
        let mut flags = job.mode;
        if b == 0 {
            flags |= CHUNK_START;
        }
        if b + 1 == blocks {
            flags |= CHUNK_END;
        }
        let c_in = Compression {
            cv: job.chunk_cv[c],
            block: block_words(bytes),
            counter: c as u64,
            block_len: u32::try_from(bytes.len()).unwrap_or(BLOCK_LEN),
            flags,
            tag: 0,
        };
        if job.chunks == 1 && b + 1 == blocks {
            self.root_ready(j, c_in);
        } else {
            self.ready.push((
                c_in,
                Ticket::Block {
                    job: j,
                    chunk: c,
                    block: b,
                },
            ));
        }
    }

    /// Queues every output block of job `j`'s root compression `root`.
    fn root_ready(&mut self, j: usize, root: Compression) {
        for t in 0..self.jobs[j].outputs_left {
            let mut c = root;
            c.flags |= ROOT;
            c.counter = t as u64;
            self.ready.push((c, Ticket::Output { job: j, block: t }));
        }
    }

    /// Records node `i` of level `l` of job `j` and queues what it completes.
    fn node_done(&mut self, j: usize, l: usize, i: usize, cv: [u32; 8]) {
        let job = &mut self.jobs[j];
        job.levels[l][i] = Some(cv);
        let n = job.level_len[l];
        if i + 1 == n && n % 2 == 1 {
            // The odd last node goes up unchanged.
            self.node_done(j, l + 1, i / 2, cv);
            return;
        }
        let left = job.levels[l][i & !1];
        let right = job.levels[l][i | 1];
        let (Some(left), Some(right)) = (left, right) else {
            return;
        };
        let mut block = [0u32; 16];
        block[..8].copy_from_slice(&left);
        block[8..].copy_from_slice(&right);
        let parent = Compression {
            cv: job.key,
            block,
            counter: 0,
            block_len: BLOCK_LEN,
            flags: job.mode | PARENT,
            tag: 0,
        };
        if n == 2 {
            self.root_ready(j, parent);
        } else {
            self.ready.push((
                parent,
                Ticket::Parent {
                    job: j,
                    level: l + 1,
                    index: i / 2,
                },
            ));
        }
    }
}

impl Work for Schedule {
    type Ticket = Ticket;

    fn ready(&mut self) -> &mut Vec<(Compression, Ticket)> {
        &mut self.ready
    }

    fn complete(&mut self, ticket: Ticket, state: [u32; 16]) -> Result<(), SimError> {
        let mut cv = [0u32; 8];
        cv.copy_from_slice(&state[..8]);
        match ticket {
            Ticket::Block { job, chunk, block } => {
                let j = &mut self.jobs[job];
                j.chunk_cv[chunk] = cv;
                let len = (j.input.len() - (chunk * CHUNK).min(j.input.len())).min(CHUNK);
                if (block + 1) * BLOCK < len {
                    self.block_ready(job, chunk, block + 1);
                } else {
                    self.node_done(job, 0, chunk, cv);
                }
            }
            Ticket::Parent { job, level, index } => self.node_done(job, level, index, cv),
            Ticket::Output { job, block } => {
                let j = &mut self.jobs[job];
                let bytes: Vec<u8> = state.iter().flat_map(|w| w.to_le_bytes()).collect();
                let start = block * BLOCK;
                let end = (start + BLOCK).min(j.output.len());
                j.output[start..end].copy_from_slice(&bytes[..end - start]);
                j.outputs_left = j
                    .outputs_left
                    .checked_sub(1)
                    .ok_or_else(|| SimError::Protocol("an output block too many".into()))?;
            }
        }
        Ok(())
    }

    fn is_done(&self) -> bool {
        self.ready.is_empty() && self.jobs.iter().all(|j| j.outputs_left == 0)
    }
}

/// 32 bytes as 8 little-endian words.
pub fn words_from_le_bytes(bytes: &[u8; 32]) -> [u32; 8] {
    let mut w = [0u32; 8];
    for (w, b) in w.iter_mut().zip(bytes.chunks_exact(4)) {
        *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    w
}

/// Words as little-endian bytes.
pub fn le_bytes(words: &[u32]) -> Vec<u8> {
    words.iter().flat_map(|w| w.to_le_bytes()).collect()
}

/// Up to 64 bytes as a zero-padded block of 16 little-endian words.
pub fn block_words(bytes: &[u8]) -> [u32; 16] {
    let mut padded = [0u8; BLOCK];
    let n = bytes.len().min(BLOCK);
    padded[..n].copy_from_slice(&bytes[..n]);
    let mut w = [0u32; 16];
    for (w, b) in w.iter_mut().zip(padded.chunks_exact(4)) {
        *w = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    w
}
