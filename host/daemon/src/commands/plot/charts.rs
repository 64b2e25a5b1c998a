//! Which charts the records of one input make, as plain data (no drawing here, so the
//! choices can be tested without reading SVG).
//!
//! * **Throughput**: every signature run as a bar, beside its same-run single-thread
//!   baseline (the figure is meaningless without it).
//! * **Throughput against batch size**: where one configuration (backend, CPU path,
//!   threads, profile, transaction shape, commit) was measured at two or more sizes; a
//!   line per configuration, dashed baselines per profile.
//! * **Merkle**: backend, serial tree and per-leaf baseline times as bars.
//! * **Latency**: one chart per run name (the envelope's) or per batch shape, a line per
//!   run from minimum to maximum on a percentile axis that spreads the tail.
//! * **Crossover**: device and CPU time per batch size, per device backend, with the
//!   size from which the device is used.
//!
//! Labels name only what differs between the things on one chart; what all share goes
//! in the subtitle with the machine, commits and dates, so every chart says where its
//! numbers came from.

use std::collections::BTreeMap;

use super::records::{Crossover, Latency, Measured, Merkle, Record, Signatures};

/// One chart to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// File name, `.svg` included.
    pub name: String,
    /// First line of the caption.
    pub title: String,
    /// Lines under it: what every series shares, then machine, commits and dates.
    pub subtitle: Vec<String>,
    /// What is drawn.
    pub plot: Plot,
}

/// The two forms of chart.
#[derive(Debug, Clone, PartialEq)]
pub enum Plot {
    /// Horizontal bars, a group per row.
    Bars(Bars),
    /// Lines over two numeric axes.
    Lines(Lines),
}

/// Rows of grouped horizontal bars.
#[derive(Debug, Clone, PartialEq)]
pub struct Bars {
    /// What the bars' length measures.
    pub axis: String,
    /// How values are written beside the bars.
    pub unit: Unit,
    /// Row labels, top to bottom.
    pub rows: Vec<String>,
    /// A bar in every row per series (`None`: not measured).
    pub series: Vec<(String, Vec<Option<f64>>)>,
}

/// How a value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A rate, rounded, with thousands separators.
    Rate,
    /// Milliseconds, three significant digits.
    Millis,
}

/// Lines over two axes.
#[derive(Debug, Clone, PartialEq)]
pub struct Lines {
    /// Horizontal axis.
    pub x: Axis,
    /// Vertical axis (always logarithmic).
    pub y: String,
    /// The lines.
    pub series: Vec<Line>,
    /// Vertical marks: `(x, label)`.
    pub marks: Vec<(f64, String)>,
}

/// A horizontal axis.
#[derive(Debug, Clone, PartialEq)]
pub enum Axis {
    /// Logarithmic, with this label.
    Log(String),
    /// Percentiles, `x = -log10(1 - q)`: p0 at 0, p90 at 1, p99 at 2, and so on.
    Nines,
}

/// One line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Legend entry (`None`: not in the legend).
    pub name: Option<String>,
    /// Points in axis units (`Axis::Nines` already transformed).
    pub points: Vec<(f64, f64)>,
    /// Drawn dashed (baselines, the CPU side).
    pub dashed: bool,
    /// Index into the palette.
    pub color: usize,
}

