//! `vigil-regmap`: renders the card's register map from `hdl/regmap.json`.
//!
//! `--write` regenerates the files; with no argument (or `--check`) it only reports the
//! ones that are stale and exits 1 if any is.

use std::process::ExitCode;

fn main() -> ExitCode {
    let root = vigil_regmap::repo_root();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let write = match args.as_slice() {
        [] => false,
        [a] if a == "--check" => false,
        [a] if a == "--write" => true,
        _ => {
            eprintln!("usage: vigil-regmap [--check | --write]");
            return ExitCode::from(2);
        }
    };
    let result = if write {
        vigil_regmap::write(&root)
    } else {
        vigil_regmap::check(&root)
    };
    match result {
        Ok(paths) if write => {
            for p in &paths {
                println!("wrote {}", p.display());
            }
            ExitCode::SUCCESS
        }
        Ok(paths) if paths.is_empty() => {
            println!("register map: generated files are current");
            ExitCode::SUCCESS
        }
        Ok(paths) => {
            for p in &paths {
                eprintln!("stale: {} (run with --write)", p.display());
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("vigil-regmap: {e}");
            ExitCode::FAILURE
        }
    }
}
