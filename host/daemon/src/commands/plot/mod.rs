//! `vigil plot`: SVG charts of recorded benchmark results.
//!
//! `vigil bench --json` and `vigil loadgen --json` print one JSON object per run, and
//! `benches/results/*-raw.jsonl` keep them; this turns those files into the charts the
//! tables in `benches/results/` embed, so a chart is always drawn from the recorded
//! numbers and can be redrawn by anyone (`benches/plot.sh`).
//!
//! Each input gives its own charts, named after it (`cpu-raw.jsonl` gives
//! `cpu-throughput.svg`, `cpu-merkle.svg`, ...), each captioned with the machine, the
//! commits and the dates of the records it draws. The same input always gives the same
//! bytes, so a stale committed chart shows as a difference.
//!
//! Reading ([`records`]) is apart from choosing the charts ([`charts`]) and from
//! drawing them ([`draw`]).

mod charts;
mod draw;
mod records;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use clap::Args;

/// Arguments of `vigil plot`.
#[derive(Debug, Args)]
pub struct PlotArgs {
    /// A JSON Lines file of `vigil bench --json` / `vigil loadgen --json` records (bare
    /// or in `benches/daemon.sh`'s envelope); repeat for several.
    #[arg(long = "input", required = true)]
    inputs: Vec<PathBuf>,
    /// Folder the SVG files are written to (created if missing).
    #[arg(long)]
    out_dir: PathBuf,
}

/// Runs `vigil plot`.
pub fn run(args: &PlotArgs) -> anyhow::Result<()> {
    let mut planned = Vec::new();
    let mut names = BTreeSet::new();
    for input in &args.inputs {
        let read = records::read_file(input)?;
        let prefix = prefix(input)?;
        let (charts, notes) = charts::charts(&prefix, &read.records);
        for note in notes {
            eprintln!("note: {note}");
        }
        if read.skipped > 0 {
            eprintln!(
                "note: {}: {} record(s) of kinds no chart draws, skipped",
                input.display(),
                read.skipped
            );
        }
        for chart in charts {
            if !names.insert(chart.name.clone()) {
                bail!(
                    "two inputs make a chart named {} (inputs named alike?)",
                    chart.name
                );
            }
            planned.push(chart);
        }
    }
    if planned.is_empty() {
        bail!("nothing to draw: the inputs hold no signature, Merkle, latency, loadgen or crossover record");
    }
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    for chart in &planned {
        let svg = draw::svg(chart).with_context(|| chart.name.clone())?;
        let path = args.out_dir.join(&chart.name);
        std::fs::write(&path, svg).with_context(|| format!("cannot write {}", path.display()))?;
        println!("{}", path.display());
    }
    Ok(())
}

/// The chart-name prefix of an input: its file name without `.jsonl` and `-raw`.
fn prefix(input: &Path) -> anyhow::Result<String> {
    let name = input
        .file_name()
        .and_then(|n| n.to_str())
        .with_context(|| format!("{}: not a file name in UTF-8", input.display()))?;
    let stem = name.strip_suffix(".jsonl").unwrap_or(name);
    let stem = stem.strip_suffix("-raw").unwrap_or(stem);
    Ok(stem.to_owned())
}
