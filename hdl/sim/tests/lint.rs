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
    // It linted something: the compression core at least.
    assert!(
        stdout.contains("lint ok: vigil_blake3_compress"),
        "unexpected output:\n{stdout}"
    );
}
