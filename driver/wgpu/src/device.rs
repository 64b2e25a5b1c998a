//! One wgpu adapter as a [`vigil_runtime::DeviceQueue`]: pipelines built once, slots of
//! buffers reused, a plan of the launch contract recorded as one command buffer.
//!
//! Each slot owns the contract's buffers (grown to the next power of two, then reused),
//! a uniform buffer holding every launch's `u32` arguments (one aligned row per launch:
//! all of a plan's launches are recorded before it is submitted, so each needs its own
//! row) and a staging buffer the result is copied into and mapped from. A plan is one
//! submission: the uploads through the queue, then one compute pass with a dispatch per
//! launch (WebGPU orders each dispatch's storage writes before the next's reads), then
//! the copy of the result. Waiting is a poll for that submission and the map.
//!
//! Limits come from the adapter (its largest binding and buffer, its workgroup counts).
//! The per-signature table is the one buffer that grows past them first (672 words a
//! signature): a batch whose table would not fit one binding runs its prepare,
//! scalarmult and check kernels chunk by chunk over one table of as many signatures as
//! fit (`first` in their uniforms says which); anything else past a limit is refused as
//! unfit, and the scheduler sends it elsewhere.
//!
//! WGSL has no bytes in storage, so the arena goes up as words (its tail zero padded, and
//! one zero word more so an unaligned read of the last bytes stays inside the buffer) and
//! verdicts come back as one word per signature, turned into the bytes the runtime
//! checks (any word other than 0 or 1 becomes a byte the runtime rejects as a fault).

use std::sync::mpsc;

use vigil_core::{Batch, Leaves, Profile};
use vigil_kernels::launch::{self, Binding, Buffer, Entry, HostData, Plan, Step, Ty};
use vigil_runtime::{DeviceQueue, Refusal};

use crate::gpu::{Error, Gpu};
use crate::pipeline_cache::DiskCache;

/// Batches one adapter holds at once.
pub const SLOTS: usize = 2;
/// Bytes of one launch's arguments in the uniform buffer (WGSL reads uniforms in rows
/// of 16 bytes; the contract's entries have at most two `u32` arguments).
const ARGS_BYTES: u64 = 16;

/// One entry point's pipeline and its bind group layout.
struct Kernel {
    entry: &'static Entry,
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
}

/// A device buffer that grows to the next power of two and is otherwise reused.
struct Grow {
    buf: Option<wgpu::Buffer>,
    usage: wgpu::BufferUsages,
}

impl Grow {
    fn new(usage: wgpu::BufferUsages) -> Grow {
        Grow { buf: None, usage }
    }

    /// The buffer, at least `bytes` long (a new one if the old was shorter).
    fn ensure(&mut self, device: &wgpu::Device, bytes: u64) -> wgpu::Buffer {
        let need = bytes.max(16).next_power_of_two();
        match &self.buf {
            Some(b) if b.size() >= need => b.clone(),
            _ => {
                let b = device.create_buffer(&wgpu::BufferDescriptor {
                    label: None,
                    size: need,
                    usage: self.usage,
                    mapped_at_creation: false,
                });
                self.buf = Some(b.clone());
                b
            }
        }
    }
}

/// What a slot's result is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Verdicts(usize),
    Root,
}

/// One batch's buffers.
struct Slot {
    bufs: Vec<Grow>,
    args: Grow,
    staging: Grow,
    result: Outcome,
    /// The staging range being mapped, in bytes, and where the map's outcome arrives.
    mapped: Option<(u64, mpsc::Receiver<Result<(), wgpu::BufferAsyncError>>)>,
    verdicts: Vec<u8>,
    root: [u32; 8],
}

impl Slot {
    fn new() -> Slot {
        let storage = wgpu::BufferUsages::STORAGE
            | wgpu::BufferUsages::COPY_DST
            | wgpu::BufferUsages::COPY_SRC;
        Slot {
            bufs: Buffer::ALL.iter().map(|_| Grow::new(storage)).collect(),
            args: Grow::new(wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST),
            staging: Grow::new(wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST),
            result: Outcome::Root,
            mapped: None,
            verdicts: Vec::new(),
            root: [0; 8],
        }
    }
}

