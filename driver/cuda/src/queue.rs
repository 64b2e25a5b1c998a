//! One GPU's streams, page-locked staging buffers and device buffers.
//!
//! [`GpuQueue`] implements [`vigil_runtime::DeviceQueue`]; the shared worker drives
//! it. Each slot has its own stream, its own page-locked (pinned) host buffers and its
//! own device buffers, so consecutive batches overlap: while one slot's kernels run, the
//! next slot's copy-in is already queued on its own stream, and the copy engines work
//! beside the SMs.
//!
//! A batch is copied as it is: its arena and offset arrays are first copied on the host
//! into the slot's pinned buffers (one `memcpy` each, no per-transaction work), then
//! sent with asynchronous copies, which only page-locked memory allows. Buffers grow to
//! the next power of two when a larger batch arrives and are then reused, so steady
//! traffic allocates nothing, on the host or on the GPU, and compiles nothing.
//!
//! Batches of up to 1,024 signatures take the small-batch path instead ([`crate::small`]):
//! one packed upload and one graph launch.
//!
//! Each slot also records a pair of timing events around its kernels, so the time the
//! GPU spent computing (copies excluded) is known per batch and summed per GPU: that is
//! the kernel throughput `vigil bench` reports beside the end-to-end figure.
//!
//! Buffers the host writes are write-combined pinned memory (fast to fill, slow to read);
//! buffers the host reads back (verdicts, roots) are ordinary cached pinned memory.
//!
//! cudarc's automatic event tracking is switched off: each slot's buffers are used by
//! its stream alone, and the worker waits for a slot's final event before it touches
//! the slot again, which is all the ordering the buffers need.

// The FFI boundary: kernel launches are unsafe in cudarc because argument types cannot be
// checked against the kernel's signature. Each use says why it holds.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use cudarc::driver::sys::CUevent_flags;
use cudarc::driver::{
    CudaContext, CudaEvent, CudaFunction, CudaSlice, CudaStream, DeviceRepr, DriverError,
    LaunchConfig, PinnedHostSlice, PushKernelArg as _, ValidAsZeroBits,
};
use vigil_core::{Batch, Leaves, Profile};
use vigil_runtime::{DeviceQueue, Refusal};

use crate::small::SmallPath;

/// Batches one GPU holds at once (each with its own stream and buffers).
pub const SLOTS: usize = 4;
/// Threads per block for the one-thread-per-signature and one-thread-per-leaf kernels.
pub(crate) const BLOCK: u32 = 64;
/// Initial buffer sizes; they grow on demand.
const INITIAL_ARENA: usize = 4 << 20;
const INITIAL_ITEMS: usize = 16 << 10;

/// The kernels of both programs on one GPU.
pub struct Functions {
    /// `vigil_ed25519_challenge`.
    pub challenge: CudaFunction,
    /// `vigil_ed25519_verify`.
    pub verify: CudaFunction,
    /// `vigil_merkle_leaves`.
    pub leaves: CudaFunction,
    /// `vigil_merkle_reduce`.
    pub reduce: CudaFunction,
}

/// A pinned host buffer and a device buffer of the same capacity.
struct Staged<T: DeviceRepr + ValidAsZeroBits> {
    host: PinnedHostSlice<T>,
    dev: CudaSlice<T>,
    cap: usize,
    /// Host allocation flags, kept when the buffer grows.
    flags: u32,
}

impl<T: DeviceRepr + ValidAsZeroBits + Copy> Staged<T> {
    /// A buffer the host fills and the GPU reads (write-combined host memory).
    fn new(
        ctx: &Arc<CudaContext>,
        stream: &Arc<CudaStream>,
        cap: usize,
    ) -> Result<Self, DriverError> {
        Self::with_host_flags(
            ctx,
            stream,
            cap,
            cudarc::driver::sys::CU_MEMHOSTALLOC_WRITECOMBINED,
        )
    }

    /// A buffer the GPU fills and the host reads (cached host memory: reading
    /// write-combined memory is uncached and slow).
    fn readback(
        ctx: &Arc<CudaContext>,
        stream: &Arc<CudaStream>,
        cap: usize,
    ) -> Result<Self, DriverError> {
        Self::with_host_flags(ctx, stream, cap, 0)
    }

