//! One OpenCL device: its context, compiled programs, and slots of reusable buffers.
//!
//! [`Opened`] implements [`vigil_runtime::DeviceQueue`]; the shared worker drives
//! it. Each slot has its own in-order command queue and buffers: a batch is enqueued as
//! non-blocking commands (copy in, kernels, copy out), so one slot's copies overlap
//! another's kernels. The flat batch (arena and offset arrays) is copied as it is, with
//! no per-transaction work on the host. Buffers grow to the next power of two when a
//! larger batch arrives and are then reused; steady traffic allocates nothing.

// This module is the driver's FFI boundary: opencl3 marks enqueue, buffer creation and
// kernel arguments unsafe because OpenCL cannot check them. Each use says why it holds.
#![allow(unsafe_code)]

use std::ffi::c_void;
use std::path::Path;
use std::ptr;

use opencl3::command_queue::CommandQueue;
use opencl3::context::Context;
use opencl3::device::Device;
use opencl3::error_codes::ClError;
use opencl3::event::Event;
use opencl3::kernel::Kernel;
use opencl3::memory::{Buffer as ClBuffer, ClMem as _, CL_MEM_READ_ONLY, CL_MEM_READ_WRITE};
use opencl3::program::Program;
use opencl3::types::{cl_mem, CL_NON_BLOCKING};
use vigil_core::{Batch, Leaves, Profile};
use vigil_kernels::launch::{self, Binding, Buffer, Element, Entry, HostData, Plan, Step};
use vigil_kernels::names;
use vigil_runtime::{DeviceQueue, Refusal};

use crate::pocl::{self, Turn};
use crate::DeviceSummary;
use vigil_kernels::cache;

/// Batches one device holds at once (each with its own queue and buffers).
pub const SLOTS: usize = 3;
/// Options for `clBuildProgram`. Part of the cache key.
const BUILD_OPTIONS: &str = "-cl-std=CL1.2";
/// Initial buffer sizes; they grow on demand.
const INITIAL_ARENA: usize = 4 << 20;
const INITIAL_ITEMS: usize = 16 << 10;

/// The compiled programs and their kernels on one device.
struct Kernels {
    /// The Ed25519 kernels, in `launch::ED25519` order.
    ed25519: Vec<Kernel>,
    leaves: Kernel,
    level: Kernel,
    /// The fused multi-level kernel, when the device allows its work-group size.
    reduce: Option<Kernel>,
    // The programs must outlive their kernels.
    _programs: [Program; 2],
}

/// Everything the worker owns, built on the opening thread so that build errors are
/// reported to the caller.
pub struct Opened {
    context: Context,
    kernels: Kernels,
    slots: Vec<Slot>,
    max_alloc: u64,
    /// Whether each batch must hold the process's [`Turn`] (a PoCL with the cache bug).
    serial: bool,
    /// The turn held by the batch in flight, when `serial`.
    turn: Option<Turn>,
    /// Whether each program came from the on-disk cache.
    pub from_cache: bool,
}

/// Builds the programs (from the cache when possible) and the slots.
pub fn open(
    device: &Device,
    summary: &DeviceSummary,
    cache_dir: Option<&Path>,
) -> Result<Opened, String> {
    let context = Context::from_device(device).map_err(|e| format!("creating a context: {e}"))?;
    let ident = [
        summary.name.as_str(),
        summary.vendor.as_str(),
        summary.driver_version.as_str(),
        summary.device_version.as_str(),
        summary.platform_version.as_str(),
    ];
    let (ed, ed_cached) = build(&context, device, &vigil_kernels::ED25519, cache_dir, ident)?;
    let (mk, mk_cached) = build(&context, device, &vigil_kernels::MERKLE, cache_dir, ident)?;
    let kernel = |p: &Program, name: &str| {
        Kernel::create(p, name).map_err(|e| format!("kernel {name}: {e}"))
    };
    let reduce = kernel(&mk, names::MERKLE_REDUCE)?;
    let reduce_group = vigil_kernels::MERKLE_REDUCE_GROUP as usize;
    let reduce_ok = reduce
        .get_work_group_size(device.id())
        .is_ok_and(|max| max >= reduce_group);
    if !reduce_ok {
        tracing::info!(device = %summary.name, "work-group too small for the fused Merkle kernel; using one launch per level");
    }
    let kernels = Kernels {
        ed25519: launch::ED25519
            .iter()
            .map(|e| kernel(&ed, e.name))
            .collect::<Result<_, _>>()?,
        leaves: kernel(&mk, names::MERKLE_LEAVES)?,
        level: kernel(&mk, names::MERKLE_LEVEL)?,
        reduce: reduce_ok.then_some(reduce),
        _programs: [ed, mk],
    };
    let serial = pocl::needs_serial_commands(&summary.platform_version);
    if serial {
        tracing::info!(
            device = %summary.name,
            platform = %summary.platform_version,
            "PoCL before 6.0: one batch in flight at a time in this process (its kernel cache is not safe for overlapping commands)"
        );
    }
    let count = if serial { 1 } else { SLOTS };
    let mut slots = Vec::with_capacity(count);
    for _ in 0..count {
        slots.push(Slot::new(&context).map_err(|e| format!("allocating buffers: {e}"))?);
    }
    Ok(Opened {
        max_alloc: device.max_mem_alloc_size().unwrap_or(u64::MAX),
        context,
        kernels,
        slots,
        serial,
        turn: None,
        from_cache: ed_cached && mk_cached,
    })
}

