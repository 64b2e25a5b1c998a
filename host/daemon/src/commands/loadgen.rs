//! `vigil loadgen`: drives running appliances with generated batches, through the
//! client library a node uses, and reports throughput and latency percentiles.
//!
//! * **What is measured** is what a node sees: each request goes through
//!   `vigil_client` (balancing, retries, deadlines) to the appliances named by
//!   `--target`. There is no local fallback, so every figure is the appliances'.
//! * **Generation is not measured**: a small pool of distinct requests (`--pool`, each
//!   from its own seed) is generated and encoded once before timing and then sent in
//!   turn. Solana-form requests clone for the price of reference counts; generic-form
//!   ones allocate one signer list per transaction per send.
//! * **Closed loop** (no `--rate`): `--concurrency` workers each send a request, wait
//!   for its answer and send the next. Latency is from send to answer.
//! * **Open loop** (`--rate R`): requests are scheduled every 1/R seconds whatever the
//!   answers do, at most `--concurrency` in flight. A request that has to wait for a
//!   free slot is late, and its latency is counted from when it was *scheduled*, not
//!   from when it went out: otherwise a stalled appliance would hold back exactly the
//!   requests that would have shown the stall (coordinated omission), and the
//!   percentiles would flatter it.
//! * `--warmup` runs the same load first and throws its numbers away (connections,
//!   appliance caches and batch sizing settle). The measured phase's seconds run from
//!   its first send to its last answer.
//! * `--check` compares every response's verdicts with what the generator made: every
//!   transaction valid unless the generator corrupted it. Any difference makes the
//!   command fail after reporting.
//!
//! Latencies go into an HDR histogram (microseconds, three significant digits), so
//! p99.9 is as trustworthy as the sample count allows and costs no sorting.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use clap::{Args, ValueEnum};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use vigil_client::proto::{VerifyRequest, VerifyResponse};
use vigil_client::{Client, ClientConfig, ClientError, Pipeline, TlsConfig};
use vigil_core::synth::{self, Format, SynthSpec};
use vigil_core::{BatchBuilder, Profile};

use super::limits::{
    self, MAX_BATCH, MAX_CONCURRENCY, MAX_DEADLINE_MS, MAX_MSG_LEN, MAX_POOL, MAX_REQUESTS,
    MAX_THREADS,
};
use super::ProfileArg;

