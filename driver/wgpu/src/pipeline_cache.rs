//! The adapter's compiled pipelines kept on disk between runs, where wgpu allows it
//! (Vulkan's pipeline cache, `Features::PIPELINE_CACHE`).
//!
//! A node's first start compiles every WGSL module with the driver's compiler (about
//! 12 s on lavapipe for the seven; a GPU driver's compiler is faster, but the Ed25519
//! shaders are large). Many drivers keep their own cache; some leave it to the
//! application, and the issue asks for one wherever wgpu offers it. The data lives
//! under [`vigil_kernels::cache`]'s directory (`$VIGIL_CACHE_DIR/wgpu`, ...), one file
//! per adapter and set of shader sources, written atomically after the pipelines are
//! built. Data wgpu or the driver cannot use (another driver version, a corrupt file)
//! is ignored by them and replaced.

// This module is the one place that hands wgpu pipeline-cache data, which wgpu marks
// unsafe because it cannot prove where the bytes came from. The use says why it holds.
#![allow(unsafe_code)]

use std::path::{Path, PathBuf};

use vigil_kernels::cache;

use crate::gpu::Gpu;

/// A pipeline cache in use, and where its data is kept.
pub struct DiskCache {
    cache: wgpu::PipelineCache,
    dir: PathBuf,
    key_parts: [String; 5],
    source_hash: [u8; 32],
}

/// What identifies the compiled pipelines: wgpu's cache key for the adapter, its name
/// and driver, and wgpu's major version.
fn key_parts(info: &wgpu::AdapterInfo) -> Option<[String; 5]> {
    Some([
        wgpu::util::pipeline_cache_key(info)?,
        info.name.clone(),
        info.driver.clone(),
        info.driver_info.clone(),
        "wgpu 30".to_owned(),
    ])
}

impl DiskCache {
    /// Opens the cache for `gpu` over shader sources hashing to `source_hash`, with the
    /// data stored under `dir` if there is any; `None` where the device has no
    /// pipeline cache (not Vulkan, or the feature was not granted) or there is no dir.
    pub fn open(gpu: &Gpu, dir: Option<&Path>, source_hash: [u8; 32]) -> Option<DiskCache> {
        let dir = dir?;
        if !gpu
            .device()
            .features()
            .contains(wgpu::Features::PIPELINE_CACHE)
        {
            return None;
        }
        let key_parts = key_parts(&gpu.info())?;
        let key = key_of(&key_parts, source_hash);
        let data = cache::load(dir, &key);
        // SAFETY: the data, if any, is what `store` wrote from `PipelineCache::get_data`
        // under a file named for this adapter, driver and these sources; wgpu checks its
        // own header (adapter and driver) before passing data on, and with `fallback`
        // data it cannot use gives an empty cache rather than an error.
        let cache = unsafe {
            gpu.device()
                .create_pipeline_cache(&wgpu::PipelineCacheDescriptor {
                    label: Some("vigil"),
                    data: data.as_deref(),
                    fallback: true,
                })
        };
        tracing::debug!(
            file = %dir.join(key.file_name()).display(),
            loaded = data.is_some(),
            "wgpu pipeline cache"
        );
        Some(DiskCache {
            cache,
            dir: dir.to_owned(),
            key_parts,
            source_hash,
        })
    }

    /// The cache, for pipeline creation.
    pub fn cache(&self) -> &wgpu::PipelineCache {
        &self.cache
    }

    /// Writes the cache's data (after the pipelines were built), atomically; a failure
    /// is logged and costs only the next start's time.
    pub fn store(&self) {
        let Some(data) = self.cache.get_data() else {
            return;
        };
        let key = key_of(&self.key_parts, self.source_hash);
        if let Err(e) = cache::store(&self.dir, &key, &data) {
            tracing::warn!(dir = %self.dir.display(), error = %e, "could not store the wgpu pipeline cache");
        } else {
            tracing::debug!(file = %self.dir.join(key.file_name()).display(), bytes = data.len(), "wgpu pipeline cache stored");
        }
    }
}

fn key_of(parts: &[String; 5], source_hash: [u8; 32]) -> cache::Key<'_> {
    cache::Key {
        program: "wgpu-pipelines",
        source_hash,
        device: [&parts[0], &parts[1], &parts[2], &parts[3], &parts[4]],
        options: "",
    }
}
