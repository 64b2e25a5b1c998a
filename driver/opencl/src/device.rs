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
use opencl3::memory::{Buffer, ClMem as _, CL_MEM_READ_ONLY, CL_MEM_READ_WRITE};
use opencl3::program::Program;
use opencl3::types::{cl_mem, CL_NON_BLOCKING};
use vigil_core::{Batch, Leaves, Profile};
use vigil_kernels::names;
use vigil_runtime::{DeviceQueue, Refusal};

use crate::DeviceSummary;
use vigil_kernels::cache;

/// Batches one device holds at once (each with its own queue and buffers).
pub const SLOTS: usize = 3;
/// Work-group size for the one-item-per-signature and one-item-per-leaf kernels.
const GROUP: usize = 64;
/// Options for `clBuildProgram`. Part of the cache key.
const BUILD_OPTIONS: &str = "-cl-std=CL1.2";
/// Initial buffer sizes; they grow on demand.
const INITIAL_ARENA: usize = 4 << 20;
const INITIAL_ITEMS: usize = 16 << 10;

/// The compiled programs and their kernels on one device.
struct Kernels {
    challenge: Kernel,
    verify: Kernel,
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
        challenge: kernel(&ed, names::ED25519_CHALLENGE)?,
        verify: kernel(&ed, names::ED25519_VERIFY)?,
        leaves: kernel(&mk, names::MERKLE_LEAVES)?,
        level: kernel(&mk, names::MERKLE_LEVEL)?,
        reduce: reduce_ok.then_some(reduce),
        _programs: [ed, mk],
    };
    let mut slots = Vec::with_capacity(SLOTS);
    for _ in 0..SLOTS {
        slots.push(Slot::new(&context).map_err(|e| format!("allocating buffers: {e}"))?);
    }
    Ok(Opened {
        max_alloc: device.max_mem_alloc_size().unwrap_or(u64::MAX),
        context,
        kernels,
        slots,
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
    buf: Buffer<T>,
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

fn alloc<T>(context: &Context, flags: u64, count: usize) -> Result<Buffer<T>, ClError> {
    // SAFETY: no host pointer is passed (and no USE/COPY_HOST_PTR flag), which is the
    // valid form for a device-side allocation.
    unsafe { Buffer::create(context, flags, count.max(1), ptr::null_mut::<c_void>()) }
}

/// One batch's worth of queue and buffers.
struct Slot {
    queue: CommandQueue,
    arena: Grow<u8>,
    leaf_start: Grow<u32>,
    msg_start: Grow<u32>,
    pubkey_at: Grow<u32>,
    sig_at: Grow<u32>,
    signer_tx: Grow<u32>,
    challenge: Grow<u32>,
    verdict: Grow<u8>,
    nodes: [Grow<u32>; 2],
    /// Verdicts read back (a non-blocking read writes here; not resized while in flight).
    host_verdict: Vec<u8>,
    /// The root read back, boxed so its address is stable.
    host_root: Box<[u32; 8]>,
}

impl Slot {
    fn new(context: &Context) -> Result<Slot, ClError> {
        #[allow(deprecated)] // clCreateCommandQueue: the call OpenCL 1.2 drivers have.
        let queue = CommandQueue::create_default(context, 0)?;
        let ro = CL_MEM_READ_ONLY;
        let rw = CL_MEM_READ_WRITE;
        Ok(Slot {
            queue,
            arena: Grow::new(context, ro, INITIAL_ARENA)?,
            leaf_start: Grow::new(context, ro, INITIAL_ITEMS + 1)?,
            msg_start: Grow::new(context, ro, INITIAL_ITEMS)?,
            pubkey_at: Grow::new(context, ro, INITIAL_ITEMS)?,
            sig_at: Grow::new(context, ro, INITIAL_ITEMS)?,
            signer_tx: Grow::new(context, ro, INITIAL_ITEMS)?,
            challenge: Grow::new(context, rw, 8 * INITIAL_ITEMS)?,
            verdict: Grow::new(context, rw, INITIAL_ITEMS)?,
            nodes: [
                Grow::new(context, rw, 8 * INITIAL_ITEMS)?,
                Grow::new(context, rw, 8 * INITIAL_ITEMS)?,
            ],
            host_verdict: Vec::with_capacity(INITIAL_ITEMS),
            host_root: Box::new([0; 8]),
        })
    }

    /// Enqueues `kernel` over `items` work-items (rounded up to whole groups).
    fn launch(&self, kernel: &Kernel, items: usize, group: usize) -> Result<Event, ClError> {
        let global = items.div_ceil(group) * group;
        let global = [global];
        let local = [group];
        // SAFETY: the kernel's arguments were all set just before, with types matching
        // its signature; the work sizes are one-dimensional arrays that outlive the call.
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
}

/// Enqueues a non-blocking copy of `data` into `buf` on `queue`.
///
/// SAFETY (caller): `data` must stay valid until the slot's final event completes (the
/// in-order queue orders the copy before the kernels that read it).
unsafe fn write<T>(queue: &CommandQueue, buf: &mut Grow<T>, data: &[T]) -> Result<(), ClError> {
    if data.is_empty() {
        return Ok(());
    }
    unsafe { queue.enqueue_write_buffer(&mut buf.buf, CL_NON_BLOCKING, 0, data, &[]) }.map(drop)
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

fn u32_len(n: usize) -> Result<u32, ClError> {
    u32::try_from(n).map_err(|_| ClError(opencl3::error_codes::CL_INVALID_VALUE))
}

impl Opened {
    /// Enqueues verification of a batch with at least one signature.
    fn verify_commands(
        &mut self,
        slot: usize,
        batch: &Batch,
        profile: Profile,
    ) -> Result<Event, ClError> {
        let s = &mut self.slots[slot];
        let ctx = &self.context;
        let n = batch.signature_count();
        let leaves = batch.leaves();
        let off = batch.offsets();
        s.arena.ensure(ctx, leaves.arena().len())?;
        s.leaf_start.ensure(ctx, leaves.starts().len())?;
        s.msg_start.ensure(ctx, off.msg_start.len())?;
        for b in [&mut s.pubkey_at, &mut s.sig_at, &mut s.signer_tx] {
            b.ensure(ctx, n)?;
        }
        s.challenge.ensure(ctx, 8 * n)?;
        s.verdict.ensure(ctx, n)?;
        // SAFETY: the data is the batch's, which the in-flight record keeps alive until
        // the slot's final event has completed.
        unsafe {
            write(&s.queue, &mut s.arena, leaves.arena())?;
            write(&s.queue, &mut s.leaf_start, leaves.starts())?;
            write(&s.queue, &mut s.msg_start, off.msg_start)?;
            write(&s.queue, &mut s.pubkey_at, off.pubkey_at)?;
            write(&s.queue, &mut s.sig_at, off.sig_at)?;
            write(&s.queue, &mut s.signer_tx, off.signer_tx)?;
        }
        let count = u32_len(n)?;
        let k = &self.kernels.challenge;
        arg_mem(k, 0, s.arena.mem())?;
        arg_mem(k, 1, s.leaf_start.mem())?;
        arg_mem(k, 2, s.msg_start.mem())?;
        arg_mem(k, 3, s.pubkey_at.mem())?;
        arg_mem(k, 4, s.sig_at.mem())?;
        arg_mem(k, 5, s.signer_tx.mem())?;
        arg_u32(k, 6, count)?;
        arg_mem(k, 7, s.challenge.mem())?;
        s.launch(k, n, GROUP)?;
        let v = &self.kernels.verify;
        arg_mem(v, 0, s.arena.mem())?;
        arg_mem(v, 1, s.pubkey_at.mem())?;
        arg_mem(v, 2, s.sig_at.mem())?;
        arg_mem(v, 3, s.challenge.mem())?;
        arg_u32(v, 4, count)?;
        arg_u32(v, 5, vigil_kernels::profile_code(profile))?;
        arg_mem(v, 6, s.verdict.mem())?;
        s.launch(v, n, GROUP)?;
        s.host_verdict.clear();
        s.host_verdict.resize(n, 0xff);
        // SAFETY: `host_verdict` is not touched again until the returned event completes.
        let event = unsafe {
            s.queue.enqueue_read_buffer(
                &s.verdict.buf,
                CL_NON_BLOCKING,
                0,
                &mut s.host_verdict,
                &[],
            )
        }?;
        s.queue.flush()?;
        Ok(event)
    }

    /// Enqueues the Merkle root of at least one leaf.
    fn merkle_commands(&mut self, slot: usize, leaves: &Leaves) -> Result<Event, ClError> {
        let s = &mut self.slots[slot];
        let ctx = &self.context;
        let n = leaves.len();
        s.arena.ensure(ctx, leaves.arena().len())?;
        s.leaf_start.ensure(ctx, n + 1)?;
        s.nodes[0].ensure(ctx, 8 * n)?;
        s.nodes[1].ensure(ctx, 8 * n.div_ceil(2))?;
        // SAFETY: the leaves are kept alive by the in-flight record until the final event.
        unsafe {
            write(&s.queue, &mut s.arena, leaves.arena())?;
            write(&s.queue, &mut s.leaf_start, leaves.starts())?;
        }
        let k = &self.kernels.leaves;
        arg_mem(k, 0, s.arena.mem())?;
        arg_mem(k, 1, s.leaf_start.mem())?;
        arg_u32(k, 2, u32_len(n)?)?;
        arg_mem(k, 3, s.nodes[0].mem())?;
        s.launch(k, n, GROUP)?;
        let mut count = n;
        let mut cur = 0;
        while count > 1 {
            let (kernel, out, items, group) = match &self.kernels.reduce {
                Some(reduce) => {
                    let w = vigil_kernels::MERKLE_REDUCE_GROUP as usize;
                    let out = count.div_ceil(2 * w);
                    (reduce, out, out * w, w)
                }
                None => {
                    let out = count.div_ceil(2);
                    (&self.kernels.level, out, out, GROUP)
                }
            };
            arg_mem(kernel, 0, s.nodes[cur].mem())?;
            arg_u32(kernel, 1, u32_len(count)?)?;
            arg_mem(kernel, 2, s.nodes[1 - cur].mem())?;
            s.launch(kernel, items, group)?;
            cur = 1 - cur;
            count = out;
        }
        // SAFETY: `host_root` is boxed (stable address) and not touched until the event.
        let event = unsafe {
            s.queue.enqueue_read_buffer(
                &s.nodes[cur].buf,
                CL_NON_BLOCKING,
                0,
                &mut s.host_root[..],
                &[],
            )
        }?;
        s.queue.flush()?;
        Ok(event)
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
        let need = batch
            .leaves()
            .arena()
            .len()
            .max(8 * 4 * batch.signature_count());
        if let Some(why) = too_large(self.max_alloc, need) {
            return Err(Refusal::Unfit(why));
        }
        self.verify_commands(slot, batch, profile)
            .map_err(Refusal::Failed)
    }

    fn enqueue_merkle(&mut self, slot: usize, leaves: &Leaves) -> Result<Event, Refusal<ClError>> {
        let need = leaves.arena().len().max(8 * 4 * leaves.len());
        if let Some(why) = too_large(self.max_alloc, need) {
            return Err(Refusal::Unfit(why));
        }
        self.merkle_commands(slot, leaves).map_err(Refusal::Failed)
    }

    fn wait(&mut self, _slot: usize, done: Event) -> Result<(), ClError> {
        done.wait()
    }

    fn verdicts(&self, slot: usize) -> &[u8] {
        &self.slots[slot].host_verdict
    }

    fn root(&self, slot: usize) -> Option<[u32; 8]> {
        Some(*self.slots[slot].host_root)
    }
}
