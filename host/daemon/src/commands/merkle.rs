//! `vigil merkle`: the vigil-merkle-v1 root of leaves given as hex lines, and inclusion
//! proofs on request.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context as _};
use clap::Args;
use vigil_core::{merkle, Leaves};

use super::limits;
use crate::backends::{self, Choice};

/// Arguments of `vigil merkle`.
#[derive(Debug, Args)]
pub struct MerkleArgs {
    /// Leaves as hex, one per line (an empty line is an empty leaf); `-` for standard input.
    #[arg(long, default_value = "-")]
    input: PathBuf,
    /// Also print the inclusion proof of this leaf index (repeatable).
    #[arg(long = "proof", value_name = "INDEX")]
    proofs: Vec<u64>,
    /// Backend that computes the root (`fpga`, `fpga-sim`: the card; `auto`: the CPU,
    /// or a GPU for large trees).
    #[arg(long, value_enum, default_value = "auto")]
    backend: Choice,
    /// Worker threads, 1 to 1024 (default: one per core).
    #[arg(long, value_parser = limits::threads())]
    threads: Option<usize>,
}

/// Runs `vigil merkle`: prints the root as hex, or with `--proof`, one JSON object with
/// the root and the proofs.
pub fn run(args: MerkleArgs) -> anyhow::Result<()> {
    let input = super::read_input(&args.input)?;
    let leaves = Arc::new(parse_leaves(&input)?);
    drop(input);
    // Indices are checked before a backend is opened: a bad one fails at once.
    let mut indices = Vec::with_capacity(args.proofs.len());
    for &i in &args.proofs {
        match usize::try_from(i) {
            Ok(i) if i < leaves.len() => indices.push(i),
            _ => bail!(
                "--proof {i} is out of range: the tree has {} leaves",
                leaves.len()
            ),
        }
    }
    let backend = backends::open(args.backend, args.threads)?;
    let root = backend
        .merkle_root(leaves.clone())
        .wait()
        .context("Merkle root failed")?;
    if indices.is_empty() {
        println!("{}", hex::encode(root));
        return Ok(());
    }
    let proofs = merkle::inclusion_proofs(&leaves, &indices)?;
    let proofs: Vec<serde_json::Value> = proofs
        .iter()
        .map(|p| {
            serde_json::json!({
                "index": p.index,
                "path": p.path.iter().map(hex::encode).collect::<Vec<_>>(),
            })
        })
        .collect();
    let out = serde_json::json!({
        "root": hex::encode(root),
        "tree_size": leaves.len(),
        "proofs": proofs,
    });
    println!("{out}");
    Ok(())
}

/// One leaf per line, hex; a bad line makes the whole input unusable (a root over a
/// guessed leaf would be wrong), so it is an error naming the line.
fn parse_leaves(input: &[u8]) -> anyhow::Result<Leaves> {
    let mut leaves = Leaves::with_capacity(0, input.len() / 2);
    let mut buf = Vec::new();
    for (n, line) in vigil_core::input::lines(input).enumerate() {
        buf.clear();
        buf.resize(line.len() / 2, 0);
        if line.len() % 2 != 0 || hex::decode_to_slice(line, &mut buf).is_err() {
            bail!("line {}: a leaf must be hex", n + 1);
        }
        leaves.push(&buf)?;
    }
    Ok(leaves)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn leaves_from_lines() {
        let l = parse_leaves(b"00ff\n\nAB\r\n").unwrap();
        assert_eq!(l.len(), 3);
        assert_eq!(l.get(0), &[0, 255]);
        assert_eq!(l.get(1), b"");
        assert_eq!(l.get(2), &[0xab]);
        assert_eq!(parse_leaves(b"").unwrap().len(), 0);
        assert_eq!(parse_leaves(b"\n").unwrap().len(), 1);
        let e = parse_leaves(b"00\nzz\n").unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        assert!(parse_leaves(b"abc").is_err());
    }
}