/// Arguments of `vigil loadgen`.
#[derive(Debug, Args)]
pub struct LoadgenArgs {
    /// Appliance endpoint: http://host:port, https://host:port or dns://host:port.
    /// Repeat the flag or separate with commas.
    #[arg(long = "target", required = true, value_delimiter = ',')]
    targets: Vec<String>,
    /// CA certificate (PEM) the appliances' certificates must chain to; turns TLS on.
    #[arg(long)]
    tls_ca: Option<PathBuf>,
    /// Client certificate (PEM) for mutual TLS.
    #[arg(long, requires_all = ["tls_key", "tls_ca"])]
    tls_cert: Option<PathBuf>,
    /// Client private key (PEM) for mutual TLS.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Name the appliances' certificates carry, if not the endpoint's host.
    #[arg(long, requires = "tls_ca")]
    tls_domain: Option<String>,
    /// Verification rules (there is no default: they are consensus-critical).
    #[arg(long, value_enum)]
    profile: ProfileArg,
    /// Transaction form sent.
    #[arg(long, value_enum, default_value_t = FormArg::Generic)]
    form: FormArg,
    /// Transactions per request, 1 to 1,000,000.
    #[arg(long, default_value_t = 1000, value_parser = limits::usize_in(1..=MAX_BATCH))]
    batch: usize,
    /// Signers per transaction (1 to 255).
    #[arg(long, default_value_t = 2, value_parser = limits::signers())]
    signers: usize,
    /// Message length in bytes (instruction data length in the Solana form), at most
    /// 65535.
    #[arg(long, default_value_t = 200, value_parser = limits::usize_in(0..=MAX_MSG_LEN as u64))]
    msg_len: usize,
    /// Fraction of transactions with an invalid signature (0 to 1).
    #[arg(long, default_value_t = 0.0, value_parser = limits::fraction)]
    invalid_fraction: f64,
    /// Requests per second, scheduled open-loop, at most 10,000,000 (absent: closed
    /// loop, flat out).
    #[arg(long, value_parser = limits::rate)]
    rate: Option<f64>,
    /// Requests in flight at most, 1 to 100,000.
    #[arg(long, default_value_t = 8, value_parser = limits::usize_in(1..=MAX_CONCURRENCY))]
    concurrency: usize,
    /// Seconds of measured load, at most 30 days (ignored with --requests).
    #[arg(long, default_value_t = 10.0, value_parser = limits::seconds)]
    duration: f64,
    /// Send this many measured requests instead of running for --duration (1 to 10^10).
    #[arg(long, value_parser = limits::u64_in(1..=MAX_REQUESTS))]
    requests: Option<u64>,
    /// Deadline of each request, in milliseconds (1 to 3,600,000: an hour).
    #[arg(long, default_value_t = 5000, value_parser = limits::u64_in(1..=MAX_DEADLINE_MS))]
    deadline_ms: u64,
    /// Send on VerifyStream pipelines (one per appliance address) instead of unary calls.
    #[arg(long)]
    stream: bool,
    /// Seconds of unmeasured load before measuring, at most 30 days.
    #[arg(long, default_value_t = 0.0, value_parser = limits::seconds_or_zero)]
    warmup: f64,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
    /// Check every response's verdicts against the generator's; fail on a difference.
    #[arg(long)]
    check: bool,
    /// Worker threads of the client runtime, 1 to 1024 (loadgen shares the machine it
    /// measures from; raise this when one thread cannot keep up).
    #[arg(long, default_value_t = 1, value_parser = limits::usize_in(1..=MAX_THREADS))]
    client_threads: usize,
    /// Distinct requests generated before timing and sent in turn, 1 to 4096.
    #[arg(long, default_value_t = 16, value_parser = limits::usize_in(1..=MAX_POOL))]
    pool: usize,
    /// Seed of the first generated request (request i uses seed + i).
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

/// The transaction form of generated requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormArg {
    /// `transactions`: message and signers.
    Generic,
    /// `solana_transactions`: wire transactions (legacy and v0 messages).
    Solana,
}

/// One pre-generated request and what its answer must be.
struct Item {
    request: VerifyRequest,
    transactions: u64,
    signatures: u64,
    /// Per transaction: valid unless the generator corrupted it.
    expected: Vec<bool>,
}

/// Runs `vigil loadgen`.
pub fn run(args: LoadgenArgs) -> anyhow::Result<()> {
    validate(&args)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.client_threads)
        .thread_name("vigil-loadgen")
        .enable_all()
        .build()
        .context("cannot start the client runtime")?;
    runtime.block_on(main(args))
}

/// Checks what clap cannot see flag by flag (it has checked each flag's range while
/// parsing), before anything is generated or started.
fn validate(args: &LoadgenArgs) -> anyhow::Result<()> {
    // The whole pool is held in memory: --pool requests of --batch transactions.
    limits::check_generated(
        "--pool, --batch, --signers and --msg-len",
        args.pool as u128 * args.batch as u128,
        args.signers,
        args.msg_len,
    )?;
    Ok(())
}

