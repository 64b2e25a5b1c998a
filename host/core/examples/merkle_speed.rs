//! Merkle root speed against plain BLAKE3 on the same leaves.
//!
//! Builds 1M random 32-byte leaves and times, best of 5 each:
//! * the baseline: `blake3::hash` of every leaf, one by one, on one thread, each hash
//!   written to a small reused buffer (`strict`) or to a buffer of n hashes (`kept`);
//! * `merkle::root` (one thread);
//! * `merkle::root_parallel` in a 1-thread and a 2-thread rayon pool.
//!
//! The four are timed in turn within each round, so that load from other processes
//! falls on all of them alike, and the best round of each is kept.
//!
//! A root costs `2n - 1` compressions for `n` leaves of up to 64 bytes, against the
//! baseline's `n`: about 2x on one thread and 1x on two is the floor. Targets: root
//! <= 2.2x, root_parallel on 2 threads <= 1.2x.
//!
//! Run: `cargo run --release -p vigil-core --example merkle_speed [leaves [rounds]]`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use vigil_core::merkle;
use vigil_core::Leaves;

fn time<T>(best: &mut Duration, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = black_box(f());
    *best = (*best).min(start.elapsed());
    out
}

fn pool(threads: usize) -> Result<rayon::ThreadPool, rayon::ThreadPoolBuildError> {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build()
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(Ok(1 << 20), |s| s.parse())?;
    let rounds: usize = args.next().map_or(Ok(5), |s| s.parse())?;
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    let mut leaves = Leaves::with_capacity(n, 32 * n);
    for _ in 0..n {
        let mut leaf = [0u8; 32];
        rng.fill_bytes(&mut leaf);
        leaves.push(&leaf)?;
    }
    println!(
        "{n} leaves of 32 bytes, best of {rounds}; cpus {}; loadavg before {}",
        std::thread::available_parallelism().map_or(0, |p| p.get()),
        loadavg()
    );

    let one = pool(1)?;
    let two = pool(2)?;
    // Two baselines. `strict`: each hash is written to a small reused buffer that stays
    // in cache, the least work that still keeps every output; the targets are judged
    // against it. `kept`: each hash is written to its own slot of an n-entry buffer
    // (already touched), as a program that keeps the leaf hashes does; it also pays the
    // memory traffic of the output. (Folding outputs into one 32-byte accumulator was
    // slower still on the development machine: store-forwarding stalls.)
    let mut ring = vec![[0u8; 32]; 1024];
    let mut kept = vec![[0u8; 32]; n];
    let [mut strict, mut keep, mut seq, mut par1, mut par2] = [Duration::MAX; 5];
    for _ in 0..rounds {
        time(&mut strict, || {
            for (i, leaf) in leaves.iter().enumerate() {
                ring[i % 1024] = *blake3::hash(black_box(leaf)).as_bytes();
            }
            black_box(&ring);
        });
        time(&mut keep, || {
            for (leaf, o) in leaves.iter().zip(kept.iter_mut()) {
                *o = *blake3::hash(black_box(leaf)).as_bytes();
            }
            black_box(&kept);
        });
        let want = time(&mut seq, || merkle::root(&leaves));
        let got1 = time(&mut par1, || one.install(|| merkle::root_parallel(&leaves)));
        let got2 = time(&mut par2, || two.install(|| merkle::root_parallel(&leaves)));
        if got1 != want || got2 != want {
            return Err("root_parallel disagrees with root".into());
        }
    }

    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let ns = |d: Duration| d.as_secs_f64() * 1e9 / n.max(1) as f64;
    let vs = |d: Duration, base: Duration| d.as_secs_f64() / base.as_secs_f64();
    println!("                              time     per leaf   vs strict   vs kept");
    for (name, d, target) in [
        ("blake3::hash, strict    ", strict, ""),
        ("blake3::hash, kept      ", keep, ""),
        (
            "root                    ",
            seq,
            "   (target <= 2.2x strict)",
        ),
        ("root_parallel, 1 thread ", par1, ""),
        (
            "root_parallel, 2 threads",
            par2,
            "   (target <= 1.2x strict)",
        ),
    ] {
        println!(
            "{name}  {:8.2} ms  {:6.1} ns    {:5.2}x     {:5.2}x{target}",
            ms(d),
            ns(d),
            vs(d, strict),
            vs(d, keep)
        );
    }
    println!("loadavg after {}", loadavg());
    Ok(())
}
