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

use cudarc::driver::sys::{CUdeviceptr, CUevent_flags};
use cudarc::driver::{
    CudaContext, CudaEvent, CudaFunction, CudaSlice, CudaStream, DevicePtr as _, DeviceRepr,
    DriverError, LaunchConfig, PinnedHostSlice, PushKernelArg as _, ValidAsZeroBits,
};
use vigil_core::{Batch, Leaves, Profile};
use vigil_kernels::launch::{self, Binding, Buffer, Element, Entry, HostData, Launch, Plan, Step};
use vigil_kernels::names;
use vigil_runtime::{DeviceQueue, Refusal};

use crate::small::SmallPath;

/// Batches one GPU holds at once (each with its own stream and buffers).
pub const SLOTS: usize = 4;
/// Initial buffer sizes; they grow on demand.
const INITIAL_ARENA: usize = 4 << 20;
const INITIAL_ITEMS: usize = 16 << 10;

/// The kernels of both programs on one GPU.
pub struct Functions {
    /// The Ed25519 kernels, in `launch::ED25519` order.
    pub ed25519: Vec<CudaFunction>,
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

/// One of a slot's buffers, typed as the kernels take it.
enum Buf {
    U8(Staged<u8>),
    U32(Staged<u32>),
    /// A buffer only the GPU touches (k per signature).
    Device(CudaSlice<u32>),
}

impl Buf {
    /// The buffer `b` at its initial size: pinned write-combined host memory beside it
    /// if the host writes it, cached pinned memory if the host reads it back, none if
    /// only the GPU touches it.
    fn new(ctx: &Arc<CudaContext>, st: &Arc<CudaStream>, b: Buffer) -> Result<Buf, DriverError> {
        let cap = match b {
            Buffer::Arena => INITIAL_ARENA,
            Buffer::LeafStart => INITIAL_ITEMS + 1,
            Buffer::Challenge | Buffer::NodesA | Buffer::NodesB => 8 * INITIAL_ITEMS,
            _ => INITIAL_ITEMS,
        };
        if !b.host_writes() && !b.host_reads() {
            return Ok(Buf::Device(st.alloc_zeros::<u32>(cap)?));
        }
        Ok(match (b.element(), b.host_reads()) {
            (Element::U8, false) => Buf::U8(Staged::new(ctx, st, cap)?),
            (Element::U8, true) => Buf::U8(Staged::readback(ctx, st, cap)?),
            (Element::U32, false) => Buf::U32(Staged::new(ctx, st, cap)?),
            (Element::U32, true) => Buf::U32(Staged::readback(ctx, st, cap)?),
        })
    }

    fn ensure(
        &mut self,
        ctx: &Arc<CudaContext>,
        st: &Arc<CudaStream>,
        need: usize,
    ) -> Result<(), DriverError> {
        match self {
            Buf::U8(b) => b.ensure(ctx, st, need),
            Buf::U32(b) => b.ensure(ctx, st, need),
            Buf::Device(d) if d.len() < need => {
                *d = st.alloc_zeros::<u32>(need.next_power_of_two())?;
                Ok(())
            }
            Buf::Device(_) => Ok(()),
        }
    }

    fn upload(&mut self, st: &Arc<CudaStream>, data: HostData<'_>) -> Result<(), DriverError> {
        match (self, data) {
            (Buf::U8(b), HostData::U8(d)) => b.upload(st, d),
            (Buf::U32(b), HostData::U32(d)) => b.upload(st, d),
            // The contract gives every buffer one element type, and uploads only to
            // buffers the host writes.
            _ => Err(invalid()),
        }
    }

    fn download(&mut self, st: &Arc<CudaStream>, n: usize) -> Result<(), DriverError> {
        match self {
            Buf::U8(b) => b.download(st, n),
            Buf::U32(b) => b.download(st, n),
            Buf::Device(_) => Err(invalid()),
        }
    }