async fn main(args: LoadgenArgs) -> anyhow::Result<()> {
    let progress = Progress::new(!args.json);
    progress.say(&format!("generating {} requests", args.pool));
    let profile: Profile = args.profile.into();
    let pool = Arc::new(generate(&args, profile)?);

    let tls = match &args.tls_ca {
        Some(ca) => Some(TlsConfig::from_files(
            Some(ca),
            args.tls_cert.as_deref(),
            args.tls_key.as_deref(),
            args.tls_domain.clone(),
        )?),
        None => None,
    };
    let deadline = Duration::from_millis(args.deadline_ms);
    let client = Client::connect(ClientConfig {
        tls,
        deadline,
        ..ClientConfig::new(args.targets.clone())
    })
    .await
    .context("cannot set up the client")?;
    let sender = Arc::new(Sender::new(&client, args.stream, deadline).await?);

    if args.warmup > 0.0 {
        progress.say("warming up");
        let stop = Stop::after(Duration::from_secs_f64(args.warmup));
        let discard = Arc::new(Stats::new(false)?);
        drive(&args, &sender, &pool, stop, &discard, &progress).await;
    }
    let stop = match args.requests {
        Some(n) => Stop::count(n),
        None => Stop::after(Duration::from_secs_f64(args.duration)),
    };
    let stats = Arc::new(Stats::new(args.check)?);
    progress.say("measuring");
    let started = Instant::now();
    drive(&args, &sender, &pool, stop, &stats, &progress).await;
    let seconds = started.elapsed().as_secs_f64();
    progress.finish();

    let report = report(&args, profile, &stats, seconds, &client);
    if args.json {
        println!("{report}");
    } else {
        print_text(&report);
    }
    let s = stats.lock();
    if s.ok == 0 {
        bail!(
            "no request succeeded{}",
            s.first_error
                .as_deref()
                .map(|e| format!(" (first error: {e})"))
                .unwrap_or_default()
        );
    }
    if s.mismatched_requests > 0 {
        bail!(
            "{} responses ({} transactions) differ from the generated verdicts",
            s.mismatched_requests,
            s.mismatched_transactions
        );
    }
    Ok(())
}

/// The request pool: request i from seed + i, with its expected verdicts.
fn generate(args: &LoadgenArgs, profile: Profile) -> anyhow::Result<Vec<Item>> {
    let solana = args.form == FormArg::Solana;
    (0..args.pool)
        .map(|i| {
            let spec = SynthSpec {
                count: args.batch,
                profile,
                invalid_fraction: args.invalid_fraction,
                msg_len: args.msg_len..=args.msg_len,
                signers: args.signers,
                format: if solana {
                    Format::Solana
                } else {
                    Format::Jsonl
                },
                seed: args.seed.wrapping_add(i as u64),
            };
            let txs = synth::generate(&spec)?;
            let mut builder = BatchBuilder::with_capacity(txs.len(), txs.len() * 256);
            for tx in &txs {
                tx.push_into(&mut builder)?;
            }
            let batch = builder.finish();
            Ok(Item {
                request: vigil_proto::convert::request_from_batch(0, profile, &batch, solana),
                transactions: batch.len() as u64,
                signatures: batch.signature_count() as u64,
                expected: txs.iter().map(|t| t.corruption().is_none()).collect(),
            })
        })
        .collect()
}

/// Unary calls through the client, or submits on pipelines.
enum Sender {
    Unary(Client, Duration),
    Stream {
        pipelines: Vec<Pipeline>,
        next: AtomicUsize,
        deadline: Duration,
    },
}

impl Sender {
    async fn new(client: &Client, stream: bool, deadline: Duration) -> anyhow::Result<Sender> {
        if !stream {
            return Ok(Sender::Unary(client.clone(), deadline));
        }
        // One stream per appliance address: each opening takes the next in rotation.
        let count = client.stats().endpoints.max(1);
        let mut pipelines = Vec::with_capacity(count);
        for _ in 0..count {
            pipelines.push(
                client
                    .pipeline()
                    .await
                    .context("cannot open a verification stream")?,
            );
        }
        Ok(Sender::Stream {
            pipelines,
            next: AtomicUsize::new(0),
            deadline,
        })
    }

    async fn send(&self, req: VerifyRequest) -> Result<VerifyResponse, ClientError> {
        match self {
            Sender::Unary(client, deadline) => client.verify_with_deadline(req, *deadline).await,
            Sender::Stream {
                pipelines,
                next,
                deadline,
            } => {
                let i = next.fetch_add(1, Ordering::Relaxed) % pipelines.len();
                pipelines[i].submit_with_deadline(req, *deadline).await
            }
        }
    }
}

/// When a phase stops issuing requests.
#[derive(Debug, Clone, Copy)]
enum Stop {
    After(Duration),
    Count(u64),
}

impl Stop {
    fn after(d: Duration) -> Stop {
        Stop::After(d)
    }