/// Builds one program for one device, through the on-disk binary cache.
fn build(
    context: &Context,
    device: &Device,
    program: &vigil_kernels::Program,
    cache_dir: Option<&Path>,
    ident: [&str; 5],
) -> Result<(Program, bool), String> {
    let key = cache::Key {
        program: program.name,
        source_hash: program.source_hash(),
        device: ident,
        options: BUILD_OPTIONS,
    };
    if let Some(binary) = cache_dir.and_then(|dir| cache::load(dir, &key)) {
        // SAFETY: the context was created from exactly this device.
        let built = unsafe { Program::create_from_binary(context, &[device.id()], &[&binary]) }
            .and_then(|mut p| p.build(&[device.id()], BUILD_OPTIONS).map(|()| p));
        match built {
            Ok(p) => return Ok((p, true)),
            Err(e) => {
                tracing::warn!(program = program.name, error = %e, "cached program binary rejected; rebuilding from source")
            }
        }
    }
    let started = std::time::Instant::now();
    let built = Program::create_and_build_from_source(context, program.source, BUILD_OPTIONS)
        .map_err(|e| format!("building {}: {e}", program.name))?;
    tracing::info!(
        program = program.name,
        seconds = started.elapsed().as_secs_f64(),
        "OpenCL program built from source"
    );
    if let Some(dir) = cache_dir {
        match built.get_binaries() {
            Ok(bins) if bins.len() == 1 && !bins[0].is_empty() => {
                if let Err(e) = cache::store(dir, &key, &bins[0]) {
                    tracing::warn!(dir = %dir.display(), error = %e, "could not cache the program binary");
                }
            }
            Ok(_) => tracing::debug!(
                program = program.name,
                "driver gave no program binary to cache"
            ),
            Err(e) => {
                tracing::debug!(program = program.name, error = %e, "could not read the program binary")
            }
        }
    }
    Ok((built, false))
}

/// A device buffer that grows to the next power of two and is otherwise reused.
struct Grow<T> {
    buf: ClBuffer<T>,
    cap: usize,
    flags: u64,
}

impl<T> Grow<T> {
    fn new(context: &Context, flags: u64, cap: usize) -> Result<Self, ClError> {
        Ok(Grow {
            buf: alloc(context, flags, cap)?,
            cap,
            flags,
        })
    }

    fn ensure(&mut self, context: &Context, need: usize) -> Result<(), ClError> {
        if need > self.cap {
            let cap = need.next_power_of_two();
            self.buf = alloc(context, self.flags, cap)?;
            self.cap = cap;
        }
        Ok(())
    }

    fn mem(&self) -> cl_mem {
        self.buf.get()
    }
}

fn alloc<T>(context: &Context, flags: u64, count: usize) -> Result<ClBuffer<T>, ClError> {
    // SAFETY: no host pointer is passed (and no USE/COPY_HOST_PTR flag), which is the
    // valid form for a device-side allocation.
    unsafe { ClBuffer::create(context, flags, count.max(1), ptr::null_mut::<c_void>()) }
}

/// One of a slot's buffers, typed as the kernels take it.
enum Buf {
    U8(Grow<u8>),
    U32(Grow<u32>),
}

impl Buf {
    /// The buffer `b` at its initial size: read-only for the device if the host writes
    /// it, read-write otherwise.
    fn new(context: &Context, b: Buffer) -> Result<Buf, ClError> {
        let flags = if b.host_writes() {
            CL_MEM_READ_ONLY
        } else {
            CL_MEM_READ_WRITE
        };
        let cap = match b {
            Buffer::Arena => INITIAL_ARENA,
            Buffer::LeafStart => INITIAL_ITEMS + 1,
            Buffer::Challenge | Buffer::NodesA | Buffer::NodesB => 8 * INITIAL_ITEMS,
            _ => INITIAL_ITEMS,
        };
        Ok(match b.element() {
            Element::U8 => Buf::U8(Grow::new(context, flags, cap)?),
            Element::U32 => Buf::U32(Grow::new(context, flags, cap)?),
        })
    }

