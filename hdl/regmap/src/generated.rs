//! Generated sources kept in the repository: which are stale, rewriting them, and the
//! `[--check | --write]` command line. The register map (this crate) and the
//! verification program (`vigil-ucode`) both generate checked-in RTL; one set of rules
//! serves both, so "current" means the same thing for each.

use std::path::PathBuf;
use std::process::ExitCode;

/// Generated files: each path with the contents its source gives it.
pub type Files = Vec<(PathBuf, String)>;

/// The files whose contents on disk differ from what was generated (a missing or
/// unreadable file differs).
pub fn stale(files: &[(PathBuf, String)]) -> Vec<PathBuf> {
    files
        .iter()
        .filter(|(path, want)| std::fs::read_to_string(path).ok().as_ref() != Some(want))
        .map(|(path, _)| path.clone())
        .collect()
}

/// Writes the stale files; returns those written. An error names the file.
pub fn write(files: &[(PathBuf, String)]) -> std::io::Result<Vec<PathBuf>> {
    let changed = stale(files);
    for (path, want) in files.iter().filter(|(p, _)| changed.contains(p)) {
        std::fs::write(path, want)
            .map_err(|e| std::io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    }
    Ok(changed)
}

/// A generator's command line: `args` empty or `--check` reports the stale files and
/// fails if any is; `--write` rewrites them. `tool` names the program in messages,
/// `what` the generated set, `usage` is printed for any other arguments.
pub fn main(
    tool: &str,
    what: &str,
    usage: &str,
    args: &[String],
    generate: impl FnOnce() -> Result<Files, String>,
) -> ExitCode {
    let write_mode = match args {
        [] => false,
        [a] if a == "--check" => false,
        [a] if a == "--write" => true,
        _ => {
            eprintln!("usage: {usage}");
            return ExitCode::from(2);
        }
    };
    let files = match generate() {
        Ok(files) => files,
        Err(e) => {
            eprintln!("{tool}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if write_mode {
        return match write(&files) {
            Ok(paths) => {
                for p in &paths {
                    println!("wrote {}", p.display());
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{tool}: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let paths = stale(&files);
    if paths.is_empty() {
        println!("{what}: generated files are current");
        return ExitCode::SUCCESS;
    }
    for p in &paths {
        eprintln!("stale: {} (run with --write)", p.display());
    }
    ExitCode::FAILURE
}