/// Every chart of one input's records, and notes on charts not made.
pub fn charts(prefix: &str, records: &[Record]) -> (Vec<Chart>, Vec<String>) {
    let mut out = Vec::new();
    let mut notes = Vec::new();
    let sigs: Vec<(&Record, &Signatures)> = records
        .iter()
        .filter_map(|r| match &r.measured {
            Measured::Signatures(s) => Some((r, s)),
            _ => None,
        })
        .collect();
    if !sigs.is_empty() {
        out.push(throughput(prefix, &sigs));
        match by_size(prefix, &sigs) {
            Some(chart) => out.push(chart),
            None => notes.push(format!(
                "{prefix}: no throughput-against-batch-size chart: no configuration was \
                 measured at two or more batch sizes"
            )),
        }
    }
    let merkles: Vec<(&Record, &Merkle)> = records
        .iter()
        .filter_map(|r| match &r.measured {
            Measured::Merkle(m) => Some((r, m)),
            _ => None,
        })
        .collect();
    if !merkles.is_empty() {
        out.push(merkle(prefix, &merkles));
    }
    let mut latency: BTreeMap<(String, String), Vec<(&Record, &Latency)>> = BTreeMap::new();
    let mut crossovers: BTreeMap<String, Vec<(&Record, &Crossover)>> = BTreeMap::new();
    for r in records {
        match &r.measured {
            Measured::Latency(l) => latency.entry(latency_group(r, l)).or_default().push((r, l)),
            Measured::Crossover(c) => crossovers
                .entry(c.backend.clone())
                .or_default()
                .push((r, c)),
            _ => {}
        }
    }
    for (group, runs) in &latency {
        out.push(latency_chart(prefix, group, runs));
    }
    for (backend, runs) in &crossovers {
        out.push(crossover(prefix, backend, runs));
    }
    (out, notes)
}

/// `(name, value)` pairs describing a thing on a chart, in a fixed order; an empty value
/// means the record does not say.
type Facets = Vec<(&'static str, String)>;

/// Facets shown on a label only where they differ from what most things share (the
/// shape of the transactions): naming them on every row would bury what the rows are
/// about.
const BY_EXCEPTION: [&str; 5] = ["form", "signers", "invalid", "msg", "size"];
/// Facets never in the shared subtitle line (the provenance line names the commits).
const NOT_SHARED: [&str; 1] = ["commit"];

/// Labels from the facets that differ between `items` (all share one facet order), and
/// the shared ones joined for a subtitle. A thing with no differing facet is `single`.
/// A [`BY_EXCEPTION`] facet is named only on things that differ from its most common
/// value, which the subtitle gives ("unless noted").
fn label(items: &[Facets], single: &str) -> (Vec<String>, String) {
    let Some(first) = items.first() else {
        return (Vec::new(), String::new());
    };
    let width = first.len();
    let differs = |k: usize| items.iter().any(|f| f[k].1 != first[k].1);
    // The most common value of facet k (the first such, for ties).
    let usual = |k: usize| -> &str {
        let mut best = ("", 0);
        for f in items {
            let n = items.iter().filter(|g| g[k].1 == f[k].1).count();
            if n > best.1 {
                best = (f[k].1.as_str(), n);
            }
        }
        best.0
    };
    let exceptional = |k: usize| differs(k) && BY_EXCEPTION.contains(&first[k].0);
    let labels = items
        .iter()
        .map(|f| {
            let parts: Vec<&str> = (0..width)
                .filter(|&k| differs(k) && !f[k].1.is_empty())
                .filter(|&k| !exceptional(k) || f[k].1 != usual(k))
                .map(|k| f[k].1.as_str())
                .collect();
            if parts.is_empty() {
                single.to_owned()
            } else {
                parts.join(", ")
            }
        })
        .collect();
    let mut shared: Vec<String> = Vec::new();
    let mut noted = false;
    for (k, (name, value)) in first.iter().enumerate() {
        if NOT_SHARED.contains(name) {
            continue;
        }
        let value = if exceptional(k) {
            noted = true;
            usual(k)
        } else if differs(k) {
            continue;
        } else {
            value.as_str()
        };
        if !value.is_empty() {
            shared.push(value.to_owned());
        }
    }
    let mut shared = shared.join(", ");
    if noted {
        shared.push_str(" (unless noted)");
    }
    (labels, shared)
}

/// `n` and the noun, plural unless `n` is 1.
fn count(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// Machine, commits and dates of `records`, for the last subtitle line.
fn provenance<'a>(records: impl IntoIterator<Item = &'a Record>) -> String {
    let mut machines: Vec<String> = Vec::new();
    let mut commits: Vec<String> = Vec::new();
    let mut dates: Vec<String> = Vec::new();
    for r in records {
        let p = &r.provenance;
        let machine = if p.cores > 0 {
            format!("{}, {} cores", p.cpu, p.cores)
        } else {
            p.cpu.clone()
        };
        for (list, item) in [
            (&mut machines, machine),
            (&mut commits, p.commit.clone()),
            (&mut dates, p.date.clone()),
        ] {
            if !list.contains(&item) {
                list.push(item);
            }
        }
    }
    dates.sort();
    let commits = match commits.as_slice() {
        [one] => format!("commit {one}"),
        [_, _] | [_, _, _] => format!("commits {}", commits.join(", ")),
        [first, .., last] => format!("{} commits, {first} to {last}", commits.len()),
        [] => String::new(),
    };
    let dates = match (dates.first(), dates.last()) {
        (Some(a), Some(b)) if a != b => format!("{a} to {b}"),
        (Some(a), _) => a.clone(),
        _ => String::new(),
    };
    format!("{}; {commits}; {dates}", machines.join(" / "))
}

/// Subtitle lines: the shared facets (if any), then provenance.
fn subtitle(shared: String, provenance: String) -> Vec<String> {
    [shared, provenance]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect()
}

/// `1234567` as `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn signature_facets(r: &Record, s: &Signatures, with_size: bool) -> Facets {
    let invalid = if s.invalid_transactions == 0 || s.transactions == 0 {
        "all valid".to_owned()
    } else {
        let pct = 100.0 * s.invalid_transactions as f64 / s.transactions as f64;
        format!("{pct:.1} % invalid")
    };
    vec![
        ("run", r.run.clone().unwrap_or_default()),
        ("commit", r.provenance.commit.clone()),
        ("backend", s.backend.clone()),
        ("path", s.cpu_path.clone().unwrap_or_default()),
        (
            "threads",
            s.threads
                .map(|t| count(t, "thread", "threads"))
                .unwrap_or_default(),
        ),
        ("profile", s.profile.clone()),
        ("form", format!("{} form", s.format)),
        (
            "signers",
            count(s.signers, "signer a transaction", "signers a transaction"),
        ),
        ("invalid", invalid),
        ("msg", format!("messages of {} bytes", s.msg_len)),
        (
            "size",
            if with_size {
                count(s.signatures, "signature", "signatures")
            } else {
                String::new()
            },
        ),
    ]
}