    fn count(n: u64) -> Stop {
        Stop::Count(n)
    }

    /// Whether request `i`, going out `since_start` after the phase began, is past the end.
    fn reached(self, i: u64, since_start: Duration) -> bool {
        match self {
            Stop::After(d) => since_start >= d,
            Stop::Count(n) => i >= n,
        }
    }
}

/// Runs one phase: closed or open loop until `stop`, then waits for what is in flight.
async fn drive(
    args: &LoadgenArgs,
    sender: &Arc<Sender>,
    pool: &Arc<Vec<Item>>,
    stop: Stop,
    stats: &Arc<Stats>,
    progress: &Progress,
) {
    let ticker = progress.tick_every_second(stats.clone());
    match args.rate {
        None => closed_loop(args.concurrency, sender, pool, stop, stats).await,
        Some(rate) => open_loop(rate, args.concurrency, sender, pool, stop, stats).await,
    }
    if let Some(t) = ticker {
        t.abort();
    }
}

async fn closed_loop(
    concurrency: usize,
    sender: &Arc<Sender>,
    pool: &Arc<Vec<Item>>,
    stop: Stop,
    stats: &Arc<Stats>,
) {
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut workers = JoinSet::new();
    for _ in 0..concurrency {
        let (next, sender, pool, stats) =
            (next.clone(), sender.clone(), pool.clone(), stats.clone());
        workers.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if stop.reached(i, start.elapsed()) {
                    break;
                }
                let item = pick(&pool, i);
                let mut req = item.request.clone();
                req.id = i;
                let sent = Instant::now();
                let result = sender.send(req).await;
                stats.record(item, result, sent.elapsed());
            }
        });
    }
    while workers.join_next().await.is_some() {}
}

async fn open_loop(
    rate: f64,
    concurrency: usize,
    sender: &Arc<Sender>,
    pool: &Arc<Vec<Item>>,
    stop: Stop,
    stats: &Arc<Stats>,
) {
    let slots = Arc::new(Semaphore::new(concurrency));
    let start = tokio::time::Instant::now();
    let mut in_flight = JoinSet::new();
    for i in 0u64.. {
        // An offset past what a Duration holds is past any end.
        let Ok(offset) = Duration::try_from_secs_f64(i as f64 / rate) else {
            break;
        };
        if stop.reached(i, offset) {
            break;
        }
        let due = start + offset;
        tokio::time::sleep_until(due).await;
        // Waiting here makes this request late; its latency still counts from `due`.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            break;
        };
        let (sender, pool, stats) = (sender.clone(), pool.clone(), stats.clone());
        in_flight.spawn(async move {
            let item = pick(&pool, i);
            let mut req = item.request.clone();
            req.id = i;
            let result = sender.send(req).await;
            stats.record(item, result, due.elapsed());
            drop(slot);
        });
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
}

/// Request `i` of a phase: the pool in turn.
fn pick(pool: &[Item], i: u64) -> &Item {
    let at = usize::try_from(i % pool.len() as u64).unwrap_or(0);
    &pool[at]
}

/// What a phase saw, shared by the tasks that send.
struct Stats {
    check: bool,
    inner: Mutex<Counts>,
}

struct Counts {
    latency_us: Histogram<u64>,
    ok: u64,
    transactions: u64,
    signatures: u64,
    errors: BTreeMap<&'static str, u64>,
    first_error: Option<String>,
    mismatched_requests: u64,
    mismatched_transactions: u64,
}

