//! `hdl/lint.sh` as a test: Verilator `-Wall` over every RTL module, each as the top, no
//! warnings. Fails (never skips) where Verilator is missing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

#[test]
fn rtl_lints_clean() {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../lint.sh");
    let out = Command::new("bash")
        .arg(script)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {script}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{script} failed ({}):\n{stdout}{stderr}",
        out.status
    );
    // It linted every module under hdl/rtl (packages are linted together).
    let rtl = concat!(env!("CARGO_MANIFEST_DIR"), "/../rtl");
    let mut modules = 0;
    for entry in std::fs::read_dir(rtl).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if let Some(top) = name.strip_suffix(".sv") {
            if !top.ends_with("_pkg") {
                modules += 1;
                assert!(
                    stdout.contains(&format!("lint ok: {top}\n")),
                    "{top} was not linted:\n{stdout}"
                );
            }
        }
    }
    assert!(modules >= 3, "too few modules under {rtl}");
}