fn throughput(prefix: &str, sigs: &[(&Record, &Signatures)]) -> Chart {
    let facets: Vec<Facets> = sigs
        .iter()
        .map(|(r, s)| signature_facets(r, s, true))
        .collect();
    let (rows, shared) = label(&facets, &sigs[0].1.backend);
    Chart {
        name: format!("{prefix}-throughput.svg"),
        title: "Ed25519 signatures verified per second, best run".to_owned(),
        subtitle: subtitle(shared, provenance(sigs.iter().map(|(r, _)| *r))),
        plot: Plot::Bars(Bars {
            axis: "signatures per second".to_owned(),
            unit: Unit::Rate,
            rows,
            series: vec![
                (
                    "backend".to_owned(),
                    sigs.iter().map(|(_, s)| Some(s.sigs_per_sec)).collect(),
                ),
                (
                    "baseline: reference crate, 1 thread, same run".to_owned(),
                    sigs.iter()
                        .map(|(_, s)| Some(s.baseline_sigs_per_sec))
                        .collect(),
                ),
            ],
        }),
    }
}

fn by_size(prefix: &str, sigs: &[(&Record, &Signatures)]) -> Option<Chart> {
    // Configurations in order of first appearance, each with its runs.
    let mut groups: Vec<(Facets, Vec<(&Record, &Signatures)>)> = Vec::new();
    for &(r, s) in sigs {
        let key = signature_facets(r, s, false);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, runs)) => runs.push((r, s)),
            None => groups.push((key, vec![(r, s)])),
        }
    }
    groups.retain(|(_, runs)| {
        let first = runs[0].1.signatures;
        runs.iter().any(|(_, s)| s.signatures != first)
    });
    if groups.is_empty() {
        return None;
    }
    let keys: Vec<Facets> = groups.iter().map(|(k, _)| k.clone()).collect();
    let (names, shared) = label(&keys, &groups[0].1[0].1.backend);
    let sorted = |runs: &[(&Record, &Signatures)], f: fn(&Signatures) -> f64| {
        let mut p: Vec<(f64, f64)> = runs
            .iter()
            .map(|(_, s)| (s.signatures as f64, f(s)))
            .collect();
        p.sort_by(|a, b| a.0.total_cmp(&b.0));
        p
    };
    let mut series = Vec::new();
    let mut baselines: Vec<String> = Vec::new();
    for (i, ((_, runs), name)) in groups.iter().zip(names).enumerate() {
        series.push(Line {
            name: Some(name),
            points: sorted(runs, |s| s.sigs_per_sec),
            dashed: false,
            color: i,
        });
        // One baseline line per profile: the reference crate does not depend on the
        // backend, and every configuration's runs carry their own.
        let profile = &runs[0].1.profile;
        if !baselines.contains(profile) {
            baselines.push(profile.clone());
            series.push(Line {
                name: Some(format!("{profile}: reference crate, 1 thread, same runs")),
                points: sorted(runs, |s| s.baseline_sigs_per_sec),
                dashed: true,
                color: i,
            });
        }
    }
    let records = groups
        .iter()
        .flat_map(|(_, runs)| runs.iter().map(|(r, _)| *r));
    Some(Chart {
        name: format!("{prefix}-throughput-by-size.svg"),
        title: "Signatures per second against batch size".to_owned(),
        subtitle: subtitle(shared, provenance(records)),
        plot: Plot::Lines(Lines {
            x: Axis::Log("signatures per batch".to_owned()),
            y: "signatures per second".to_owned(),
            series,
            marks: Vec::new(),
        }),
    })
}

