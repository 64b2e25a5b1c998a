//! The batch size from which a device beats the CPU, measured on this machine.
//!
//! Where a small batch should run depends on the machine: a GPU's fixed cost per batch
//! (launches, copies, one thread's latency through a whole verification) against how
//! many cores the CPU has. A constant would be wrong somewhere, so `serve` measures it
//! at start-up when it has both an accelerator and the CPU and no configured
//! `small_batch_signatures`: it times both on batches of [`SIZES`] signatures (one
//! warm-up, then the best of [`RUNS`]) and routes below the crossover to the CPU.
//! `vigil bench --crossover` prints the same table.
//!
//! Start-up must not stall on a slow side, and a device slower than the CPU must not
//! take work from it: sizes stop once the CPU needs [`MAX_CPU_TIME`] for a batch (the
//! device is then guessed to win beyond, as a GPU does) or the device needs
//! [`MAX_DEVICE_TIME`] (its timed runs stop there too). A device that stopped the
//! measurement while losing gets no batches by size at all: a card with one engine or
//! the simulated card then serves only while the CPU is out of service.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use vigil_core::synth::{self, Format, SynthSpec};
use vigil_core::{Backend, Profile};

/// Batch sizes measured, in signatures.
pub const SIZES: [usize; 6] = [64, 256, 1_024, 4_096, 16_384, 65_536];
/// Timed runs per size and side (after one warm-up); the best counts.
pub const RUNS: usize = 3;
/// Once the CPU takes this long for one batch, larger sizes are not measured (start-up
/// must not stall for a slow device: the device then gets batches beyond the last size).
pub const MAX_CPU_TIME: Duration = Duration::from_millis(250);
/// Once the device takes this long for one batch, neither its further runs at that size
/// nor larger sizes are measured.
pub const MAX_DEVICE_TIME: Duration = Duration::from_secs(1);

/// One measured size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Signatures in the batch.
    pub size: usize,
    /// The device's best time.
    pub device: Duration,
    /// The CPU's best time.
    pub cpu: Duration,
}

/// The measured table and the size chosen from it.
#[derive(Debug, Clone, PartialEq)]
pub struct Crossover {
    /// Each size, smallest first.
    pub points: Vec<Point>,
    /// Batches of at least this many signatures go to the device.
    pub threshold: usize,
}

/// The smallest measured size from which the device is faster at every larger measured
/// size too. If it never is: four times the largest size when the measurement stopped
/// for the CPU's time (the device then only takes batches beyond what was measured), and
/// no size at all (`usize::MAX`) when it stopped for the device's time.
pub fn choose(points: &[Point], stopped_by_device: bool) -> usize {
    let mut threshold = match points.last() {
        Some(p) if !stopped_by_device => p.size.saturating_mul(4),
        _ => usize::MAX,
    };
    for p in points.iter().rev() {
        if p.device < p.cpu {
            threshold = p.size;
        } else {
            break;
        }
    }
    threshold
}

/// Times `device` and `cpu` on strict batches of each of `sizes` signatures (200-byte
/// messages, one signer), checking both against each other.
pub fn measure(
    device: &dyn Backend,
    cpu: &dyn Backend,
    sizes: &[usize],
) -> anyhow::Result<Crossover> {
    let mut points = Vec::with_capacity(sizes.len());
    let mut stopped_by_device = false;
    for (i, &size) in sizes.iter().enumerate() {
        let spec = SynthSpec {
            count: size,
            profile: Profile::Strict,
            invalid_fraction: 0.0,
            msg_len: 200..=200,
            signers: 1,
            format: Format::Jsonl,
            seed: 0x0c50 + i as u64,
        };
        let batch = Arc::new(synth::batch(&spec)?);
        let (device_time, a) = best(device, &batch, MAX_DEVICE_TIME)?;
        let (cpu_time, b) = best(cpu, &batch, Duration::MAX)?;
        anyhow::ensure!(
            a == b,
            "calibration: {} and {} disagree on a batch of {size}",
            device.info().name,
            cpu.info().name
        );
        points.push(Point {
            size,
            device: device_time,
            cpu: cpu_time,
        });
        if device_time > MAX_DEVICE_TIME {
            stopped_by_device = true;
            break;
        }
        if cpu_time > MAX_CPU_TIME {
            break;
        }
    }
    let threshold = choose(&points, stopped_by_device);
    Ok(Crossover { points, threshold })
}

