//! One kernel command at a time in this process on PoCL releases before 6.0.
//!
//! PoCL before 6.0 keeps a process-wide cache of loaded work-group functions, one entry
//! per kernel, local size and grid width. A command takes a reference on the entry it
//! runs; at its end PoCL looks the entry up again by kernel and local size only and
//! releases the first it finds. When a command of one kernel is still running and a
//! wider command of the same kernel adds a new entry at the front, the first command's
//! end releases the new entry, and the second's end finds it at zero references and
//! aborts the process (`pocl_release_dlhandle_cache: Assertion 'found->ref_count > 0'`).
//! Vigil meets this as soon as two slots run batches of different sizes: seen in CI as
//! an abort in about one `vigil conformance --backend opencl` run in ten, on Debian 12's
//! PoCL 3.1. PoCL 6.0 keeps the entry with the command and releases that one.
//!
//! The remedy here: on an affected PoCL, each device queue has one slot, and a batch
//! holds the process's single [`Turn`] from its enqueue until its wait returns, so no
//! two kernel commands (of any queue, context or device in this process) overlap and
//! every release finds the entry its own command took. Within one in-order queue PoCL
//! starts a command only after the one before it has ended. PoCL is a CPU device, used
//! only when asked for by name; the cost is that its batches do not overlap.

use std::sync::{Condvar, Mutex};

/// Whether the platform (its name and version, as `DeviceSummary::platform_version`
/// holds them) is a PoCL release with the cache bug: any PoCL whose major version is
/// below 6, and any PoCL whose version cannot be read (the safe side).
pub fn needs_serial_commands(platform_version: &str) -> bool {
    let Some(at) = platform_version.find("PoCL ") else {
        return false;
    };
    let rest = &platform_version[at + "PoCL ".len()..];
    let major: String = rest.chars().take_while(char::is_ascii_digit).collect();
    major.parse::<u32>().map_or(true, |m| m < 6)
}

/// Whether some batch in this process holds the turn.
static BUSY: Mutex<bool> = Mutex::new(false);
static FREED: Condvar = Condvar::new();

/// The right to have kernel commands in flight on an affected PoCL; given back when
/// dropped.
#[derive(Debug)]
pub struct Turn(());

impl Turn {
    /// Waits until no other batch in this process holds the turn, then takes it.
    pub fn take() -> Turn {
        let mut busy = BUSY.lock().unwrap_or_else(|p| p.into_inner());
        while *busy {
            busy = FREED.wait(busy).unwrap_or_else(|p| p.into_inner());
        }
        *busy = true;
        Turn(())
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        *BUSY.lock().unwrap_or_else(|p| p.into_inner()) = false;
        FREED.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn affected_versions() {
        let debian12 = "Portable Computing Language OpenCL 3.0 PoCL 3.1+debian  Linux, \
                        None+Asserts, RELOC, LLVM 15.0.6, SLEEF, DISTRO, POCL_DEBUG";
        assert!(needs_serial_commands(debian12));
        assert!(needs_serial_commands(
            "Portable Computing Language OpenCL 3.0 PoCL 5.0+debian Linux"
        ));
        assert!(needs_serial_commands("Portable Computing Language PoCL x"));
        assert!(!needs_serial_commands(
            "Portable Computing Language OpenCL 3.0 PoCL 6.0+debian Linux"
        ));
        assert!(!needs_serial_commands(
            "Portable Computing Language OpenCL 3.0 PoCL 7.1 Linux"
        ));
        assert!(!needs_serial_commands(
            "NVIDIA CUDA OpenCL 3.0 CUDA 12.4.131"
        ));
    }

    #[test]
    fn one_turn_at_a_time() {
        let holders = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (holders, most) = (Arc::clone(&holders), Arc::clone(&most));
                std::thread::spawn(move || {
                    for _ in 0..200 {
                        let turn = Turn::take();
                        let now = holders.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        holders.fetch_sub(1, Ordering::SeqCst);
                        drop(turn);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
    }
}