    fn with_host_flags(
        ctx: &Arc<CudaContext>,
        stream: &Arc<CudaStream>,
        cap: usize,
        flags: u32,
    ) -> Result<Self, DriverError> {
        let cap = cap.max(1);
        // SAFETY: the pinned memory is only read after it has been written (uploads copy
        // exactly the bytes just written; downloads are written by the GPU first).
        let host = unsafe { ctx.alloc_pinned_with_flags::<T>(cap, flags) }?;
        let dev = stream.alloc_zeros::<T>(cap)?;
        Ok(Staged {
            host,
            dev,
            cap,
            flags,
        })
    }

    fn ensure(
        &mut self,
        ctx: &Arc<CudaContext>,
        stream: &Arc<CudaStream>,
        need: usize,
    ) -> Result<(), DriverError> {
        if need > self.cap {
            *self = Staged::with_host_flags(ctx, stream, need.next_power_of_two(), self.flags)?;
        }
        Ok(())
    }

    /// Copies `data` into the pinned buffer, then enqueues its copy to the device.
    fn upload(&mut self, stream: &Arc<CudaStream>, data: &[T]) -> Result<(), DriverError> {
        if data.is_empty() {
            return Ok(());
        }
        let n = data.len();
        self.host.as_mut_slice()?[..n].copy_from_slice(data);
        let src = &self.host.as_slice()?[..n];
        let mut dst = self.dev.slice_mut(..n);
        stream.memcpy_htod(src, &mut dst)
    }

    /// Enqueues the copy of the first `n` device elements back to the pinned buffer.
    fn download(&mut self, stream: &Arc<CudaStream>, n: usize) -> Result<(), DriverError> {
        let src = self.dev.slice(..n);
        let dst = &mut self.host.as_mut_slice()?[..n];
        stream.memcpy_dtoh(&src, dst)
    }
}

/// One batch's worth of stream and buffers.
struct Slot {
    stream: Arc<CudaStream>,
    arena: Staged<u8>,
    leaf_start: Staged<u32>,
    msg_start: Staged<u32>,
    pubkey_at: Staged<u32>,
    sig_at: Staged<u32>,
    signer_tx: Staged<u32>,
    challenge: CudaSlice<u32>,
    verdict: Staged<u8>,
    nodes: [Staged<u32>; 2],
    /// Signatures of the verification in flight (valid verdict bytes).
    verdicts: usize,
    /// Which `nodes` buffer holds the root of the Merkle work in flight.
    root_in: usize,
    /// The small-batch graphs, when enabled.
    small: Option<SmallPath>,
    /// Whether the verification in flight went through `small`.
    on_small: bool,
    /// Timing events around the kernels of the work in flight.
    kernels: (CudaEvent, CudaEvent),
    /// Whether `kernels` were recorded for the work in flight.
    timed: bool,
}

impl Slot {
    fn new(
        ctx: &Arc<CudaContext>,
        functions: &Functions,
        graphs: bool,
    ) -> Result<Slot, DriverError> {
        let stream = ctx.new_stream()?;
        let s = &stream;
        let timer = || ctx.new_event(Some(CUevent_flags::CU_EVENT_DEFAULT));
        Ok(Slot {
            arena: Staged::new(ctx, s, INITIAL_ARENA)?,
            leaf_start: Staged::new(ctx, s, INITIAL_ITEMS + 1)?,
            msg_start: Staged::new(ctx, s, INITIAL_ITEMS)?,
            pubkey_at: Staged::new(ctx, s, INITIAL_ITEMS)?,
            sig_at: Staged::new(ctx, s, INITIAL_ITEMS)?,
            signer_tx: Staged::new(ctx, s, INITIAL_ITEMS)?,
            challenge: s.alloc_zeros::<u32>(8 * INITIAL_ITEMS)?,
            verdict: Staged::readback(ctx, s, INITIAL_ITEMS)?,
            nodes: [
                Staged::readback(ctx, s, 8 * INITIAL_ITEMS)?,
                Staged::readback(ctx, s, 8 * INITIAL_ITEMS)?,
            ],
            verdicts: 0,
            root_in: 0,
            small: if graphs {
                Some(SmallPath::new(ctx, s, functions)?)
            } else {
                None
            },
            on_small: false,
            kernels: (timer()?, timer()?),
            timed: false,
            stream,
        })
    }
}

/// One GPU, ready for work.
pub struct GpuQueue {
    ctx: Arc<CudaContext>,
    functions: Functions,
    slots: Vec<Slot>,
    /// Nanoseconds this GPU has spent in kernels, summed over completed work.
    kernel_ns: Arc<AtomicU64>,
}

