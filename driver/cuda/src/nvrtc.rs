//! NVRTC: the kernel programs compiled to PTX, on a thread with the stack NVRTC needs.
//!
//! NVRTC recurses deeply on the Ed25519 program: with NVRTC 13.0 and 13.5 it crashed
//! (segmentation fault, the whole process) on a thread with an 8 MiB stack, the size a
//! Rust thread or a tokio blocking thread gets. Compiling on the caller's thread would
//! bet the daemon's start-up on whoever called. So every compile here runs on a thread
//! of its own with [`STACK_BYTES`] of stack, measured (see the constant) with a wide
//! margin; a stack is reserved address space, and only the pages NVRTC touches are
//! ever backed by memory.
//!
//! Nothing here needs a GPU or the driver library: `vigil kernels` compiles every
//! program for any architecture on a machine with only NVRTC (CI uses the
//! `nvidia-cuda-nvrtc` wheel), through exactly the function the backend uses.

use std::time::{Duration, Instant};

use crate::nvrtc_lib::Nvrtc;

/// Stack of the compiling thread. Measured with NVRTC 13.5 (the `nvidia-cuda-nvrtc`
/// wheel) on the Ed25519 program for sm_90 through [`compile_on_stack`]: 8 and 16 MiB
/// overflow (the process aborts), 24 and 32 MiB compile; this is over ten times the
/// least that worked.
pub const STACK_BYTES: usize = 256 << 20;

/// Why a program did not compile.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CompileError {
    /// No NVRTC library on the library path.
    #[error(
        "NVRTC (libnvrtc.so), CUDA's run-time compiler, was not found: install the CUDA \
         toolkit's NVRTC, 12.x or 13.x (NVIDIA's packages cuda-nvrtc-12-4 or \
         cuda-nvrtc-13-0, or the nvidia-cuda-nvrtc Python wheel) or put it on the \
         library path"
    )]
    Missing,
    /// NVRTC is there but could not be used.
    #[error("NVRTC is unusable: {0}")]
    Unusable(String),
    /// NVRTC rejected the program (its log says why).
    #[error("NVRTC could not compile {program} for {arch}: {log}")]
    Rejected {
        /// The program (`ed25519`, `merkle`).
        program: &'static str,
        /// The architecture (`sm_90`).
        arch: String,
        /// NVRTC's error and log.
        log: String,
    },
    /// The compiling thread could not be started, or died.
    #[error("the NVRTC thread failed: {0}")]
    Thread(String),
}

/// A compiled program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Compiled {
    /// The PTX text.
    pub ptx: String,
    /// How long NVRTC took.
    pub took: Duration,
}

/// The options the backend compiles with. Part of the cache key.
pub fn options(arch: &str) -> Vec<String> {
    vec![format!("--gpu-architecture={arch}"), "--std=c++17".into()]
}

/// NVRTC's version as `major * 1000 + minor * 10`, or why it cannot be had.
pub fn version() -> Result<i32, CompileError> {
    let lib = Nvrtc::open().ok_or(CompileError::Missing)?;
    lib.version().map_err(|e| CompileError::Unusable(e.0))
}

/// Compiles `program` for `arch` (`sm_90`) on a thread of its own with [`STACK_BYTES`]
/// of stack, and waits for it.
pub fn compile(program: &vigil_kernels::Program, arch: &str) -> Result<Compiled, CompileError> {
    compile_on_stack(program, arch, STACK_BYTES)
}

/// [`compile`] with a chosen stack: for measuring what NVRTC needs.
pub fn compile_on_stack(
    program: &vigil_kernels::Program,
    arch: &str,
    stack: usize,
) -> Result<Compiled, CompileError> {
    let lib = Nvrtc::open().ok_or(CompileError::Missing)?;
    let name = program.name;
    let source = program.source;
    let arch = arch.to_owned();
    let worker = std::thread::Builder::new()
        .name(format!("vigil-nvrtc-{name}"))
        .stack_size(stack)
        .spawn(move || {
            let started = Instant::now();
            lib.compile(source, &format!("{name}.cu"), &options(&arch))
                .map(|ptx| Compiled {
                    ptx,
                    took: started.elapsed(),
                })
                .map_err(|e| CompileError::Rejected {
                    program: name,
                    arch,
                    log: e.0,
                })
        })
        .map_err(|e| CompileError::Thread(e.to_string()))?;
    worker
        .join()
        .map_err(|_| CompileError::Thread("the compiling thread panicked".into()))?
}
