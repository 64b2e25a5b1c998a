//! `vigil-card-sim`: the simulated FPGA card (the card's RTL under Verilator) served on
//! a Unix socket, for `vigil ... --backend fpga-sim` and the driver's tests. The socket
//! protocol is in `vigil_hdl_sim::card`.
//!
//! Usage: `vigil-card-sim [--socket PATH]`. The default path is the driver's:
//! `$VIGIL_FPGA_SIM`, else `$XDG_RUNTIME_DIR/vigil-card-sim.sock`, else
//! `/tmp/vigil-card-sim.sock`.

use std::os::unix::net::UnixListener;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

use vigil_hdl_sim::card::{serve, Card, BUILD_HASH};

fn default_socket() -> PathBuf {
    if let Some(p) = std::env::var_os("VIGIL_FPGA_SIM") {
        return PathBuf::from(p);
    }
    match std::env::var_os("XDG_RUNTIME_DIR") {
        Some(dir) => PathBuf::from(dir).join("vigil-card-sim.sock"),
        None => std::env::temp_dir().join("vigil-card-sim.sock"),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = match args.as_slice() {
        [] => default_socket(),
        [flag, p] if flag == "--socket" => PathBuf::from(p),
        _ => {
            eprintln!("usage: vigil-card-sim [--socket PATH]");
            return ExitCode::from(2);
        }
    };
    let mut card = match Card::new() {
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
        "vigil-card-sim: vigil_card_top (build hash {BUILD_HASH:016x}) on {}",
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
