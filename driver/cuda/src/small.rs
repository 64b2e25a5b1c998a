//! The small-batch path: one pre-instantiated CUDA graph per batch shape.
//!
//! A batch of 64 to 1,024 signatures costs the GPU far less than its launch sequence
//! costs the host: the regular path issues six uploads, four kernel launches, a download
//! and an event, each a driver call with its own overhead. Here the batch is packed on
//! the host into one page-locked buffer (arena and offset arrays side by side) and a
//! graph that was captured and instantiated when the GPU was opened replays the whole
//! sequence (one upload, the four Ed25519 kernels, one download) in a single launch.
//! Nothing is allocated, compiled or instantiated while serving.
//!
//! A graph's sizes are fixed when it is captured, so batches are rounded up to a shape:
//! the signature count to the next of [`SIG_BUCKETS`] and the arena to the next power of
//! two from [`ARENA_MIN`] to [`ARENA_MAX`]. The padding signatures repeat the batch's
//! first signature (valid offsets, so the kernels read only the batch's own bytes) and
//! their verdicts are not read back into the answer. Every shape times every profile is
//! `SIG_BUCKETS.len() × 7 × 3 = 105` graphs per slot, instantiated once.
//!
//! Whether this is faster than the regular path is measured by `benches/gpu/run.sh`
//! (latency of 64-signature batches with `VIGIL_CUDA_GRAPHS` on and off).

// Kernel launches and graph capture are unsafe in cudarc (argument types unchecked).
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::sync::Arc;

use cudarc::driver::sys::{CUgraphInstantiate_flags, CUstreamCaptureMode};
use cudarc::driver::{
    CudaContext, CudaGraph, CudaSlice, CudaStream, DevicePtr as _, DriverError, PinnedHostSlice,
};
use vigil_core::{Batch, Profile};

use vigil_kernels::launch::{self, Buffer, Launch};

use crate::queue::{u32_len, Functions};

/// Signature (and transaction) counts the graphs are captured for.
pub const SIG_BUCKETS: [usize; 5] = [64, 128, 256, 512, 1024];
/// The smallest and largest arena a graph uploads (powers of two).
pub const ARENA_MIN: usize = 16 << 10;
/// See [`ARENA_MIN`].
pub const ARENA_MAX: usize = 1 << 20;
const MAX_ITEMS: usize = SIG_BUCKETS[SIG_BUCKETS.len() - 1];

/// A batch's shape: items (signatures and transactions) and arena bytes, both rounded up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shape {
    items: usize,
    arena: usize,
}

impl Shape {
    /// The shape `batch` is padded to, or `None` when it is not a small batch.
    pub fn of(batch: &Batch) -> Option<Shape> {
        let items = batch.signature_count().max(batch.len());
        let arena = batch.leaves().arena().len();
        if batch.signature_count() == 0 || arena > ARENA_MAX {
            return None;
        }
        let items = *SIG_BUCKETS.iter().find(|&&b| b >= items)?;
        Some(Shape {
            items,
            arena: arena.next_power_of_two().max(ARENA_MIN),
        })
    }

    /// Every shape, smallest first.
    fn all() -> impl Iterator<Item = Shape> {
        SIG_BUCKETS.iter().flat_map(|&items| {
            std::iter::successors(Some(ARENA_MIN), |a| (*a < ARENA_MAX).then_some(a * 2))
                .map(move |arena| Shape { items, arena })
        })
    }

    /// Byte offsets of the offset arrays in the packed buffer: leaf_start (items + 1),
    /// msg_start, pubkey_at, sig_at, signer_tx (items each), all u32.
    fn layout(self) -> [usize; 6] {
        let w = 4 * self.items;
        let leaf = self.arena;
        let msg = leaf + w + 4;
        [leaf, msg, msg + w, msg + 2 * w, msg + 3 * w, msg + 4 * w]
    }

    /// Bytes uploaded for this shape.
    fn bytes(self) -> usize {
        self.layout()[5]
    }
}

/// One slot's small-batch buffers and graphs.
pub struct SmallPath {
    packed: PinnedHostSlice<u8>,
    packed_dev: CudaSlice<u8>,
    /// The device's own working buffers ([`Buffer::ED25519_WORK`], in that order),
    /// sized for the largest shape.
    work: Vec<CudaSlice<u32>>,
    verdict: PinnedHostSlice<u8>,
    verdict_dev: CudaSlice<u8>,
    graphs: Graphs,
}

/// The instantiated graphs of one slot, by shape and profile code.
struct Graphs(HashMap<(Shape, u32), CudaGraph>);