    fn ensure(&mut self, context: &Context, need: usize) -> Result<(), ClError> {
        match self {
            Buf::U8(g) => g.ensure(context, need),
            Buf::U32(g) => g.ensure(context, need),
        }
    }

    fn mem(&self) -> cl_mem {
        match self {
            Buf::U8(g) => g.mem(),
            Buf::U32(g) => g.mem(),
        }
    }
}

/// One batch's worth of queue and buffers.
struct Slot {
    queue: CommandQueue,
    /// The contract's buffers, by `Buffer::index`.
    bufs: Vec<Buf>,
    /// Verdicts read back (a non-blocking read writes here; not resized while in flight).
    host_verdict: Vec<u8>,
    /// The root read back, boxed so its address is stable.
    host_root: Box<[u32; 8]>,
}

impl Slot {
    fn new(context: &Context) -> Result<Slot, ClError> {
        #[allow(deprecated)] // clCreateCommandQueue: the call OpenCL 1.2 drivers have.
        let queue = CommandQueue::create_default(context, 0)?;
        let bufs = Buffer::ALL
            .iter()
            .map(|&b| Buf::new(context, b))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Slot {
            queue,
            bufs,
            host_verdict: Vec::with_capacity(INITIAL_ITEMS),
            host_root: Box::new([0; 8]),
        })
    }

    /// Enqueues `kernel` over `global` work-items in groups of `group`.
    fn launch(&self, kernel: &Kernel, global: usize, group: usize) -> Result<Event, ClError> {
        let global = [global];
        let local = [group];
        // SAFETY: the kernel's arguments were all set just before, with types matching
        // its signature (the launch contract, checked against the sources); the work
        // sizes are one-dimensional arrays that outlive the call.
        unsafe {
            self.queue.enqueue_nd_range_kernel(
                kernel.get(),
                1,
                ptr::null(),
                global.as_ptr(),
                local.as_ptr(),
                &[],
            )
        }
    }

    /// Enqueues a non-blocking copy of `data` into buffer `b`.
    ///
    /// SAFETY (caller): `data` must stay valid until the slot's final event completes
    /// (the in-order queue orders the copy before the kernels that read it).
    unsafe fn upload(&mut self, b: Buffer, data: HostData<'_>) -> Result<(), ClError> {
        if data.is_empty() {
            return Ok(());
        }
        let queue = &self.queue;
        match (&mut self.bufs[b.index()], data) {
            (Buf::U8(g), HostData::U8(d)) => {
                unsafe { queue.enqueue_write_buffer(&mut g.buf, CL_NON_BLOCKING, 0, d, &[]) }
                    .map(drop)
            }
            (Buf::U32(g), HostData::U32(d)) => {
                unsafe { queue.enqueue_write_buffer(&mut g.buf, CL_NON_BLOCKING, 0, d, &[]) }
                    .map(drop)
            }
            // The contract gives every buffer one element type.
            _ => Err(ClError(opencl3::error_codes::CL_INVALID_VALUE)),
        }
    }

    /// Enqueues the non-blocking read of the first `n` elements of `b`: verdict bytes
    /// into `host_verdict`, or a root's eight words into `host_root`.
    fn download(&mut self, b: Buffer, n: usize) -> Result<Event, ClError> {
        let queue = &self.queue;
        match &self.bufs[b.index()] {
            Buf::U8(g) => {
                self.host_verdict.clear();
                self.host_verdict.resize(n, 0xff);
                // SAFETY: `host_verdict` is not touched again until the event completes.
                unsafe {
                    queue.enqueue_read_buffer(
                        &g.buf,
                        CL_NON_BLOCKING,
                        0,
                        &mut self.host_verdict,
                        &[],
                    )
                }
            }
            Buf::U32(g) if n == 8 => {
                // SAFETY: `host_root` is boxed (stable address) and not touched until the
                // event completes.
                unsafe {
                    queue.enqueue_read_buffer(
                        &g.buf,
                        CL_NON_BLOCKING,
                        0,
                        &mut self.host_root[..],
                        &[],
                    )
                }
            }
            Buf::U32(_) => Err(ClError(opencl3::error_codes::CL_INVALID_VALUE)),
        }
    }
}

/// Sets kernel argument `i` to a buffer.
fn arg_mem(kernel: &Kernel, i: u32, mem: cl_mem) -> Result<(), ClError> {
    // SAFETY: a cl_mem handle is what a global-pointer argument takes.
    unsafe { kernel.set_arg(i, &mem) }
}

/// Sets kernel argument `i` to a `uint`.
fn arg_u32(kernel: &Kernel, i: u32, value: u32) -> Result<(), ClError> {
    // SAFETY: a u32 is what a `u32` (OpenCL `uint`) argument takes.
    unsafe { kernel.set_arg(i, &value) }
}