impl GpuQueue {
    /// Allocates the slots on `ctx` (and, with `graphs`, captures the small-batch
    /// graphs). Kernel time is added to `kernel_ns` as work completes.
    pub fn new(
        ctx: Arc<CudaContext>,
        functions: Functions,
        graphs: bool,
        kernel_ns: Arc<AtomicU64>,
    ) -> Result<GpuQueue, DriverError> {
        // SAFETY: see the module docs: every slot's buffers are used by its own stream
        // only, and the worker waits for the slot's final event before reusing them.
        unsafe { ctx.disable_event_tracking() };
        let slots = (0..SLOTS)
            .map(|_| Slot::new(&ctx, &functions, graphs))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(GpuQueue {
            ctx,
            functions,
            slots,
            kernel_ns,
        })
    }

    fn verify_commands(
        &mut self,
        slot: usize,
        batch: &Batch,
        profile: Profile,
    ) -> Result<CudaEvent, DriverError> {
        let ctx = &self.ctx;
        let s = &mut self.slots[slot];
        let st = &s.stream;
        let n = batch.signature_count();
        s.timed = false;
        s.on_small = false;
        if let Some(small) = &mut s.small {
            if small.launch(batch, profile)? {
                s.on_small = true;
                s.verdicts = n;
                return st.record_event(None);
            }
        }
        let leaves = batch.leaves();
        let off = batch.offsets();
        s.arena.ensure(ctx, st, leaves.arena().len())?;
        s.leaf_start.ensure(ctx, st, leaves.starts().len())?;
        s.msg_start.ensure(ctx, st, off.msg_start.len())?;
        for b in [&mut s.pubkey_at, &mut s.sig_at, &mut s.signer_tx] {
            b.ensure(ctx, st, n)?;
        }
        if s.challenge.len() < 8 * n {
            s.challenge = st.alloc_zeros::<u32>(8 * n.next_power_of_two())?;
        }
        s.verdict.ensure(ctx, st, n)?;
        s.arena.upload(st, leaves.arena())?;
        s.leaf_start.upload(st, leaves.starts())?;
        s.msg_start.upload(st, off.msg_start)?;
        s.pubkey_at.upload(st, off.pubkey_at)?;
        s.sig_at.upload(st, off.sig_at)?;
        s.signer_tx.upload(st, off.signer_tx)?;
        let count = u32_len(n)?;
        let cfg = grid(n, BLOCK)?;
        s.kernels.0.record(st)?;
        let mut launch = st.launch_builder(&self.functions.challenge);
        launch
            .arg(&s.arena.dev)
            .arg(&s.leaf_start.dev)
            .arg(&s.msg_start.dev)
            .arg(&s.pubkey_at.dev)
            .arg(&s.sig_at.dev)
            .arg(&s.signer_tx.dev)
            .arg(&count)
            .arg(&mut s.challenge);
        // SAFETY: the arguments match vigil_ed25519_challenge(const u8*, const u32* x5,
        // u32, u32*) in order and type, and every buffer holds at least what the kernel
        // reads or writes for `count` signatures.
        unsafe { launch.launch(cfg) }?;
        let code = vigil_kernels::profile_code(profile);
        let mut launch = st.launch_builder(&self.functions.verify);
        launch
            .arg(&s.arena.dev)
            .arg(&s.pubkey_at.dev)
            .arg(&s.sig_at.dev)
            .arg(&s.challenge)
            .arg(&count)
            .arg(&code)
            .arg(&mut s.verdict.dev);
        // SAFETY: as above, for vigil_ed25519_verify(const u8*, const u32* x3, u32, u32, u8*).
        unsafe { launch.launch(cfg) }?;
        s.kernels.1.record(st)?;
        s.timed = true;
        s.verdict.download(st, n)?;
        s.verdicts = n;
        st.record_event(None)
    }