// SAFETY: CUDA graph handles are not internally synchronised but are not tied to a
// thread: the driver only requires that calls on one graph are not concurrent. A
// `Graphs` is owned by one `SmallPath`, which belongs to one slot of one `GpuQueue`;
// the queue is moved to its worker thread once and used only there (`&mut` access), so
// no two threads ever touch a graph at once.
unsafe impl Send for Graphs {}

impl SmallPath {
    /// Allocates the buffers and captures every graph on `stream`.
    pub fn new(
        ctx: &Arc<CudaContext>,
        stream: &Arc<CudaStream>,
        functions: &Functions,
    ) -> Result<SmallPath, DriverError> {
        let largest = Shape {
            items: MAX_ITEMS,
            arena: ARENA_MAX,
        };
        // SAFETY: both pinned buffers are written before they are read: `packed` by
        // `pack` before each launch, `verdict` by the graph's download.
        let packed = unsafe { ctx.alloc_pinned::<u8>(largest.bytes()) }?;
        // Read by the host: cached (not write-combined) memory.
        let verdict = unsafe { ctx.alloc_pinned_with_flags::<u8>(MAX_ITEMS, 0) }?;
        let mut path = SmallPath {
            packed,
            packed_dev: stream.alloc_zeros::<u8>(largest.bytes())?,
            work: Buffer::ED25519_WORK
                .iter()
                .map(|b| stream.alloc_zeros::<u32>(b.words_for(MAX_ITEMS)))
                .collect::<Result<_, _>>()?,
            verdict,
            verdict_dev: stream.alloc_zeros::<u8>(MAX_ITEMS)?,
            graphs: Graphs(HashMap::new()),
        };
        for shape in Shape::all() {
            for profile in Profile::ALL {
                let code = vigil_kernels::profile_code(profile);
                let graph = path.capture(stream, functions, shape, code)?;
                path.graphs.0.insert((shape, code), graph);
            }
        }
        Ok(path)
    }

    /// Records one replayable run of `shape` under `code`: upload, the Ed25519 kernels,
    /// download.
    fn capture(
        &mut self,
        stream: &Arc<CudaStream>,
        functions: &Functions,
        shape: Shape,
        code: u32,
    ) -> Result<CudaGraph, DriverError> {
        // Host pointers are taken before the capture: reading a pinned slice may
        // synchronise, which a capturing stream does not allow.
        let bytes = shape.bytes();
        let host_in: &[u8] = &self.packed.as_slice()?[..bytes];
        let host_out: &mut [u8] = &mut self.verdict.as_mut_slice()?[..shape.items];
        stream.begin_capture(CUstreamCaptureMode::CU_STREAM_CAPTURE_MODE_THREAD_LOCAL)?;
        let recorded = record(
            stream,
            functions,
            shape,
            code,
            host_in,
            host_out,
            &mut self.packed_dev,
            &self.work,
            &mut self.verdict_dev,
        );
        // The capture is ended whatever happened, so the stream is usable again.
        let graph = stream.end_capture(CUgraphInstantiate_flags(0));
        recorded?;
        let graph = graph?.ok_or(DriverError(
            cudarc::driver::sys::cudaError_enum::CUDA_ERROR_UNKNOWN,
        ))?;
        graph.upload()?;
        Ok(graph)
    }

    /// Packs `batch` and launches its graph on the slot's stream; `false` (nothing
    /// launched) if it is not a small batch.
    pub fn launch(&mut self, batch: &Batch, profile: Profile) -> Result<bool, DriverError> {
        let Some(shape) = Shape::of(batch) else {
            return Ok(false);
        };
        let code = vigil_kernels::profile_code(profile);
        let Some(graph) = self.graphs.0.get(&(shape, code)) else {
            return Ok(false);
        };
        pack(
            &mut self.packed.as_mut_slice()?[..shape.bytes()],
            shape,
            batch,
        );
        graph.launch()?;
        Ok(true)
    }

    /// The verdict bytes of the last launch's first `n` signatures.
    pub fn verdicts(&self, n: usize) -> &[u8] {
        self.verdict
            .as_slice()
            .map_or(&[][..], |v| &v[..n.min(v.len())])
    }
}

