//! `vigil-ucode`: renders the verification engine's generated RTL from the program.
//!
//! `--write` regenerates the files; with no argument (or `--check`) it only reports the
//! ones that are stale and exits 1 if any is. `--stats` prints the program's size and
//! issue slots per signature.

use std::process::ExitCode;

use vigil_regmap::generated;

const USAGE: &str = "vigil-ucode [--check | --write | --stats]";

fn main() -> ExitCode {
    let root = vigil_regmap::repo_root();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args == ["--stats"] {
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
    generated::main("vigil-ucode", "verification program", USAGE, &args, || {
        Ok(vigil_ucode::render::generate(&root))
    })
}