/// Bytes the device buffer `b` needs for a plan that gives it `elements` and covers
/// `signatures` (see the module doc: the arena padded, verdicts as words, and the
/// WGSL port's own per-signature table).
fn device_bytes(b: Buffer, elements: usize, signatures: usize) -> u64 {
    let bytes = match b {
        Buffer::Arena => elements.next_multiple_of(4) + 4,
        Buffer::Table if elements > 0 => {
            vigil_kernels::wgsl::table_words_for(signatures).saturating_mul(4)
        }
        _ => elements.saturating_mul(4),
    };
    u64::try_from(bytes).unwrap_or(u64::MAX)
}

/// Signatures a plan covers (its State buffer holds one word each; 0 for a root).
fn signatures(plan: &Plan<'_>) -> usize {
    plan.sizes[Buffer::State.index()]
}

/// The device's side of one adapter.
pub struct Opened {
    gpu: Gpu,
    kernels: Vec<Kernel>,
    slots: Vec<Slot>,
    limits: wgpu::Limits,
    /// Most signatures whose per-signature table one binding holds (a multiple of
    /// [`launch::GROUP`]; 0 if not even one group's): larger batches run the table's
    /// kernels in several launches, each over this many.
    table_rows: usize,
}

/// One dispatch of a recorded plan: a launch, or one chunk of a launch that uses the
/// per-signature table.
struct Dispatch {
    launch: launch::Launch,
    /// The launch's `u32` arguments, then, for the table's kernels, the first signature
    /// of the chunk (a WGSL-only field of their uniform).
    words: Vec<u32>,
    groups: usize,
}

/// Whether `entry` reads or writes the per-signature table.
fn uses_table(entry: &Entry) -> bool {
    entry
        .params
        .iter()
        .any(|p| p.source == launch::Source::Slot(Buffer::Table))
}

/// Signatures whose table fits a binding of `bytes`, in whole groups.
fn rows_for(bytes: u64) -> usize {
    let per = 4 * vigil_kernels::wgsl::ED25519_TABLE_WORDS as u64;
    let rows = usize::try_from(bytes / per).unwrap_or(usize::MAX);
    rows / launch::GROUP * launch::GROUP
}

/// `plan`'s launches as dispatches: each launch once, except that a run of launches
/// using the table over more than `rows` signatures is repeated chunk by chunk (every
/// kernel of the run over one chunk before the next chunk), so one table of `rows`
/// serves the whole batch.
fn dispatches(plan: &Plan<'_>, rows: usize) -> Vec<Dispatch> {
    let words_of = |l: &launch::Launch| -> Vec<u32> {
        l.arguments()
            .filter_map(|a| match a {
                Binding::U32(v) => Some(v),
                Binding::Buffer(_) => None,
            })
            .collect()
    };
    let mut out = Vec::new();
    let launches: Vec<launch::Launch> = plan.launches().copied().collect();
    let mut i = 0;
    while i < launches.len() {
        let l = launches[i];
        if !uses_table(l.entry) {
            out.push(Dispatch {
                launch: l,
                words: words_of(&l),
                groups: l.groups(),
            });
            i += 1;
            continue;
        }
        let run: Vec<launch::Launch> = launches[i..]
            .iter()
            .take_while(|l| uses_table(l.entry))
            .copied()
            .collect();
        i += run.len();
        let n = l.count as usize;
        let rows = rows.max(launch::GROUP);
        for first in (0..n.max(1)).step_by(rows) {
            let chunk = rows.min(n.saturating_sub(first)).max(1);
            for l in &run {
                let mut words = words_of(l);
                words.push(u32::try_from(first).unwrap_or(u32::MAX));
                out.push(Dispatch {
                    launch: *l,
                    words,
                    groups: chunk.div_ceil(launch::GROUP),
                });
            }
        }
    }
    out
}

