//! `vigil devices`: what can run here, and why the rest cannot.
//!
//! One probe ([`backends::probe_all`]) feeds two renderings: the aligned text listing
//! for people, and with `--json` one JSON document for provisioning scripts and
//! monitoring, which must not have to parse the text (its columns and wording may
//! change; the JSON field names may not).

use std::io::{self, Write};

use anyhow::Context as _;
use clap::Args;
use serde::Serialize;

use crate::backends::{self, DeviceProbe, PathProbe, Probe};

/// Options of `vigil devices`.
#[derive(Debug, Args)]
pub struct DevicesArgs {
    /// Write one JSON document to stdout instead of the text listing
    ///
    /// The document is {"families": [...]}, one object per backend family, in the
    /// text listing's order:
    ///   name       the family's --backend name
    ///   present    true or false
    ///   detail     what was found when present, why it is absent otherwise
    ///   devices    one object per device found (empty when none):
    ///                description, in_use (true or false),
    ///                detail (the note when in use, why not otherwise)
    ///   paths      the CPU family's verification paths (empty for the others):
    ///                name (as VIGIL_CPU_PATH takes it), label,
    ///                supported (true or false), detail
    ///   nvrtc      only for cuda, when it is absent: whether this machine can still
    ///              compile the kernels: present (true or false),
    ///              version ("MAJOR.MINOR" or null), detail
    #[arg(long, verbatim_doc_comment)]
    json: bool,
}

/// Runs `vigil devices`.
pub fn run(args: &DevicesArgs) -> anyhow::Result<()> {
    let probes = backends::probe_all(None);
    let stdout = io::stdout();
    let mut out = stdout.lock();
    if args.json {
        write_json(&probes, &mut out)
    } else {
        write_text(&probes, &mut out)
    }
    .and_then(|()| out.flush())
    .context("cannot write the device listing to stdout")
}

/// The text listing: one line per family, its devices and paths indented below it.
fn write_text(probes: &[Probe], out: &mut impl Write) -> io::Result<()> {
    for probe in probes {
        match &probe.status {
            Ok(found) => writeln!(out, "{:<8} present  {found}", probe.name)?,
            Err(why) => writeln!(out, "{:<8} absent   {why}", probe.name)?,
        }
        for device in &probe.devices {
            match &device.status {
                Ok(note) => writeln!(out, "{:<8}   in use    {} ({note})", "", device.description)?,
                Err(why) => writeln!(out, "{:<8}   not used  {}: {why}", "", device.description)?,
            }
        }
        for path in &probe.paths {
            let detail = match &path.status {
                Ok(note) => note,
                Err(why) => why.as_str(),
            };
            writeln!(out, "{:<8}   path      {}: {detail}", "", path.label)?;
        }
        if let Some(nvrtc) = &probe.nvrtc {
            writeln!(out, "{:<8}   nvrtc     {}", "", nvrtc_detail(nvrtc))?;
        }
    }
    Ok(())
}

/// The document: pretty-printed, with a final newline.
fn write_json(probes: &[Probe], out: &mut impl Write) -> io::Result<()> {
    let listing = Listing {
        families: probes.iter().map(Family::from).collect(),
    };
    serde_json::to_writer_pretty(&mut *out, &listing)?;
    writeln!(out)
}

/// What the CUDA probe says about NVRTC when there is no GPU.
fn nvrtc_detail(nvrtc: &Result<(i32, i32), String>) -> String {
    match nvrtc {
        Ok((major, minor)) => {
            format!("NVRTC {major}.{minor} is present: `vigil kernels` compiles the kernels here")
        }
        Err(why) => why.clone(),
    }
}

/// The JSON document's top level (an object, so that fields can be added later).
#[derive(Serialize)]
struct Listing<'a> {
    families: Vec<Family<'a>>,
}

#[derive(Serialize)]
struct Family<'a> {
    name: &'a str,
    present: bool,
    detail: &'a str,
    devices: Vec<Device<'a>>,
    paths: Vec<Path<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nvrtc: Option<Nvrtc>,
}

#[derive(Serialize)]
struct Device<'a> {
    description: &'a str,
    in_use: bool,
    detail: &'a str,
}

#[derive(Serialize)]
struct Path<'a> {
    name: &'a str,
    label: &'a str,
    supported: bool,
    detail: &'a str,
}

#[derive(Serialize)]
struct Nvrtc {
    present: bool,
    version: Option<String>,
    detail: String,
}