fn merkle(prefix: &str, runs: &[(&Record, &Merkle)]) -> Chart {
    let facets: Vec<Facets> = runs
        .iter()
        .map(|(r, m)| {
            vec![
                ("run", r.run.clone().unwrap_or_default()),
                ("commit", r.provenance.commit.clone()),
                ("backend", m.backend.clone()),
                (
                    "threads",
                    m.threads
                        .map(|t| count(t, "thread", "threads"))
                        .unwrap_or_default(),
                ),
                (
                    "leaves",
                    format!("{} leaves of 32 bytes", thousands(m.leaves)),
                ),
            ]
        })
        .collect();
    let (rows, shared) = label(&facets, &runs[0].1.backend);
    let ms = |f: fn(&Merkle) -> f64| runs.iter().map(|(_, m)| Some(f(m) * 1e3)).collect();
    Chart {
        name: format!("{prefix}-merkle.svg"),
        title: "BLAKE3 Merkle root, best run (shorter is faster)".to_owned(),
        subtitle: subtitle(shared, provenance(runs.iter().map(|(r, _)| *r))),
        plot: Plot::Bars(Bars {
            axis: "milliseconds".to_owned(),
            unit: Unit::Millis,
            rows,
            series: vec![
                ("backend".to_owned(), ms(|m| m.backend_seconds)),
                (
                    "merkle::root, 1 thread".to_owned(),
                    ms(|m| m.serial_tree_seconds),
                ),
                (
                    "baseline: blake3::hash of each leaf, 1 thread".to_owned(),
                    ms(|m| m.baseline_seconds),
                ),
            ],
        }),
    }
}

/// Runs of one envelope name (repeats of one field merged), else of one batch shape:
/// the key (file-name safe once [`file_safe`]) and how the title names it.
fn latency_group(r: &Record, l: &Latency) -> (String, String) {
    match &r.run {
        Some(run) => {
            let name = run.split('[').next().unwrap_or(run).to_owned();
            (name.clone(), name)
        }
        None => match l.concurrency {
            Some(c) => (
                format!("loadgen-{}tx-{c}inflight", l.batch),
                format!(
                    "requests of {}, {c} in flight",
                    count(l.batch, "transaction", "transactions")
                ),
            ),
            None => (
                format!("batch-{}sig", l.batch),
                format!("batches of {}", count(l.batch, "signature", "signatures")),
            ),
        },
    }
}