    fn merkle_commands(&mut self, slot: usize, leaves: &Leaves) -> Result<CudaEvent, DriverError> {
        let ctx = &self.ctx;
        let s = &mut self.slots[slot];
        let st = &s.stream;
        let n = leaves.len();
        s.arena.ensure(ctx, st, leaves.arena().len())?;
        s.leaf_start.ensure(ctx, st, n + 1)?;
        let [a, b] = &mut s.nodes;
        a.ensure(ctx, st, 8 * n)?;
        b.ensure(ctx, st, 8 * n.div_ceil(2))?;
        s.arena.upload(st, leaves.arena())?;
        s.leaf_start.upload(st, leaves.starts())?;
        let count = u32_len(n)?;
        s.timed = false;
        s.kernels.0.record(st)?;
        let mut launch = st.launch_builder(&self.functions.leaves);
        launch
            .arg(&s.arena.dev)
            .arg(&s.leaf_start.dev)
            .arg(&count)
            .arg(&mut a.dev);
        // SAFETY: vigil_merkle_leaves(const u8*, const u32*, u32, u32*): 8 words per leaf.
        unsafe { launch.launch(grid(n, BLOCK)?) }?;
        let w = vigil_kernels::MERKLE_REDUCE_GROUP as usize;
        let mut count = n;
        let mut cur = 0;
        while count > 1 {
            let out = count.div_ceil(2 * w);
            let (src, dst) = if cur == 0 {
                (&*a, &mut *b)
            } else {
                (&*b, &mut *a)
            };
            let count_in = u32_len(count)?;
            let mut launch = st.launch_builder(&self.functions.reduce);
            launch.arg(&src.dev).arg(&count_in).arg(&mut dst.dev);
            let cfg = LaunchConfig {
                grid_dim: (u32_len(out)?, 1, 1),
                block_dim: (u32_len(w)?, 1, 1),
                shared_mem_bytes: 0,
            };
            // SAFETY: vigil_merkle_reduce(const u32*, u32, u32*) with the block size the
            // kernel's shared memory is sized for; `dst` holds ceil(count / 2w) nodes.
            unsafe { launch.launch(cfg) }?;
            cur = 1 - cur;
            count = out;
        }
        s.kernels.1.record(st)?;
        s.timed = true;
        s.nodes[cur].download(st, 8)?;
        s.root_in = cur;
        st.record_event(None)
    }
}

pub(crate) fn u32_len(n: usize) -> Result<u32, DriverError> {
    u32::try_from(n)
        .map_err(|_| DriverError(cudarc::driver::sys::cudaError_enum::CUDA_ERROR_INVALID_VALUE))
}

pub(crate) fn grid(items: usize, block: u32) -> Result<LaunchConfig, DriverError> {
    let blocks = u32_len(items.div_ceil(block as usize).max(1))?;
    Ok(LaunchConfig {
        grid_dim: (blocks, 1, 1),
        block_dim: (block, 1, 1),
        shared_mem_bytes: 0,
    })
}

impl DeviceQueue for GpuQueue {
    type Done = CudaEvent;
    type Error = DriverError;

    fn slots(&self) -> usize {
        self.slots.len()
    }

    fn enqueue_verify(
        &mut self,
        slot: usize,
        batch: &Batch,
        profile: Profile,
    ) -> Result<CudaEvent, Refusal<DriverError>> {
        self.verify_commands(slot, batch, profile)
            .map_err(Refusal::Failed)
    }

    fn enqueue_merkle(
        &mut self,
        slot: usize,
        leaves: &Leaves,
    ) -> Result<CudaEvent, Refusal<DriverError>> {
        self.merkle_commands(slot, leaves).map_err(Refusal::Failed)
    }

    fn wait(&mut self, slot: usize, done: CudaEvent) -> Result<(), DriverError> {
        done.synchronize()?;
        let s = &self.slots[slot];
        if s.timed {
            let ms = s.kernels.0.elapsed_ms(&s.kernels.1)?;
            let ns = Duration::try_from_secs_f32(ms / 1e3).unwrap_or_default();
            let ns = u64::try_from(ns.as_nanos()).unwrap_or(u64::MAX);
            self.kernel_ns.fetch_add(ns, Ordering::Relaxed);
        }
        Ok(())
    }

    fn verdicts(&self, slot: usize) -> &[u8] {
        let s = &self.slots[slot];
        if s.on_small {
            if let Some(small) = &s.small {
                return small.verdicts(s.verdicts);
            }
        }
        // An unreadable buffer gives no verdicts, which the worker reports as an error.
        s.verdict
            .host
            .as_slice()
            .map_or(&[][..], |v| &v[..s.verdicts.min(v.len())])
    }

    fn root(&self, slot: usize) -> Option<[u32; 8]> {
        let s = &self.slots[slot];
        let words = s.nodes[s.root_in].host.as_slice().ok()?;
        words.get(..8)?.try_into().ok()
    }
}