impl Opened {
    /// Builds the pipeline of every entry (through the pipeline cache under `cache_dir`
    /// where the adapter has one), and the slots.
    pub fn open(gpu: Gpu, cache_dir: Option<&std::path::Path>) -> Result<Opened, Error> {
        let modules = launch::ENTRIES
            .iter()
            .map(|e| {
                vigil_kernels::wgsl::entry_module(e)
                    .map(|m| (*e, m))
                    .ok_or_else(|| Error::Validation {
                        what: format!("compiling {}", e.name),
                        message: "no WGSL module for this entry".into(),
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut hasher = blake3::Hasher::new();
        for (e, m) in &modules {
            hasher.update(e.name.as_bytes());
            hasher.update(m.as_bytes());
        }
        let disk = DiskCache::open(&gpu, cache_dir, *hasher.finalize().as_bytes());
        let mut kernels = Vec::new();
        for (entry, source) in modules {
            let read_only: Vec<bool> = entry
                .params
                .iter()
                .filter_map(|p| match p.ty {
                    Ty::ConstU8Ptr | Ty::ConstU32Ptr => Some(true),
                    Ty::U8Ptr | Ty::U32Ptr => Some(false),
                    Ty::U32 => None,
                })
                .collect();
            let uniform = entry.params.iter().any(|p| p.ty == Ty::U32);
            let started = std::time::Instant::now();
            let (pipeline, layout) = gpu.pipeline_with_layout(
                &source,
                entry.name,
                &read_only,
                uniform,
                disk.as_ref().map(DiskCache::cache),
            )?;
            tracing::debug!(
                entry = entry.name,
                seconds = started.elapsed().as_secs_f64(),
                "WGSL pipeline built"
            );
            kernels.push(Kernel {
                entry,
                pipeline,
                layout,
            });
        }
        if let Some(d) = &disk {
            d.store();
        }
        let limits = gpu.limits();
        let table_rows = rows_for(
            limits
                .max_storage_buffer_binding_size
                .min(limits.max_buffer_size),
        );
        Ok(Opened {
            gpu,
            kernels,
            slots: (0..SLOTS).map(|_| Slot::new()).collect(),
            limits,
            table_rows,
        })
    }

    /// Holds the per-signature table to `rows` signatures (rounded down to whole
    /// groups, at least one group), below what the adapter allows: larger batches then
    /// run in chunks. For tests of the chunked path on a device with room to spare.
    pub fn limit_table_rows(&mut self, rows: usize) {
        let rows = (rows / launch::GROUP * launch::GROUP).max(launch::GROUP);
        self.table_rows = self.table_rows.min(rows);
    }

    /// Table rows a plan uses: its signatures, at most [`Opened::table_rows`].
    fn rows(&self, plan: &Plan<'_>) -> usize {
        signatures(plan).min(self.table_rows)
    }

    /// Why `plan` does not fit this device's limits, if it does not.
    fn unfit(&self, plan: &Plan<'_>) -> Option<String> {
        let most = self
            .limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size);
        if self.table_rows == 0 && plan.sizes[Buffer::Table.index()] > 0 {
            return Some(format!(
                "the adapter binds at most {most} bytes, less than one group's table"
            ));
        }
        for b in Buffer::ALL {
            let bytes = device_bytes(b, plan.sizes[b.index()], self.rows(plan));
            if bytes > most {
                return Some(format!(
                    "the batch needs a {bytes}-byte {b:?} buffer; the adapter binds at most {most}"
                ));
            }
        }
        let groups = u64::from(self.limits.max_compute_workgroups_per_dimension);
        for l in plan.launches() {
            if l.groups() as u64 > groups {
                return Some(format!(
                    "{} needs {} workgroups; the adapter dispatches at most {groups}",
                    l.entry.name,
                    l.groups()
                ));
            }
        }
        None
    }

    /// Records and submits `plan` on `slot`.
    fn submit(&mut self, slot: usize, plan: &Plan<'_>) -> Result<wgpu::SubmissionIndex, Error> {
        let rows = self.rows(plan);
        let Opened {
            gpu,
            kernels,
            slots,
            limits,
            table_rows,
        } = self;
        let plan_dispatches = dispatches(plan, *table_rows);
        let s = &mut slots[slot];
        let device = gpu.device();
        let queue = gpu.queue();
        let row = u64::from(limits.min_uniform_buffer_offset_alignment).max(ARGS_BYTES);
        gpu.checked("recording a batch", || {
            for b in Buffer::ALL {
                let elements = plan.sizes[b.index()];
                if elements > 0 {
                    s.bufs[b.index()].ensure(device, device_bytes(b, elements, rows));
                }
            }
            let launches = plan_dispatches.len().max(1) as u64;
            s.args.ensure(device, launches * row);
            let mut args = vec![0u8; usize::try_from(launches * row).unwrap_or(0)];
            let mut encoder =
                device.create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
            let mut groups = Vec::new();
            let mut result = None;
            for step in &plan.steps {
                match *step {
                    Step::Upload(b, data) => upload(queue, &s.bufs[b.index()], data),
                    Step::Launch(_) => {}
                    Step::Download(b, n) => result = Some((b, n)),
                }
            }
            for d in &plan_dispatches {
                // Every entry has a kernel (`open` built them all).
                let Some(k) = kernels.iter().find(|k| k.entry.name == d.launch.entry.name) else {
                    continue;
                };
                let at = groups.len() as u64 * row;
                let mut bind: Vec<wgpu::BindGroupEntry<'_>> = d
                    .launch
                    .arguments()
                    .filter_map(|a| match a {
                        Binding::Buffer(b) => s.bufs[b.index()].buf.as_ref(),
                        Binding::U32(_) => None,
                    })
                    .zip(0u32..)
                    .map(|(buf, binding)| wgpu::BindGroupEntry {
                        binding,
                        resource: buf.as_entire_binding(),
                    })
                    .collect();
                if !d.words.is_empty() {
                    let start = usize::try_from(at).unwrap_or(0);
                    for (i, w) in d.words.iter().enumerate() {
                        args[start + 4 * i..start + 4 * i + 4].copy_from_slice(&w.to_le_bytes());
                    }
                    if let Some(buf) = s.args.buf.as_ref() {
                        bind.push(wgpu::BindGroupEntry {
                            binding: u32::try_from(bind.len()).unwrap_or(u32::MAX),
                            resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                                buffer: buf,
                                offset: at,
                                size: wgpu::BufferSize::new(ARGS_BYTES),
                            }),
                        });
                    }
                }
                let group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: None,
                    layout: &k.layout,
                    entries: &bind,
                });
                // At most max_compute_workgroups_per_dimension (checked by `unfit`).
                let n = u32::try_from(d.groups).unwrap_or(u32::MAX);
                groups.push((k, group, n));
            }
            if let Some(buf) = s.args.buf.as_ref() {
                queue.write_buffer(buf, 0, &args);
            }
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
                for (k, group, n) in &groups {
                    pass.set_pipeline(&k.pipeline);
                    pass.set_bind_group(0, group, &[]);
                    pass.dispatch_workgroups(*n, 1, 1);
                }
            }
            let (b, n) = result.unwrap_or((Buffer::NodesA, 8));
            s.result = if b == Buffer::Verdict {
                Outcome::Verdicts(n)
            } else {
                Outcome::Root
            };
            let bytes = 4 * n as u64;
            let staging = s.staging.ensure(device, bytes);
            if let Some(src) = s.bufs[b.index()].buf.as_ref() {
                encoder.copy_buffer_to_buffer(src, 0, &staging, 0, bytes.next_multiple_of(4));
            }
            let index = queue.submit([encoder.finish()]);
            let (tx, rx) = mpsc::channel();
            staging
                .slice(..bytes)
                .map_async(wgpu::MapMode::Read, move |r| drop(tx.send(r)));
            s.mapped = Some((bytes, rx));
            index
        })
    }

    /// Plans `plan` for this device: `Unfit` past its limits, else submitted.
    fn run(
        &mut self,
        slot: usize,
        plan: Result<Plan<'_>, launch::TooLarge>,
    ) -> Result<wgpu::SubmissionIndex, Refusal<Error>> {
        let plan = plan.map_err(|e| Refusal::Unfit(e.to_string()))?;
        if let Some(why) = self.unfit(&plan) {
            return Err(Refusal::Unfit(why));
        }
        self.submit(slot, &plan).map_err(Refusal::Failed)
    }
}

