//! `vigil-ucode`: renders the verification engine's generated RTL from the program.
//!
//! `--write` regenerates the files; with no argument (or `--check`) it only reports the
//! ones that are stale and exits 1 if any is. `--stats` prints the program's size and
//! turns per signature; `--dump` prints every bundle of the schedule.

use std::process::ExitCode;

use vigil_regmap::generated;

const USAGE: &str = "vigil-ucode [--check | --write | --stats | --dump]";

fn main() -> ExitCode {
    let root = vigil_regmap::repo_root();
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args == ["--dump"] {
        let show = |i: &vigil_ucode::isa::Instr| {
            use vigil_ucode::isa::Src;
            format!(
                "{:?} {} {:?} {:?} f{}",
                i.op,
                i.dst,
                Src::decode(i.a),
                Src::decode(i.b),
                i.f
            )
        };
        for (pc, b) in vigil_ucode::scheduled().bundles.iter().enumerate() {
            println!("{pc:4}  M: {:40} A: {}", show(&b.m), show(&b.a));
        }
        return ExitCode::SUCCESS;
    }
    if args == ["--stats"] {
        let s = vigil_ucode::scheduled();
        println!("bundles: {}", s.bundles.len());
        for (span, runs) in s.spans.iter().zip(vigil_ucode::block_runs(&s)) {
            println!(
                "  block at {}: {} bundles, run {} time(s) per signature",
                span.start, span.len, runs
            );
        }
        println!(
            "turns per signature: {} ({} multiplications, {} other operations)",
            vigil_ucode::issues_per_signature(),
            vigil_ucode::per_signature(|i| i.op == vigil_ucode::isa::Op::Mul),
            vigil_ucode::per_signature(|i| i.op != vigil_ucode::isa::Op::Mul)
        );
        return ExitCode::SUCCESS;
    }
    generated::main("vigil-ucode", "verification program", USAGE, &args, || {
        Ok(vigil_ucode::render::generate(&root))
    })
}
