//! `vigil-card-sim`: the simulated FPGA card (the card's RTL under Verilator) served on
//! a Unix socket, for `vigil ... --backend fpga-sim` and the driver's tests. The socket
//! protocol is in `vigil_hdl_sim::card`.
//!
//! Usage: `vigil-card-sim [--socket PATH] [--engines N]`. The default path is the
//! driver's: `$VIGIL_FPGA_SIM`, else `$XDG_RUNTIME_DIR/vigil-card-sim.sock`, else
//! `/tmp/vigil-card-sim.sock`. `--engines` picks the card model by its number of Ed25519
//! verification engines (`vigil_hdl_sim::card::ENGINE_COUNTS`: 1, the default, with one
//! SHA-512 core; 2, with two; 4, with two); the card reports its counts in VERIFY_SLOTS.

use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use vigil_hdl_sim::card::{serve, Card, BUILD_HASH, ENGINE_COUNTS};

fn default_socket() -> PathBuf {
    if let Some(p) = std::env::var_os("VIGIL_FPGA_SIM") {
        return PathBuf::from(p);
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) => PathBuf::from(dir).join("vigil-card-sim.sock"),
        None => std::env::temp_dir().join("vigil-card-sim.sock"),
    }
}

/// The socket path and the number of engines, or `None` for a bad command line.
fn parse_args(args: &[String]) -> Option<(PathBuf, u32)> {
    let mut path = None;
    let mut engines = None;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let value = it.next()?;
        match flag.as_str() {
            "--socket" if path.is_none() => path = Some(PathBuf::from(value)),
            "--engines" if engines.is_none() => engines = Some(value.parse().ok()?),
            _ => return None,
        }
    }
    Some((path.unwrap_or_else(default_socket), engines.unwrap_or(1)))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((path, engines)) = parse_args(&args) else {
        eprintln!("usage: vigil-card-sim [--socket PATH] [--engines N]  (N: {ENGINE_COUNTS:?})");
        return ExitCode::from(2);
    };
    let mut card = match Card::with_engines(engines) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("vigil-card-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    // A socket file left by an earlier run would make bind fail.
    if path.exists() {
        let _ = std::fs::remove_file(&path);
    }
    let listener = match UnixListener::bind(&path) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("vigil-card-sim: cannot listen on {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    };
    println!(
        "vigil-card-sim: vigil_card_top, {engines} verification engine(s) (build hash \
         {BUILD_HASH:016x}) on {}",
        path.display()
    );
    let stop = AtomicBool::new(false);
    match serve(&mut card, &listener, &stop) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("vigil-card-sim: {e}");
            ExitCode::FAILURE
        }
    }
}
