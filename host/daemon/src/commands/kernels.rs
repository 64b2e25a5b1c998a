//! `vigil kernels`: every kernel program compiled to PTX for chosen CUDA architectures,
//! through the CUDA backend's own NVRTC path, written out.
//!
//! It needs NVRTC and nothing else: no GPU, no driver library. CI uses it to compile
//! every program for the architectures Vigil ships with and hand the PTX to ptxas,
//! which reports each entry's registers, stack frame and spills against the budgets in
//! `kernels/cuda-budget.tsv` (`kernels/cuda-check.sh`); the same PTX is what a node
//! with those GPUs would otherwise compile at start-up, and what the cubins built ahead
//! (`kernels/prebuilt/`) are assembled from. `sources.tsv` beside the PTX names each
//! program's source hash and the NVRTC version.

use std::path::PathBuf;

use anyhow::{bail, Context as _};

/// Arguments of `vigil kernels`.
#[derive(Debug, clap::Args)]
pub struct KernelsArgs {
    /// A CUDA architecture to compile for (`sm_80`, `sm_90`, `sm_90a`); repeat for
    /// several.
    #[arg(long = "cuda-arch", required = true, value_parser = parse_arch)]
    pub arch: Vec<String>,
    /// Directory to write `<program>.<arch>.ptx` into (created if missing).
    #[arg(long)]
    pub emit: PathBuf,
}

/// `sm_` and a compute capability of two or three digits, optionally `a` or `f`.
fn parse_arch(s: &str) -> Result<String, String> {
    let digits = s
        .strip_prefix("sm_")
        .map(|r| r.trim_end_matches(['a', 'f']))
        .filter(|d| (2..=3).contains(&d.len()) && d.bytes().all(|b| b.is_ascii_digit()));
    match digits {
        Some(d) if d.parse::<u32>().is_ok_and(|cc| cc >= 50) => Ok(s.to_owned()),
        _ => Err(format!(
            "{s:?} is not a CUDA architecture of compute capability 5.0 or later (sm_80, sm_90, ...)"
        )),
    }
}

/// Runs `vigil kernels`: one compile per program and architecture, all at once, each on
/// the backend's own NVRTC thread; one line per program written.
pub fn run(args: &KernelsArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.emit)
        .with_context(|| format!("cannot create {}", args.emit.display()))?;
    let nvrtc = vigil_cuda::version_text(vigil_cuda::nvrtc::version()?);
    eprintln!(
        "NVRTC {nvrtc}: compiling {} program(s) for {}",
        vigil_kernels::ALL.len(),
        args.arch.join(", ")
    );
    let jobs: Vec<(&vigil_kernels::Program, &str)> = args
        .arch
        .iter()
        .flat_map(|arch| vigil_kernels::ALL.iter().map(move |p| (p, arch.as_str())))
        .collect();
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|&(program, arch)| {
                scope.spawn(move || (program, arch, vigil_cuda::nvrtc::compile(program, arch)))
            })
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    let mut failed = 0;
    for result in results {
        let Ok((program, arch, compiled)) = result else {
            bail!("a compiling thread panicked");
        };
        match compiled {
            Ok(c) => {
                let path = args.emit.join(format!("{}.{arch}.ptx", program.name));
                std::fs::write(&path, &c.ptx)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                println!(
                    "{}\t{arch}\t{:.1} s\t{} bytes\t{}",
                    program.name,
                    c.took.as_secs_f64(),
                    c.ptx.len(),
                    path.display()
                );
            }
            Err(e) => {
                eprintln!("{e}");
                failed += 1;
            }
        }
    }
    if failed > 0 {
        bail!("{failed} program(s) did not compile");
    }
    // What the PTX came from, for kernels/prebuilt/manifest.tsv (kernels/cuda-check.sh).
    let sources: String = vigil_kernels::ALL
        .iter()
        .map(|p| format!("{}\t{}\t{nvrtc}\n", p.name, p.source_hex()))
        .collect();
    let path = args.emit.join("sources.tsv");
    std::fs::write(&path, sources).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architectures_are_checked() {
        for ok in ["sm_80", "sm_90", "sm_90a", "sm_100", "sm_120f", "sm_50"] {
            assert_eq!(parse_arch(ok).as_deref(), Ok(ok));
        }
        for bad in [
            "",
            "sm_",
            "sm_9",
            "sm_1000",
            "compute_90",
            "sm_35",
            "sm_9x",
            "90",
        ] {
            assert!(parse_arch(bad).is_err(), "{bad}");
        }
    }
}