/// `(quantile, us)` as `(nines, ms)`. With nearest-rank percentiles of `samples`
/// samples every quantile past `1 - 1/samples` is the maximum, so that is where the
/// maximum is drawn.
fn nines(samples: u64, points: &[(f64, f64)]) -> Vec<(f64, f64)> {
    let top = if samples >= 2 {
        1.0 - 1.0 / samples as f64
    } else {
        0.0
    };
    points
        .iter()
        // `+ 0.0` turns the -0.0 of p0 into 0.0.
        .map(|&(q, us)| (-(1.0 - q.clamp(0.0, top)).log10() + 0.0, us / 1e3))
        .collect()
}

fn latency_chart(
    prefix: &str,
    (group, what): &(String, String),
    runs: &[(&Record, &Latency)],
) -> Chart {
    let facets = |with_when: bool| -> Vec<Facets> {
        runs.iter()
            .map(|(r, l)| {
                let when = if with_when {
                    r.provenance.when.clone().unwrap_or_default()
                } else {
                    String::new()
                };
                let (unit, per) = if l.source == "loadgen" {
                    ("transactions", "request")
                } else {
                    ("signatures", "batch")
                };
                vec![
                    ("run", r.run.clone().unwrap_or_default()),
                    ("commit", r.provenance.commit.clone()),
                    ("when", when),
                    ("backend", l.backend.clone().unwrap_or_default()),
                    ("profile", l.profile.clone()),
                    ("batch", format!("{} {unit} a {per}", thousands(l.batch))),
                    (
                        "in flight",
                        l.concurrency
                            .map(|c| format!("{c} in flight"))
                            .unwrap_or_default(),
                    ),
                ]
            })
            .collect()
    };
    let (mut names, mut shared) = label(&facets(false), group);
    let unique = names
        .iter()
        .enumerate()
        .all(|(i, n)| !names[..i].contains(n));
    if !unique {
        (names, shared) = label(&facets(true), group);
    }
    // The title names the group; the run, where all share it, is the group.
    if let Some(run) = runs.first().and_then(|(r, _)| r.run.as_deref()) {
        shared = shared.strip_prefix(run).map_or(shared.clone(), |rest| {
            rest.trim_start_matches(", ").to_owned()
        });
    }
    let mut series = Vec::new();
    for (i, ((_, l), name)) in runs.iter().zip(names).enumerate() {
        series.push(Line {
            name: Some(name.clone()),
            points: nines(l.samples, &l.points),
            dashed: false,
            color: i,
        });
        if let Some((samples, points)) = &l.baseline {
            series.push(Line {
                name: Some(format!("{name}: reference crate, 1 thread, same run")),
                points: nines(*samples, points),
                dashed: true,
                color: i,
            });
        }
    }
    let how = if runs.iter().all(|(_, l)| l.source == "loadgen") {
        "send to verdicts, through the appliance"
    } else {
        "host memory to verdicts"
    };
    Chart {
        name: format!("{prefix}-latency-{}.svg", file_safe(group)),
        title: format!("Latency distribution, {how}: {what}"),
        subtitle: subtitle(shared, provenance(runs.iter().map(|(r, _)| *r))),
        plot: Plot::Lines(Lines {
            x: Axis::Nines,
            y: "milliseconds".to_owned(),
            series,
            marks: Vec::new(),
        }),
    }
}

fn crossover(prefix: &str, backend: &str, runs: &[(&Record, &Crossover)]) -> Chart {
    let several = runs.len() > 1;
    let mut series = Vec::new();
    let mut marks = Vec::new();
    for (i, (r, c)) in runs.iter().enumerate() {
        let tag = if several {
            format!(" ({}, {})", r.provenance.commit, r.origin.line)
        } else {
            String::new()
        };
        let points = |f: fn(&(u64, f64, f64)) -> f64| -> Vec<(f64, f64)> {
            c.points.iter().map(|p| (p.0 as f64, f(p) * 1e3)).collect()
        };
        series.push(Line {
            name: Some(format!("{backend}{tag}")),
            points: points(|p| p.1),
            dashed: false,
            color: i,
        });
        series.push(Line {
            name: Some(format!("cpu{tag}")),
            points: points(|p| p.2),
            dashed: true,
            color: i,
        });
        marks.push(match c.threshold {
            Some(t) => (t as f64, format!("{backend} from {}{tag}", thousands(t))),
            None => (f64::NAN, format!("{backend} slower at every size{tag}")),
        });
    }
    Chart {
        name: format!("{prefix}-crossover-{}.svg", file_safe(backend)),
        title: format!("Time per batch, {backend} against the CPU backend (crossover)"),
        subtitle: subtitle(
            "strict, 200-byte messages".to_owned(),
            provenance(runs.iter().map(|(r, _)| *r)),
        ),
        plot: Plot::Lines(Lines {
            x: Axis::Log("signatures per batch".to_owned()),
            y: "milliseconds per batch".to_owned(),
            series,
            marks,
        }),
    }
}

