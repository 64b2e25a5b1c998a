//! `vigil-regmap`: renders the card's register map from `hdl/regmap.json`.
//!
//! `--write` regenerates the files; with no argument (or `--check`) it only reports the
//! ones that are stale and exits 1 if any is.

use std::process::ExitCode;

use vigil_regmap::generated;

fn main() -> ExitCode {
    let root = vigil_regmap::repo_root();
    let args: Vec<String> = std::env::args().skip(1).collect();
    generated::main(
        "vigil-regmap",
        "register map",
        "vigil-regmap [--check | --write]",
        &args,
        || vigil_regmap::generate(&root).map_err(|e| e.to_string()),
    )
}