impl<'a> From<&'a Probe> for Family<'a> {
    fn from(probe: &'a Probe) -> Family<'a> {
        let (present, detail) = split(&probe.status);
        Family {
            name: probe.name,
            present,
            detail,
            devices: probe.devices.iter().map(Device::from).collect(),
            paths: probe.paths.iter().map(Path::from).collect(),
            nvrtc: probe.nvrtc.as_ref().map(|nvrtc| Nvrtc {
                present: nvrtc.is_ok(),
                version: nvrtc
                    .as_ref()
                    .ok()
                    .map(|(major, minor)| format!("{major}.{minor}")),
                detail: nvrtc_detail(nvrtc),
            }),
        }
    }
}

impl<'a> From<&'a DeviceProbe> for Device<'a> {
    fn from(device: &'a DeviceProbe) -> Device<'a> {
        let (in_use, detail) = split(&device.status);
        Device {
            description: &device.description,
            in_use,
            detail,
        }
    }
}

impl<'a> From<&'a PathProbe> for Path<'a> {
    fn from(path: &'a PathProbe) -> Path<'a> {
        let (supported, detail) = match &path.status {
            Ok(note) => (true, *note),
            Err(why) => (false, why.as_str()),
        };
        Path {
            name: path.name,
            label: &path.label,
            supported,
            detail,
        }
    }
}

/// Whether a status is good, and its text either way.
fn split(status: &Result<String, String>) -> (bool, &str) {
    match status {
        Ok(note) => (true, note),
        Err(why) => (false, why),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// One family of every shape the probes make.
    fn probes() -> Vec<Probe> {
        vec![
            Probe {
                name: "cuda",
                status: Err("no driver".into()),
                devices: Vec::new(),
                paths: Vec::new(),
                nvrtc: Some(Ok((12, 4))),
            },
            Probe {
                name: "opencl",
                status: Ok("1 device(s) in service".into()),
                devices: vec![
                    DeviceProbe {
                        description: "gpu0 (vendor)".into(),
                        status: Ok("self-test passed".into()),
                    },
                    DeviceProbe {
                        description: "gpu1".into(),
                        status: Err("self-test failed".into()),
                    },
                ],
                paths: Vec::new(),
                nvrtc: None,
            },
            Probe {
                name: "cpu",
                status: Ok("2 threads, avx2 (4 lanes)".into()),
                devices: Vec::new(),
                paths: vec![
                    PathProbe {
                        name: "avx512ifma",
                        label: "avx512ifma".into(),
                        status: Err("this CPU does not support the avx512ifma path".into()),
                    },
                    PathProbe {
                        name: "reference",
                        label: "reference crates".into(),
                        status: Ok("always"),
                    },
                ],
                nvrtc: None,
            },
        ]
    }

    /// The text is what `vigil devices` printed before the probe became data.
    #[test]
    fn text_keeps_its_layout() {
        let mut out = Vec::new();
        write_text(&probes(), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "cuda     absent   no driver\n\
             \x20          nvrtc     NVRTC 12.4 is present: `vigil kernels` compiles the kernels here\n\
             opencl   present  1 device(s) in service\n\
             \x20          in use    gpu0 (vendor) (self-test passed)\n\
             \x20          not used  gpu1: self-test failed\n\
             cpu      present  2 threads, avx2 (4 lanes)\n\
             \x20          path      avx512ifma: this CPU does not support the avx512ifma path\n\
             \x20          path      reference crates: always\n"
        );
    }

    #[test]
    fn json_carries_the_same_facts() {
        let mut out = Vec::new();
        write_json(&probes(), &mut out).unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(
            doc,
            serde_json::json!({"families": [
                {"name": "cuda", "present": false, "detail": "no driver",
                 "devices": [], "paths": [],
                 "nvrtc": {"present": true, "version": "12.4",
                           "detail": "NVRTC 12.4 is present: `vigil kernels` compiles the kernels here"}},
                {"name": "opencl", "present": true, "detail": "1 device(s) in service",
                 "devices": [
                     {"description": "gpu0 (vendor)", "in_use": true, "detail": "self-test passed"},
                     {"description": "gpu1", "in_use": false, "detail": "self-test failed"}],
                 "paths": []},
                {"name": "cpu", "present": true, "detail": "2 threads, avx2 (4 lanes)",
                 "devices": [],
                 "paths": [
                     {"name": "avx512ifma", "label": "avx512ifma", "supported": false,
                      "detail": "this CPU does not support the avx512ifma path"},
                     {"name": "reference", "label": "reference crates", "supported": true,
                      "detail": "always"}]}
            ]})
        );
    }
}
