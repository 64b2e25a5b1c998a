//! One wgpu device, and the one operation every Vigil kernel is made of: a WGSL entry
//! point dispatched over storage buffers, its results read back.
//!
//! wgpu reports invalid shaders and bindings through error scopes rather than return
//! values (and panics on an error no scope catches), so every call that creates or
//! submits here runs inside a validation scope and turns what it catches into an
//! [`Error`]: a shader that does not compile on some adapter is a clear error, never a
//! panic of the daemon.

use std::sync::{mpsc, Arc, Mutex};

use wgpu::util::DeviceExt as _;

/// What went wrong on the device.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The adapter refused a device with the limits asked for.
    #[error("requesting a device: {0}")]
    Device(String),
    /// wgpu rejected a shader, a pipeline, a binding or a command.
    #[error("{what}: {message}")]
    Validation {
        /// What was being done.
        what: String,
        /// wgpu's message.
        message: String,
    },
    /// Waiting for the device or mapping a result failed (a lost device).
    #[error("waiting for the device: {0}")]
    Wait(String),
}

/// One binding of a dispatch, at the binding number of its place in the list.
#[derive(Debug, Clone, Copy)]
pub enum Bind<'a> {
    /// A storage buffer the shader only reads (`var<storage, read>`), with its words.
    Read(&'a [u32]),
    /// A storage buffer the shader writes (`var<storage, read_write>`), with its first
    /// contents; read back after the dispatch.
    ReadWrite(&'a [u32]),
    /// A uniform buffer (`var<uniform>`), with its words (padded to 16 bytes here).
    Uniform(&'a [u32]),
}

/// A device and its queue.
pub struct Gpu {
    adapter: wgpu::Adapter,
    device: wgpu::Device,
    queue: wgpu::Queue,
    /// The first error wgpu reported outside a checked call, or the device's loss.
    fault: Arc<Mutex<Option<String>>>,
}

impl Gpu {
    /// Opens `adapter` with its own limits (the largest buffers and bindings it allows).
    pub fn open(adapter: wgpu::Adapter) -> Result<Gpu, Error> {
        // The pipeline cache where the adapter has one (Vulkan): see pipeline_cache.rs.
        let features = adapter.features() & wgpu::Features::PIPELINE_CACHE;
        let desc = wgpu::DeviceDescriptor {
            label: Some("vigil"),
            required_features: features,
            required_limits: adapter.limits(),
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&desc))
            .map_err(|e| Error::Device(e.to_string()))?;
        // wgpu's default for an error no scope catches is a panic, and a lost device
        // is only logged: here both are kept as the device's fault, which the driver
        // reports at its next wait, so the runtime takes the device out of service and
        // re-runs its work elsewhere instead of a worker thread dying.
        let fault = Arc::new(Mutex::new(None));
        let keep = |fault: &Arc<Mutex<Option<String>>>, what: String| {
            tracing::error!(error = %what, "wgpu device fault");
            let mut f = fault.lock().unwrap_or_else(|p| p.into_inner());
            f.get_or_insert(what);
        };
        let on_error = Arc::clone(&fault);
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            keep(&on_error, e.to_string());
        }));
        let on_lost = Arc::clone(&fault);
        device.set_device_lost_callback(move |reason, message| {
            keep(&on_lost, format!("device lost ({reason:?}): {message}"));
        });
        Ok(Gpu {
            adapter,
            device,
            queue,
            fault,
        })
    }

    /// The device's fault, if wgpu has reported one outside a checked call or lost it.
    pub fn fault(&self) -> Option<String> {
        self.fault.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The adapter's description.
    pub fn info(&self) -> wgpu::AdapterInfo {
        self.adapter.get_info()
    }

    /// The device's limits.
    pub fn limits(&self) -> wgpu::Limits {
        self.device.limits()
    }

    /// Runs `f` in a validation error scope; its error, if any, becomes [`Error`].
    pub fn checked<T>(&self, what: &str, f: impl FnOnce() -> T) -> Result<T, Error> {
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let value = f();
        match pollster::block_on(scope.pop()) {
            None => Ok(value),
            Some(e) => Err(Error::Validation {
                what: what.to_owned(),
                message: e.to_string(),
            }),
        }
    }

    /// Compiles `source` and makes a pipeline of its entry point `entry`, with the
    /// bind group layout derived from what the entry uses.
    pub fn pipeline(&self, source: &str, entry: &str) -> Result<wgpu::ComputePipeline, Error> {
        self.checked(&format!("compiling {entry}"), || {
            self.compute_pipeline(source, entry, None, None)
        })
    }

    /// The shader module of `source` and the pipeline of its entry point `entry` (to be
    /// called inside [`Gpu::checked`]).
    fn compute_pipeline(
        &self,
        source: &str,
        entry: &str,
        layout: Option<&wgpu::PipelineLayout>,
        cache: Option<&wgpu::PipelineCache>,
    ) -> wgpu::ComputePipeline {
        let module = self
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(entry),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        self.device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout,
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache,
            })
    }

    /// Compiles `source` and makes a pipeline of its entry point `entry` with an explicit
    /// layout: storage buffers at bindings 0.. (`read_only` per buffer), then, with
    /// `uniform`, one uniform buffer at the next binding. A shader whose declarations
    /// disagree with the layout is refused here, so a driver that binds by the launch
    /// contract cannot bind what the shader does not declare.
    pub fn pipeline_with_layout(
        &self,
        source: &str,
        entry: &str,
        read_only: &[bool],
        uniform: bool,
        cache: Option<&wgpu::PipelineCache>,
    ) -> Result<(wgpu::ComputePipeline, wgpu::BindGroupLayout), Error> {
        self.checked(&format!("compiling {entry}"), || {
            let storage = read_only
                .iter()
                .map(|&ro| wgpu::BufferBindingType::Storage { read_only: ro });
            let uniforms = uniform.then_some(wgpu::BufferBindingType::Uniform);
            let entries: Vec<wgpu::BindGroupLayoutEntry> = storage
                .chain(uniforms)
                .zip(0u32..)
                .map(|(ty, binding)| wgpu::BindGroupLayoutEntry {
                    binding,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty,
                        has_dynamic_offset: false,
                        min_binding_size: None,
                    },
                    count: None,
                })
                .collect();
            let layout = self
                .device
                .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                    label: Some(entry),
                    entries: &entries,
                });
            let pipeline_layout =
                self.device
                    .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                        label: Some(entry),
                        bind_group_layouts: &[Some(&layout)],
                        immediate_size: 0,
                    });
            let pipeline = self.compute_pipeline(source, entry, Some(&pipeline_layout), cache);
            (pipeline, layout)
        })
    }

    /// The device (for drivers that manage their own buffers and commands).
    pub fn device(&self) -> &wgpu::Device {
        &self.device
    }

    /// The device's queue.
    pub fn queue(&self) -> &wgpu::Queue {
        &self.queue
    }

    /// Dispatches `workgroups` groups of `pipeline` with `binds` at bindings 0, 1, ...
    /// of group 0, waits, and returns the contents of every [`Bind::ReadWrite`] buffer,
    /// in order.
    pub fn run(
        &self,
        pipeline: &wgpu::ComputePipeline,
        binds: &[Bind<'_>],
        workgroups: u32,
    ) -> Result<Vec<Vec<u32>>, Error> {
        let (buffers, read_back) = self.checked("binding buffers", || {
            let mut buffers = Vec::with_capacity(binds.len());
            let mut read_back = Vec::new();
            for (i, bind) in binds.iter().enumerate() {
                let (words, usage) = match *bind {
                    Bind::Read(w) => (w, wgpu::BufferUsages::STORAGE),
                    Bind::ReadWrite(w) => {
                        read_back.push(i);
                        (
                            w,
                            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                        )
                    }
                    Bind::Uniform(w) => (w, wgpu::BufferUsages::UNIFORM),
                };
                let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
                // Empty bindings are invalid, and uniforms are read in 16-byte rows.
                bytes.resize(bytes.len().max(4).next_multiple_of(16), 0);
                buffers.push(
                    self.device
                        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                            label: None,
                            contents: &bytes,
                            usage,
                        }),
                );
            }
            (buffers, read_back)
        })?;
        let staging: Vec<wgpu::Buffer> = read_back
            .iter()
            .map(|&i| {
                self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: None,
                    size: buffers[i].size(),
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                })
            })
            .collect();
        self.checked("dispatching", || {
            let layout = pipeline.get_bind_group_layout(0);
            let entries: Vec<wgpu::BindGroupEntry<'_>> = buffers
                .iter()
                .enumerate()
                .map(|(i, b)| wgpu::BindGroupEntry {
                    binding: u32::try_from(i).unwrap_or(u32::MAX),
                    resource: b.as_entire_binding(),
                })
                .collect();
            let group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: None,
                layout: &layout,
                entries: &entries,
            });
            let mut encoder = self
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor::default());
            {
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
                pass.set_pipeline(pipeline);
                pass.set_bind_group(0, &group, &[]);
                pass.dispatch_workgroups(workgroups, 1, 1);
            }
            for (&i, s) in read_back.iter().zip(&staging) {
                encoder.copy_buffer_to_buffer(&buffers[i], 0, s, 0, s.size());
            }
            self.queue.submit([encoder.finish()]);
        })?;
        let mut out = Vec::with_capacity(staging.len());
        for (&i, s) in read_back.iter().zip(&staging) {
            let (tx, rx) = mpsc::channel();
            s.slice(..)
                .map_async(wgpu::MapMode::Read, move |r| drop(tx.send(r)));
            self.device
                .poll(wgpu::PollType::wait_indefinitely())
                .map_err(|e| Error::Wait(e.to_string()))?;
            rx.recv()
                .map_err(|e| Error::Wait(e.to_string()))?
                .map_err(|e| Error::Wait(e.to_string()))?;
            let words = match binds[i] {
                Bind::ReadWrite(w) => w.len(),
                _ => 0,
            };
            let bytes = s
                .slice(..)
                .get_mapped_range()
                .map_err(|e| Error::Wait(e.to_string()))?;
            out.push(
                bytes
                    .chunks_exact(4)
                    .take(words)
                    .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
            );
            drop(bytes);
            s.unmap();
        }
        Ok(out)
    }
}