/// The best of [`RUNS`] timed runs after a warm-up, and the verdicts. A run over `limit`
/// (the warm-up included) ends the runs and counts: the side is that slow.
fn best(
    backend: &dyn Backend,
    batch: &Arc<vigil_core::Batch>,
    limit: Duration,
) -> anyhow::Result<(Duration, Vec<bool>)> {
    let mut best = Duration::MAX;
    let mut verdicts = Vec::new();
    for run in 0..=RUNS {
        let start = Instant::now();
        let v = backend
            .verify(Arc::clone(batch), Profile::Strict)
            .wait()
            .with_context(|| format!("calibration batch on {}", backend.info().name))?;
        let took = start.elapsed();
        verdicts = v.signature_valid;
        if run > 0 || took > limit {
            best = best.min(took);
        }
        if took > limit {
            break;
        }
    }
    Ok((best, verdicts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(size: usize, device_us: u64, cpu_us: u64) -> Point {
        Point {
            size,
            device: Duration::from_micros(device_us),
            cpu: Duration::from_micros(cpu_us),
        }
    }

    #[test]
    fn the_threshold_is_where_the_device_wins_from_then_on() {
        let table = [
            point(64, 300, 100),
            point(256, 310, 400),
            point(1024, 290, 250), // noise: the CPU wins here again
            point(4096, 350, 1000),
            point(16384, 600, 4000),
        ];
        assert_eq!(choose(&table, false), 4096);
        let always = [point(64, 10, 100), point(256, 20, 400)];
        assert_eq!(choose(&always, false), 64);
        let never = [point(64, 1000, 100), point(256, 2000, 400)];
        assert_eq!(choose(&never, false), 1024);
        // The device's own time ended the measurement while it lost: no size goes to it.
        assert_eq!(choose(&never, true), usize::MAX);
        // It ended it while winning: the usual rule.
        let slow_win = [point(64, 1000, 100), point(256, 1500, 1600)];
        assert_eq!(choose(&slow_win, true), 256);
        assert_eq!(choose(&[], false), usize::MAX);
    }

    /// A real backend over the CPU verifier that sleeps a fixed time per batch plus a
    /// time per signature first, and counts its batches.
    struct Timed {
        inner: vigil_core::cpu::CpuBackend,
        fixed: Duration,
        per_sig: Duration,
        batches: std::sync::atomic::AtomicUsize,
    }

    impl Backend for Timed {
        fn info(&self) -> vigil_core::BackendInfo {
            self.inner.info()
        }
        fn verify(
            &self,
            batch: Arc<vigil_core::Batch>,
            profile: Profile,
        ) -> vigil_core::Pending<vigil_core::Verdicts> {
            self.batches
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let n = u32::try_from(batch.signature_count()).unwrap_or(u32::MAX);
            std::thread::sleep(self.fixed + self.per_sig * n);
            self.inner.verify(batch, profile)
        }
        fn merkle_root(&self, leaves: Arc<vigil_core::Leaves>) -> vigil_core::Pending<[u8; 32]> {
            self.inner.merkle_root(leaves)
        }
    }

    fn timed(fixed: Duration, per_sig: Duration) -> Timed {
        Timed {
            inner: vigil_core::cpu::CpuBackend::new(Some(1)).expect("cpu"),
            fixed,
            per_sig,
            batches: 0.into(),
        }
    }

    /// A device with a fixed cost per batch against a CPU that is linear in size: the
    /// crossover lands where the two lines cross.
    #[test]
    fn measures_a_fixed_cost_device_against_a_linear_cpu() {
        // Device: 8 ms per batch. CPU: 50 us per signature: 3.2 ms at 64, 12.8 ms at 256.
        let device = timed(Duration::from_millis(8), Duration::ZERO);
        let linear = timed(Duration::ZERO, Duration::from_micros(50));
        let c = measure(&device, &linear, &[64, 256]).expect("measure");
        assert_eq!(c.threshold, 256, "{c:?}");
        assert!(c.points[0].device > c.points[0].cpu);
    }

    /// A device slower than MAX_DEVICE_TIME on the smallest batch (the simulated card):
    /// one batch on it, no larger size measured, and no size routed to it.
    #[test]
    fn a_device_too_slow_to_measure_gets_no_batches_by_size() {
        let device = timed(MAX_DEVICE_TIME + Duration::from_millis(50), Duration::ZERO);
        let fast = timed(Duration::ZERO, Duration::ZERO);
        let c = measure(&device, &fast, &[64, 256, 1024]).expect("measure");
        assert_eq!(c.points.len(), 1, "{c:?}");
        assert_eq!(c.threshold, usize::MAX, "{c:?}");
        assert_eq!(
            device.batches.load(std::sync::atomic::Ordering::Relaxed),
            1,
            "the warm-up alone showed it too slow"
        );
        assert!(c.points[0].device > MAX_DEVICE_TIME);
    }
}