/// Queues the copy of `data` into `dest`, written straight into the queue's staging
/// memory: words as they are (little-endian), bytes as the arena goes up (whole words,
/// a zero tail and one zero word more: [`device_bytes`]).
fn upload(queue: &wgpu::Queue, dest: &Grow, data: HostData<'_>) {
    let Some(buf) = dest.buf.as_ref() else {
        return;
    };
    let size = match data {
        HostData::U32(words) => words.len() * 4,
        HostData::U8(bytes) => {
            usize::try_from(device_bytes(Buffer::Arena, bytes.len(), 0)).unwrap_or(usize::MAX)
        }
    };
    // Nothing to copy for an empty word array; a failed write is reported to the
    // enclosing error scope.
    let Some(size) = wgpu::BufferSize::new(size as u64) else {
        return;
    };
    let Some(mut view) = queue.write_buffer_with(buf, 0, size) else {
        return;
    };
    match data {
        HostData::U32(words) => view
            .slice(..)
            .write_iter(words.iter().flat_map(|w| w.to_le_bytes())),
        HostData::U8(bytes) => {
            let (mut head, mut tail) = view.slice(..).split_at(bytes.len());
            head.copy_from_slice(bytes);
            tail.fill(0);
        }
    }
}

impl DeviceQueue for Opened {
    type Done = wgpu::SubmissionIndex;
    type Error = Error;

