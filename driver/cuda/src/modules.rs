//! Where a GPU's kernels come from: built ahead, from the cache, or compiled now.
//!
//! In order, for each program:
//!
//! 1. **Built ahead** ([`vigil_kernels::prebuilt`]): the cubin of the GPU's architecture
//!    family shipped in the binary, when its source hash matches and the driver loads
//!    that toolchain's cubins. No compile at all: sm_80 to sm_89 and sm_90 GPUs start
//!    serving in seconds. A cubin the driver refuses is logged and the next way tried.
//! 2. **The on-disk cache** ([`vigil_kernels::cache`], under `cuda/`): PTX that NVRTC
//!    made on an earlier start, keyed by source hash, architecture, driver and NVRTC
//!    versions.
//! 3. **NVRTC**, on its own thread ([`crate::nvrtc`]), the result cached.

use std::path::Path;
use std::sync::Arc;

use cudarc::driver::{CudaContext, CudaModule};
use cudarc::nvrtc::Ptx;
use vigil_kernels::{cache, prebuilt, Program};

use crate::{nvrtc, version_text, GpuSummary};

/// Where a program's module came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The cubin built ahead and shipped in the binary.
    Prebuilt,
    /// PTX from the on-disk cache.
    Cache,
    /// PTX NVRTC compiled at this start.
    Compiled,
}

impl Origin {
    /// How `vigil devices` and the logs say it.
    pub fn text(self) -> &'static str {
        match self {
            Origin::Prebuilt => "built ahead",
            Origin::Cache => "from the cache",
            Origin::Compiled => "compiled by NVRTC",
        }
    }
}

/// Loads `program` into `ctx` for `gpu`, by the first way that works (module docs).
pub fn load(
    ctx: &Arc<CudaContext>,
    program: &Program,
    gpu: &GpuSummary,
    cache_dir: Option<&Path>,
) -> Result<(Arc<CudaModule>, Origin), String> {
    if let Some(p) = prebuilt::for_gpu(program, gpu.compute_capability, gpu.versions.driver) {
        match ctx.load_module(Ptx::from_binary(p.cubin.to_vec())) {
            Ok(module) => return Ok((module, Origin::Prebuilt)),
            Err(e) => tracing::warn!(
                program = program.name,
                arch = p.arch,
                toolchain = p.toolchain,
                error = %e,
                "the driver refused the kernels built ahead; compiling them instead"
            ),
        }
    }
    let (ptx, origin) = compile(program, gpu, cache_dir)?;
    let module = ctx
        .load_module(ptx)
        .map_err(|e| format!("loading the {} module: {e}", program.name))?;
    Ok((module, origin))
}

/// Compiles one program for the GPU's architecture with NVRTC, through the on-disk PTX
/// cache.
fn compile(
    program: &Program,
    gpu: &GpuSummary,
    cache_dir: Option<&Path>,
) -> Result<(Ptx, Origin), String> {
    let arch = gpu.arch();
    let nvrtc_version = gpu.versions.nvrtc.ok_or_else(|| {
        format!(
            "no kernels are built ahead for {arch} (driver CUDA {}), and {}",
            version_text(gpu.versions.driver),
            nvrtc::CompileError::Missing
        )
    })?;
    let joined = nvrtc::options(&arch).join(" ");
    let driver = gpu.versions.driver.to_string();
    let nvrtc = nvrtc_version.to_string();
    let key = cache::Key {
        program: program.name,
        source_hash: program.source_hash(),
        device: [&arch, "nvidia", &driver, &nvrtc, "ptx"],
        options: &joined,
    };
    if let Some(ptx) = cache_dir.and_then(|dir| cache::load(dir, &key)) {
        if let Ok(text) = String::from_utf8(ptx) {
            return Ok((Ptx::from_src(text), Origin::Cache));
        }
    }
    let compiled = nvrtc::compile(program, &arch).map_err(|e| e.to_string())?;
    tracing::info!(program = program.name, %arch, seconds = compiled.took.as_secs_f64(), "kernels compiled by NVRTC");
    if let Some(dir) = cache_dir {
        if let Err(e) = cache::store(dir, &key, compiled.ptx.as_bytes()) {
            tracing::warn!(dir = %dir.display(), error = %e, "could not cache the PTX");
        }
    }
    Ok((Ptx::from_src(compiled.ptx), Origin::Compiled))
}