    /// The device address, for a kernel argument.
    fn addr(&self, st: &CudaStream) -> CUdeviceptr {
        // Event tracking is off (see the module docs), so the returned guard records
        // nothing and may go at once.
        match self {
            Buf::U8(b) => b.dev.device_ptr(st).0,
            Buf::U32(b) => b.dev.device_ptr(st).0,
            Buf::Device(d) => d.device_ptr(st).0,
        }
    }
}

fn invalid() -> DriverError {
    DriverError(cudarc::driver::sys::cudaError_enum::CUDA_ERROR_INVALID_VALUE)
}

/// A kernel argument's value: a device address or a `u32`.
#[derive(Clone, Copy)]
enum ArgValue {
    Ptr(CUdeviceptr),
    U32(u32),
}

/// Launches `l` (whose entry is `function`) on `st` with its arguments in the launch
/// contract's order; `addr` gives each buffer's device address.
pub(crate) fn launch(
    st: &Arc<CudaStream>,
    function: &CudaFunction,
    l: &Launch,
    addr: impl Fn(Buffer) -> CUdeviceptr,
) -> Result<(), DriverError> {
    let values: Vec<ArgValue> = l
        .arguments()
        .map(|a| match a {
            Binding::Buffer(b) => ArgValue::Ptr(addr(b)),
            Binding::U32(v) => ArgValue::U32(v),
        })
        .collect();
    let mut builder = st.launch_builder(function);
    for value in &values {
        match value {
            ArgValue::Ptr(p) => builder.arg(p),
            ArgValue::U32(v) => builder.arg(v),
        };
    }
    let cfg = LaunchConfig {
        grid_dim: (u32_len(l.groups())?, 1, 1),
        block_dim: (u32_len(l.group)?, 1, 1),
        shared_mem_bytes: 0,
    };
    // SAFETY: the arguments are the entry's parameters in order and type (the launch
    // contract, checked against the kernel sources): each pointer the device address of
    // a buffer holding at least what the plan sized it for, passed by value as the
    // 8-byte pointer the kernel declares; each value a u32. The work shape is the
    // contract's (a reduce launch's block is the group its shared memory is sized for).
    unsafe { builder.launch(cfg) }?;
    Ok(())
}

/// One batch's worth of stream and buffers.
struct Slot {
    stream: Arc<CudaStream>,
    /// The contract's buffers, by `Buffer::index`.
    bufs: Vec<Buf>,
    /// Where the result of the work in flight will be: buffer and elements.
    result: (Buffer, usize),
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
            bufs: Buffer::ALL
                .iter()
                .map(|&b| Buf::new(ctx, s, b))
                .collect::<Result<Vec<_>, _>>()?,
            result: (Buffer::Verdict, 0),
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

impl Functions {
    /// The loaded function of `entry` (the CUDA path always fuses Merkle levels, so it
    /// loads no per-level kernel).
    fn of(&self, entry: &Entry) -> Result<&CudaFunction, DriverError> {
        let missing = DriverError(cudarc::driver::sys::cudaError_enum::CUDA_ERROR_NOT_FOUND);
        if let Some(i) = launch::ED25519.iter().position(|e| e.name == entry.name) {
            return self.ed25519.get(i).ok_or(missing);
        }
        match entry.name {
            names::MERKLE_LEAVES => Ok(&self.leaves),
            names::MERKLE_REDUCE => Ok(&self.reduce),
            _ => Err(DriverError(
                cudarc::driver::sys::cudaError_enum::CUDA_ERROR_NOT_FOUND,
            )),
        }
    }
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

    /// Enqueues a plan's commands on `slot`'s stream, kernels between the slot's two
    /// timing events; returns the event of its last command.
    fn enqueue(&mut self, slot: usize, plan: &Plan<'_>) -> Result<CudaEvent, DriverError> {
        let ctx = &self.ctx;
        let functions = &self.functions;
        let s = &mut self.slots[slot];
        let st = Arc::clone(&s.stream);
        for b in Buffer::ALL {
            let need = plan.sizes[b.index()];
            if need > 0 {
                s.bufs[b.index()].ensure(ctx, &st, need)?;
            }
        }
        let launches = plan.launches().count();
        let mut launched = 0;
        s.timed = false;
        for step in &plan.steps {
            match *step {
                Step::Upload(b, data) => s.bufs[b.index()].upload(&st, data)?,
                Step::Launch(l) => {
                    if launched == 0 {
                        s.kernels.0.record(&st)?;
                    }
                    let bufs = &s.bufs;
                    launch(&st, functions.of(l.entry)?, &l, |b| {
                        bufs[b.index()].addr(&st)
                    })?;
                    launched += 1;
                    if launched == launches {
                        s.kernels.1.record(&st)?;
                        s.timed = true;
                    }
                }
                Step::Download(b, n) => {
                    s.bufs[b.index()].download(&st, n)?;
                    s.result = (b, n);
                }
            }
        }
        st.record_event(None)
    }

    fn verify_commands(
        &mut self,
        slot: usize,
        batch: &Batch,
        profile: Profile,
    ) -> Result<CudaEvent, Refusal<DriverError>> {
        let s = &mut self.slots[slot];
        s.timed = false;
        s.on_small = false;
        if let Some(small) = &mut s.small {
            if small.launch(batch, profile).map_err(Refusal::Failed)? {
                s.on_small = true;
                s.result = (Buffer::Verdict, batch.signature_count());
                return s.stream.record_event(None).map_err(Refusal::Failed);
            }
        }
        let plan = Plan::verify(batch, profile).map_err(|e| Refusal::Unfit(e.to_string()))?;
        self.enqueue(slot, &plan).map_err(Refusal::Failed)
    }
}

pub(crate) fn u32_len(n: usize) -> Result<u32, DriverError> {
    u32::try_from(n).map_err(|_| invalid())
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
    }

    fn enqueue_merkle(
        &mut self,
        slot: usize,
        leaves: &Leaves,
    ) -> Result<CudaEvent, Refusal<DriverError>> {
        let plan = Plan::merkle(leaves, true).map_err(|e| Refusal::Unfit(e.to_string()))?;
        self.slots[slot].on_small = false;
        self.enqueue(slot, &plan).map_err(Refusal::Failed)
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
        let (_, n) = s.result;
        if s.on_small {
            if let Some(small) = &s.small {
                return small.verdicts(n);
            }
        }
        // An unreadable buffer gives no verdicts, which the worker reports as a fault.
        match &s.bufs[Buffer::Verdict.index()] {
            Buf::U8(b) => b.host.as_slice().map_or(&[][..], |v| &v[..n.min(v.len())]),
            _ => &[],
        }
    }

    fn root(&self, slot: usize) -> Option<[u32; 8]> {
        let s = &self.slots[slot];
        let (buffer, _) = s.result;
        match &s.bufs[buffer.index()] {
            Buf::U32(b) => b.host.as_slice().ok()?.get(..8)?.try_into().ok(),
            _ => None,
        }
    }
}