    fn slots(&self) -> usize {
        self.slots.len()
    }

    fn enqueue_verify(
        &mut self,
        slot: usize,
        batch: &Batch,
        profile: Profile,
    ) -> Result<wgpu::SubmissionIndex, Refusal<Error>> {
        self.run(slot, Plan::verify(batch, profile))
    }

    fn enqueue_merkle(
        &mut self,
        slot: usize,
        leaves: &Leaves,
    ) -> Result<wgpu::SubmissionIndex, Refusal<Error>> {
        // Always the fused levels: WebGPU guarantees every adapter at least 256
        // invocations per workgroup, and the reduce kernel's group is
        // MERKLE_REDUCE_GROUP (128).
        self.run(slot, Plan::merkle(leaves, true))
    }

    fn wait(&mut self, slot: usize, done: wgpu::SubmissionIndex) -> Result<(), Error> {
        let device = self.gpu.device();
        device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(done),
                timeout: None,
            })
            .map_err(|e| Error::Wait(e.to_string()))?;
        if let Some(fault) = self.gpu.fault() {
            return Err(Error::Wait(fault));
        }
        let s = &mut self.slots[slot];
        let (bytes, rx) = s
            .mapped
            .take()
            .ok_or_else(|| Error::Wait("no result was mapped".into()))?;
        rx.recv()
            .map_err(|e| Error::Wait(e.to_string()))?
            .map_err(|e| Error::Wait(e.to_string()))?;
        let staging = s
            .staging
            .buf
            .as_ref()
            .ok_or_else(|| Error::Wait("no staging buffer".into()))?;
        {
            let view = staging
                .slice(..bytes)
                .get_mapped_range()
                .map_err(|e| Error::Wait(e.to_string()))?;
            let words = view
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
            match s.result {
                Outcome::Verdicts(n) => {
                    s.verdicts.clear();
                    s.verdicts
                        .extend(words.take(n).map(|w| u8::try_from(w).unwrap_or(u8::MAX)));
                }
                Outcome::Root => {
                    for (r, w) in s.root.iter_mut().zip(words) {
                        *r = w;
                    }
                }
            }
        }
        staging.unmap();
        Ok(())
    }

    fn verdicts(&self, slot: usize) -> &[u8] {
        &self.slots[slot].verdicts
    }

    fn root(&self, slot: usize) -> Option<[u32; 8]> {
        (self.slots[slot].result == Outcome::Root).then_some(self.slots[slot].root)
    }
}