impl Stats {
    fn new(check: bool) -> anyhow::Result<Stats> {
        // 1 us to one hour at three significant digits.
        let latency_us = Histogram::new_with_bounds(1, 3_600_000_000, 3)
            .context("cannot create the latency histogram")?;
        Ok(Stats {
            check,
            inner: Mutex::new(Counts {
                latency_us,
                ok: 0,
                transactions: 0,
                signatures: 0,
                errors: BTreeMap::new(),
                first_error: None,
                mismatched_requests: 0,
                mismatched_transactions: 0,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Counts> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, item: &Item, result: Result<VerifyResponse, ClientError>, latency: Duration) {
        let mismatched = match (&result, self.check) {
            (Ok(resp), true) => Some(mismatches(item, resp)),
            _ => None,
        };
        let mut c = self.lock();
        match result {
            Ok(_) => {
                c.ok += 1;
                c.transactions = c.transactions.saturating_add(item.transactions);
                c.signatures = c.signatures.saturating_add(item.signatures);
                let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
                c.latency_us.saturating_record(us.max(1));
                if let Some(n) = mismatched.filter(|&n| n > 0) {
                    c.mismatched_requests += 1;
                    c.mismatched_transactions += n;
                }
            }
            Err(e) => {
                *c.errors.entry(code_name(e.code())).or_default() += 1;
                if c.first_error.is_none() {
                    c.first_error = Some(e.to_string());
                }
            }
        }
    }
}

/// Transactions whose verdict differs from the generator's (a response of the wrong
/// shape counts every transaction).
fn mismatches(item: &Item, resp: &VerifyResponse) -> u64 {
    if resp.valid.len() != item.expected.len()
        || resp.signature_valid.len() as u64 != item.signatures
    {
        return item.transactions;
    }
    resp.valid
        .iter()
        .zip(&item.expected)
        .filter(|(got, want)| got != want)
        .count() as u64
}

/// The canonical gRPC name of a code (`None`: not a call outcome).
fn code_name(code: Option<tonic::Code>) -> &'static str {
    use tonic::Code::*;
    match code {
        None => "CLIENT_CONFIG",
        Some(Ok) => "OK",
        Some(Cancelled) => "CANCELLED",
        Some(Unknown) => "UNKNOWN",
        Some(InvalidArgument) => "INVALID_ARGUMENT",
        Some(DeadlineExceeded) => "DEADLINE_EXCEEDED",
        Some(NotFound) => "NOT_FOUND",
        Some(AlreadyExists) => "ALREADY_EXISTS",
        Some(PermissionDenied) => "PERMISSION_DENIED",
        Some(ResourceExhausted) => "RESOURCE_EXHAUSTED",
        Some(FailedPrecondition) => "FAILED_PRECONDITION",
        Some(Aborted) => "ABORTED",
        Some(OutOfRange) => "OUT_OF_RANGE",
        Some(Unimplemented) => "UNIMPLEMENTED",
        Some(Internal) => "INTERNAL",
        Some(Unavailable) => "UNAVAILABLE",
        Some(DataLoss) => "DATA_LOSS",
        Some(Unauthenticated) => "UNAUTHENTICATED",
    }
}

fn report(
    args: &LoadgenArgs,
    profile: Profile,
    stats: &Stats,
    seconds: f64,
    client: &Client,
) -> serde_json::Value {
    let c = stats.lock();
    let h = &c.latency_us;
    let pct = |q: f64| {
        if h.is_empty() {
            0
        } else {
            h.value_at_quantile(q)
        }
    };
    let per_s = |n: u64| {
        if seconds > 0.0 {
            n as f64 / seconds
        } else {
            0.0
        }
    };
    let client_stats = client.stats();
    json!({
        "kind": "loadgen",
        "targets": args.targets,
        "profile": profile.name(),
        "form": format!("{:?}", args.form).to_lowercase(),
        "batch": args.batch,
        "signers_per_transaction": args.signers,
        "msg_len": args.msg_len,
        "invalid_fraction": args.invalid_fraction,
        "mode": if args.rate.is_some() { "open" } else { "closed" },
        "rate": args.rate,
        "concurrency": args.concurrency,
        "stream": args.stream,
        "deadline_ms": args.deadline_ms,
        "warmup_seconds": args.warmup,
        "client_threads": args.client_threads,
        "requests": c.ok,
        "transactions": c.transactions,
        "signatures": c.signatures,
        "errors": c.errors,
        "error_total": c.errors.values().sum::<u64>(),
        "first_error": c.first_error,
        "seconds": seconds,
        "requests_per_s": per_s(c.ok),
        "tx_per_s": per_s(c.transactions),
        "sig_per_s": per_s(c.signatures),
        "latency_us": {
            "p50": pct(0.5),
            "p99": pct(0.99),
            "p999": pct(0.999),
            "max": h.max(),
            "mean": if h.is_empty() { 0.0 } else { h.mean() },
        },
        // The distribution at log-spaced tail points, for `vigil plot`.
        "latency_us_ladder": ladder(h),
        "check": args.check.then(|| json!({
            "mismatched_requests": c.mismatched_requests,
            "mismatched_transactions": c.mismatched_transactions,
        })),
        "client": {
            "attempts": client_stats.attempts,
            "retries": client_stats.retries,
            "endpoints": client_stats.endpoints,
        },
        "command": std::env::args().collect::<Vec<_>>().join(" "),
        "machine": super::bench::machine(),
        "commit": env!("VIGIL_COMMIT"),
        "date": super::bench::today(),
    })
}

/// `[quantile, microseconds]` at each of bench's ladder points, from the minimum to the
/// maximum; empty when nothing was answered.
fn ladder(h: &Histogram<u64>) -> Vec<serde_json::Value> {
    super::bench::LADDER_PER_10K
        .iter()
        .filter(|_| !h.is_empty())
        .map(|&q| match q {
            0 => json!([0.0, h.min()]),
            10_000 => json!([1.0, h.max()]),
            q => json!([f64::from(q) / 1e4, h.value_at_quantile(f64::from(q) / 1e4)]),
        })
        .collect()
}

fn print_text(r: &serde_json::Value) {
    let f = |k: &str| r[k].as_f64().unwrap_or(0.0);
    let n = |k: &str| r[k].as_u64().unwrap_or(0);
    let ms = |k: &str| r["latency_us"][k].as_f64().unwrap_or(0.0) / 1000.0;
    let mode = match r["rate"].as_f64() {
        Some(rate) => format!("open loop at {rate} req/s"),
        None => "closed loop".to_string(),
    };
    println!(
        "{} {} requests ({} transactions, {} signatures) in {:.2} s; {mode}, concurrency {}{}",
        r["profile"].as_str().unwrap_or("?"),
        n("requests"),
        n("transactions"),
        n("signatures"),
        f("seconds"),
        r["concurrency"],
        if r["stream"] == true { ", streams" } else { "" },
    );
    println!(
        "  throughput  {:>10.1} req/s  {:>12.0} tx/s  {:>12.0} sig/s",
        f("requests_per_s"),
        f("tx_per_s"),
        f("sig_per_s")
    );
    println!(
        "  latency     p50 {:.2} ms   p99 {:.2} ms   p99.9 {:.2} ms   max {:.2} ms",
        ms("p50"),
        ms("p99"),
        ms("p999"),
        ms("max")
    );
    let errors = r["errors"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default();
    if errors.is_empty() {
        println!("  errors      none");
    } else {
        println!("  errors      {errors}");
        if let Some(first) = r["first_error"].as_str() {
            println!("  first error {first}");
        }
    }
    if r["check"].is_object() {
        let bad = r["check"]["mismatched_requests"].as_u64().unwrap_or(0);
        if bad == 0 {
            println!("  check       every verdict as generated");
        } else {
            println!(
                "  check       {} transactions in {bad} responses differ from the generator",
                r["check"]["mismatched_transactions"]
            );
        }
    }
    println!(
        "  client      {} attempts, {} retries, {} appliance addresses",
        r["client"]["attempts"], r["client"]["retries"], r["client"]["endpoints"]
    );
    let m = &r["machine"];
    println!(
        "  machine: {}, {} cores; commit {}; {}",
        m["cpu"].as_str().unwrap_or("?"),
        m["cores"],
        r["commit"].as_str().unwrap_or("?"),
        r["date"].as_str().unwrap_or("?")
    );
}

/// A one-line display on stderr when it is a terminal (and not --json): phase, then
/// once a second requests done, tx/s over the last second and p99 so far.
struct Progress(Option<ProgressBar>);

impl Progress {
    fn new(wanted: bool) -> Progress {
        if !wanted || !std::io::stderr().is_terminal() {
            return Progress(None);
        }
        let bar = ProgressBar::new_spinner();
        if let Ok(style) = ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}") {
            bar.set_style(style);
        }
        bar.enable_steady_tick(Duration::from_millis(200));
        Progress(Some(bar))
    }

    fn say(&self, text: &str) {
        if let Some(bar) = &self.0 {
            bar.set_message(text.to_string());
        }
    }

    fn tick_every_second(&self, stats: Arc<Stats>) -> Option<tokio::task::JoinHandle<()>> {
        let bar = self.0.clone()?;
        Some(tokio::spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            every.tick().await;
            let mut last_tx = 0u64;
            loop {
                every.tick().await;
                let (ok, tx, errors, p99) = {
                    let c = stats.lock();
                    let p99 = if c.latency_us.is_empty() {
                        0
                    } else {
                        c.latency_us.value_at_quantile(0.99)
                    };
                    (c.ok, c.transactions, c.errors.values().sum::<u64>(), p99)
                };
                bar.set_message(format!(
                    "{ok} requests, {} tx/s, p99 {:.1} ms, {errors} errors",
                    tx - last_tx,
                    p99 as f64 / 1000.0
                ));
                last_tx = tx;
            }
        }))
    }

    fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ladder_runs_from_minimum_to_maximum() {
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        assert!(ladder(&h).is_empty());
        for us in 1..=1000 {
            h.record(us).unwrap();
        }
        let l = ladder(&h);
        assert_eq!(l.len(), super::super::bench::LADDER_PER_10K.len());
        assert_eq!(l[0], json!([0.0, 1]));
        assert_eq!(l[3], json!([0.5, 500]));
        assert_eq!(l[l.len() - 1], json!([1.0, 1000]));
    }

    #[test]
    fn stops() {
        assert!(!Stop::count(2).reached(1, Duration::from_secs(99)));
        assert!(Stop::count(2).reached(2, Duration::ZERO));
        let after = Stop::after(Duration::from_secs(1));
        assert!(!after.reached(1_000_000, Duration::from_millis(999)));
        assert!(after.reached(0, Duration::from_secs(1)));
    }

    #[test]
    fn pool_and_check() {
        let args = LoadgenArgs {
            targets: vec!["http://127.0.0.1:1".into()],
            tls_ca: None,
            tls_cert: None,
            tls_key: None,
            tls_domain: None,
            profile: ProfileArg::Strict,
            form: FormArg::Solana,
            batch: 20,
            signers: 2,
            msg_len: 10,
            invalid_fraction: 0.5,
            rate: None,
            concurrency: 1,
            duration: 1.0,
            requests: None,
            deadline_ms: 100,
            stream: false,
            warmup: 0.0,
            json: true,
            check: true,
            client_threads: 1,
            pool: 2,
            seed: 3,
        };
        let pool = generate(&args, Profile::Strict).expect("generates");
        assert_eq!(pool.len(), 2);
        assert_ne!(pool[0].request, pool[1].request);
        let item = &pool[0];
        assert_eq!(item.request.solana_transactions.len(), 20);
        assert_eq!(item.signatures, 40);
        assert!(item.expected.iter().any(|v| !v) && item.expected.iter().any(|v| *v));
        let mut resp = VerifyResponse {
            valid: item.expected.clone(),
            signature_valid: vec![true; 40],
            ..VerifyResponse::default()
        };
        assert_eq!(mismatches(item, &resp), 0);
        resp.valid[0] = !resp.valid[0];
        assert_eq!(mismatches(item, &resp), 1);
        resp.valid.pop();
        assert_eq!(mismatches(item, &resp), 20);

        let stats = Stats::new(true).expect("histogram");
        stats.record(item, Ok(resp), Duration::from_millis(3));
        stats.record(item, Err(ClientError::Timeout), Duration::ZERO);
        let c = stats.lock();
        assert_eq!((c.ok, c.transactions, c.mismatched_requests), (1, 20, 1));
        assert_eq!(c.errors.get("DEADLINE_EXCEEDED"), Some(&1));
        assert!((2_997..=3_003).contains(&c.latency_us.max()));
    }
}