/// Why a batch cannot go to this device at all (without the device being at fault).
fn too_large(max_alloc: u64, need: usize) -> Option<String> {
    (need as u64 > max_alloc)
        .then(|| format!("batch needs a {need}-byte device buffer, the device allows {max_alloc}"))
}

impl Opened {
    /// The kernel of `entry`.
    fn kernel(&self, entry: &Entry) -> Result<&Kernel, ClError> {
        let k = &self.kernels;
        if let Some(i) = launch::ED25519.iter().position(|e| e.name == entry.name) {
            return k
                .ed25519
                .get(i)
                .ok_or(ClError(opencl3::error_codes::CL_INVALID_KERNEL_NAME));
        }
        match entry.name {
            names::MERKLE_LEAVES => Ok(&k.leaves),
            names::MERKLE_LEVEL => Ok(&k.level),
            names::MERKLE_REDUCE => k
                .reduce
                .as_ref()
                .ok_or(ClError(opencl3::error_codes::CL_INVALID_KERNEL_NAME)),
            _ => Err(ClError(opencl3::error_codes::CL_INVALID_KERNEL_NAME)),
        }
    }

    /// Enqueues a plan's commands on `slot`'s queue; returns the event of its result.
    ///
    /// The plan's uploads borrow the batch, which the in-flight record keeps alive until
    /// the returned event has completed.
    fn enqueue(&mut self, slot: usize, plan: &Plan<'_>) -> Result<Event, ClError> {
        for b in Buffer::ALL {
            let need = plan.sizes[b.index()];
            if need > 0 {
                self.slots[slot].bufs[b.index()].ensure(&self.context, need)?;
            }
        }
        let mut last = None;
        for step in &plan.steps {
            match *step {
                // SAFETY: the data is the batch's, kept alive until the final event.
                Step::Upload(b, data) => unsafe { self.slots[slot].upload(b, data) }?,
                Step::Launch(l) => {
                    let kernel = self.kernel(l.entry)?;
                    let s = &self.slots[slot];
                    for (i, arg) in (0u32..).zip(l.arguments()) {
                        match arg {
                            Binding::Buffer(b) => arg_mem(kernel, i, s.bufs[b.index()].mem())?,
                            Binding::U32(v) => arg_u32(kernel, i, v)?,
                        }
                    }
                    s.launch(kernel, l.global, l.group)?;
                }
                Step::Download(b, n) => last = Some(self.slots[slot].download(b, n)?),
            }
        }
        self.slots[slot].queue.flush()?;
        last.ok_or(ClError(opencl3::error_codes::CL_INVALID_OPERATION))
    }

    /// Plans `plan` for this device: `Unfit` if its largest buffer is past the device's
    /// allocation limit or its counts past a launch's, else its commands enqueued.
    fn run(
        &mut self,
        slot: usize,
        plan: Result<Plan<'_>, vigil_kernels::launch::TooLarge>,
    ) -> Result<Event, Refusal<ClError>> {
        let plan = plan.map_err(|e| Refusal::Unfit(e.to_string()))?;
        if let Some(why) = too_large(self.max_alloc, plan.largest_buffer_bytes()) {
            return Err(Refusal::Unfit(why));
        }
        if self.serial {
            self.turn = Some(Turn::take());
        }
        let enqueued = self.enqueue(slot, &plan).map_err(Refusal::Failed);
        if enqueued.is_err() {
            // Whatever was enqueued before the failure still runs; let it end first.
            if let Some(queue) = self.slots.get(slot).map(|s| &s.queue) {
                let _ = queue.finish();
            }
            self.turn = None;
        }
        enqueued
    }
}

impl DeviceQueue for Opened {
    type Done = Event;
    type Error = ClError;

    fn slots(&self) -> usize {
        self.slots.len()
    }

    fn enqueue_verify(
        &mut self,
        slot: usize,
        batch: &Batch,
        profile: Profile,
    ) -> Result<Event, Refusal<ClError>> {
        self.run(slot, Plan::verify(batch, profile))
    }

    fn enqueue_merkle(&mut self, slot: usize, leaves: &Leaves) -> Result<Event, Refusal<ClError>> {
        let fused = self.kernels.reduce.is_some();
        self.run(slot, Plan::merkle(leaves, fused))
    }

    fn wait(&mut self, _slot: usize, done: Event) -> Result<(), ClError> {
        let waited = done.wait();
        self.turn = None;
        waited
    }

    fn verdicts(&self, slot: usize) -> &[u8] {
        &self.slots[slot].host_verdict
    }

    fn root(&self, slot: usize) -> Option<[u32; 8]> {
        Some(*self.slots[slot].host_root)
    }
}