/// The captured sequence. Arguments point into the one packed device buffer.
#[allow(clippy::too_many_arguments)]
fn record(
    stream: &Arc<CudaStream>,
    functions: &Functions,
    shape: Shape,
    code: u32,
    host_in: &[u8],
    host_out: &mut [u8],
    packed_dev: &mut CudaSlice<u8>,
    work: &[CudaSlice<u32>],
    verdict_dev: &mut CudaSlice<u8>,
) -> Result<(), DriverError> {
    let [leaf, msg, pk, sig, tx, end] = shape.layout();
    stream.memcpy_htod(host_in, &mut packed_dev.slice_mut(..end))?;
    // Each contract buffer is a view of the packed upload, or one of the slot's own
    // working and verdict buffers. Event tracking is off (see `queue`), so the guards
    // `device_ptr` returns record nothing and may go at once.
    let packed_ref = &*packed_dev;
    let packed = |range: std::ops::Range<usize>| packed_ref.slice(range).device_ptr(stream).0;
    let work_of = |b: Buffer| {
        let i = Buffer::ED25519_WORK.iter().position(|&w| w == b);
        i.and_then(|i| work.get(i))
    };
    let addr = |b: Buffer| match b {
        Buffer::Arena => packed(0..shape.arena),
        Buffer::LeafStart => packed(leaf..msg),
        Buffer::MsgStart => packed(msg..pk),
        Buffer::PubkeyAt => packed(pk..sig),
        Buffer::SigAt => packed(sig..tx),
        Buffer::SignerTx => packed(tx..end),
        // The working buffers; the verdicts (the Merkle buffers are not part of a
        // verification, and no Ed25519 kernel takes them).
        other => match work_of(other) {
            Some(w) => w.device_ptr(stream).0,
            None => verdict_dev.device_ptr(stream).0,
        },
    };
    let count = u32_len(shape.items)?;
    for (entry, function) in launch::ED25519.iter().zip(&functions.ed25519) {
        // The views hold `items` entries each (leaf_start items + 1), the working
        // buffers what `Buffer::words_for` gives for the largest shape and the verdicts
        // one byte per item, as the contract's plan sizes them.
        crate::queue::launch(
            stream,
            function,
            &Launch::per_item(entry, count, code),
            addr,
        )?;
    }
    stream.memcpy_dtoh(&verdict_dev.slice(..shape.items), host_out)
}

/// Writes `batch` into the packed layout of `shape`, padding signatures with the first.
fn pack(out: &mut [u8], shape: Shape, batch: &Batch) {
    let [leaf, msg, pk, sig, tx, _] = shape.layout();
    let arena = batch.leaves().arena();
    out[..arena.len()].copy_from_slice(arena);
    let off = batch.offsets();
    put_u32s(&mut out[leaf..msg], batch.leaves().starts(), None);
    put_u32s(&mut out[msg..pk], off.msg_start, None);
    put_u32s(&mut out[pk..sig], off.pubkey_at, Some(shape.items));
    put_u32s(&mut out[sig..tx], off.sig_at, Some(shape.items));
    put_u32s(&mut out[tx..], off.signer_tx, Some(shape.items));
}

/// Little-endian u32s into `out`; with `pad_to`, repeats the first value up to that
/// many entries.
fn put_u32s(out: &mut [u8], values: &[u32], pad_to: Option<usize>) {
    let first = values.first().copied().unwrap_or(0);
    let n = pad_to.unwrap_or(values.len());
    let padded = values.iter().copied().chain(std::iter::repeat(first));
    for (chunk, v) in out.chunks_exact_mut(4).zip(padded).take(n) {
        chunk.copy_from_slice(&v.to_le_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_cover_small_batches_and_layouts_are_aligned() {
        let shapes: Vec<Shape> = Shape::all().collect();
        assert_eq!(shapes.len(), 35);
        for s in shapes {
            let l = s.layout();
            assert!(l.iter().all(|o| o % 4 == 0), "{s:?}");
            assert!(l.windows(2).all(|w| w[0] < w[1]));
            assert_eq!(l[1] - l[0], 4 * (s.items + 1));
        }
    }

    #[test]
    fn packing_pads_with_the_first_signature() {
        let mut out = vec![0u8; 40];
        put_u32s(&mut out, &[7, 9], Some(5));
        let words: Vec<u32> = out
            .chunks_exact(4)
            .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        assert_eq!(words, [7, 9, 7, 7, 7, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn a_batch_is_rounded_to_its_shape() {
        let spec = vigil_core::synth::SynthSpec {
            count: 70,
            profile: Profile::Strict,
            invalid_fraction: 0.0,
            msg_len: 100..=100,
            signers: 1,
            format: vigil_core::synth::Format::Jsonl,
            seed: 3,
        };
        let batch = vigil_core::synth::batch(&spec).expect("batch");
        let shape = Shape::of(&batch).expect("small");
        assert_eq!(shape.items, 128);
        assert_eq!(shape.arena, ARENA_MIN);
        let big = vigil_core::synth::batch(&vigil_core::synth::SynthSpec {
            count: 1025,
            ..spec
        })
        .expect("batch");
        assert_eq!(Shape::of(&big), None);
    }
}