/// `name` with anything but ASCII letters, digits, `-` and `_` as `-`.
fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::records::parse;
    use super::*;

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_048_576), "1,048,576");
    }

    #[test]
    fn labels_name_what_differs() {
        let items = vec![
            vec![
                ("a", "x".to_owned()),
                ("b", "1".to_owned()),
                ("c", String::new()),
            ],
            vec![
                ("a", "x".to_owned()),
                ("b", "2".to_owned()),
                ("c", String::new()),
            ],
        ];
        let (labels, shared) = label(&items, "only");
        assert_eq!(labels, ["1", "2"]);
        assert_eq!(shared, "x");
        let shape = |f: &str| vec![("profile", "strict".to_owned()), ("form", f.to_owned())];
        let items = [shape("jsonl"), shape("solana"), shape("jsonl")];
        let (labels, shared) = label(&items, "only");
        assert_eq!(labels, ["only", "solana", "only"]);
        assert_eq!(shared, "strict, jsonl (unless noted)");
        let (labels, _) = label(&items[..1], "only");
        assert_eq!(labels, ["only"]);
    }

    #[test]
    fn the_maximum_sits_where_nearest_rank_reaches_it() {
        let p = nines(
            100,
            &[(0.0, 1000.0), (0.5, 2000.0), (0.999, 3000.0), (1.0, 4000.0)],
        );
        assert_eq!(p[0], (0.0, 1.0));
        assert!((p[1].0 - 2f64.log10()).abs() < 1e-12);
        assert!((p[2].0 - 2.0).abs() < 1e-12 && (p[3].0 - 2.0).abs() < 1e-12);
        assert_eq!(nines(1, &[(1.0, 5.0)]), [(0.0, 0.005)]);
    }

    #[test]
    fn a_size_sweep_makes_a_line_chart_and_one_size_does_not() {
        let run = |n: u64, rate: f64| {
            format!(
                r#"{{"kind":"signatures","backend":"cpu","backend_devices":["2 threads, x"],"profile":"strict","signatures":{n},"transactions":{n},"invalid_transactions":0,"signers_per_transaction":1,"format":"jsonl","msg_len":"32..256","backend_sigs_per_sec":{rate},"baseline_sigs_per_sec":30000.0,"commit":"0123456789ab","date":"2026-12-05","machine":{{"cpu":"Z","cores":2}}}}"#
            )
        };
        let one = parse("t", &run(64, 1e5)).unwrap();
        let (made, notes) = charts("t", &one.records);
        assert_eq!(made.len(), 1);
        assert_eq!(notes.len(), 1, "{notes:?}");
        let two = parse("t", &format!("{}\n{}", run(1024, 2e5), run(64, 1e5))).unwrap();
        let (made, notes) = charts("t", &two.records);
        assert!(notes.is_empty());
        let Plot::Lines(lines) = &made[1].plot else {
            panic!("{made:?}")
        };
        assert_eq!(made[1].name, "t-throughput-by-size.svg");
        assert_eq!(lines.series[0].points, [(64.0, 1e5), (1024.0, 2e5)]);
        assert!(lines.series[1].dashed);
        assert_eq!(
            made[0].subtitle.last().unwrap(),
            "Z, 2 cores; commit 0123456; 2026-12-05"
        );
    }
}
