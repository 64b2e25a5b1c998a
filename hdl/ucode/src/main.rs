//! `vigil-ucode`: renders the verification engine's generated RTL from the program.
//!
//! `--write` regenerates the files; with no argument (or `--check`) it only reports the
//! ones that are stale and exits 1 if any is. `--stats` prints the program's size and
//! issue slots per signature.

use std::process::ExitCode;

fn main() -> ExitCode {
    let root = vigil_ucode::render::repo_root();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = match args.as_slice() {
        [] => "--check",
        [a] if a == "--check" || a == "--write" || a == "--stats" => a.as_str(),
        _ => {
            eprintln!("usage: vigil-ucode [--check | --write | --stats]");
            return ExitCode::from(2);
        }
    };
    if mode == "--stats" {
        let code = vigil_ucode::program::program();
        let alu = code.iter().filter(|i| i.op.uses_alu()).count();
        println!("instructions: {} ({} through the ALU)", code.len(), alu);
        println!(
            "issue slots per signature: {} ({} through the ALU)",
            vigil_ucode::issues_per_signature(),
            vigil_ucode::per_signature(|i| i.op.uses_alu())
        );
        return ExitCode::SUCCESS;
    }
    let result = if mode == "--write" {
        vigil_ucode::render::write(&root)
    } else {
        vigil_ucode::render::check(&root)
    };
    match result {
        Ok(paths) if mode == "--write" => {
            for p in &paths {
                println!("wrote {}", p.display());
            }
            ExitCode::SUCCESS
        }
        Ok(paths) if paths.is_empty() => {
            println!("verification program: generated files are current");
            ExitCode::SUCCESS
        }
        Ok(paths) => {
            for p in &paths {
                eprintln!("stale: {} (run with --write)", p.display());
            }
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("vigil-ucode: {e}");
            ExitCode::FAILURE
        }
    }
}
