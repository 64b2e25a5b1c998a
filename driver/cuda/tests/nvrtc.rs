//! The real programs through the backend's own NVRTC path, on the thread it compiles on
//! in `serve`: NVRTC needs far more stack than a default thread has (it crashed the
//! process with 8 MiB), so this is the test that start-up cannot crash on it.
//!
//! It needs NVRTC only (no GPU): CI installs the `nvidia-cuda-nvrtc` wheel, puts it on
//! the library path and sets `VIGIL_REQUIRE_NVRTC=1`, so there the test cannot skip.
//! Elsewhere, without NVRTC, it says so and passes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use vigil_cuda::nvrtc;

fn nvrtc_or_skip() -> bool {
    match nvrtc::version() {
        Ok(_) => true,
        Err(e) if std::env::var("VIGIL_REQUIRE_NVRTC").is_ok_and(|v| v == "1") => {
            panic!("VIGIL_REQUIRE_NVRTC=1 but {e}")
        }
        Err(e) => {
            eprintln!("NOT TESTED: {e}");
            false
        }
    }
}

#[test]
fn every_program_compiles_through_the_backend_s_path() {
    if !nvrtc_or_skip() {
        return;
    }
    for program in vigil_kernels::ALL {
        let compiled = nvrtc::compile(&program, "sm_90").unwrap();
        for kernel in program.kernels {
            assert!(
                compiled.ptx.contains(&format!(".entry {kernel}(")),
                "{}: no entry {kernel} in the PTX",
                program.name
            );
        }
        assert!(compiled.ptx.contains(".target sm_90"), "{}", program.name);
        eprintln!("{} for sm_90: {:?}", program.name, compiled.took);
    }
}

#[test]
fn a_program_nvrtc_rejects_is_an_error_with_its_log() {
    if !nvrtc_or_skip() {
        return;
    }
    let broken = vigil_kernels::Program {
        name: "broken",
        source: "extern \"C\" __global__ void k() { undeclared = 1; }",
        kernels: &["k"],
    };
    let err = nvrtc::compile(&broken, "sm_90").unwrap_err().to_string();
    assert!(err.contains("broken") && err.contains("sm_90"), "{err}");
    assert!(err.contains("undeclared"), "{err}");
}
