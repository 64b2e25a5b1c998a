//! `vigil devices`: what can run here, and why the rest cannot.

use crate::backends;

/// Runs `vigil devices`.
pub fn run() -> anyhow::Result<()> {
    for probe in backends::probe_all(None) {
        match probe.status {
            Ok(found) => println!("{:<8} present  {found}", probe.name),
            Err(why) => println!("{:<8} absent   {why}", probe.name),
        }
        for device in &probe.devices {
            println!("{:<8}   {device}", "");
        }
    }
    Ok(())
}
