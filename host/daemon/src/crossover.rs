//! The batch size from which a device beats the CPU, measured on this machine.
//!
//! Where a small batch should run depends on the machine: a GPU's fixed cost per batch
//! (launches, copies, one thread's latency through a whole verification) against how
//! many cores the CPU has. A constant would be wrong somewhere, so `serve` measures it
//! at start-up when it has both an accelerator and the CPU and no configured
//! `small_batch_signatures`: it times both on batches of [`SIZES`] signatures (one
//! warm-up, then the best of [`RUNS`]) and routes below the crossover to the CPU.
//! `vigil bench --crossover` prints the same table.

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
/// size too; if it never is, four times the largest size (the device then only takes
/// batches beyond what was measured).
pub fn choose(points: &[Point]) -> usize {
    let mut threshold = points
        .last()
        .map_or(usize::MAX, |p| p.size.saturating_mul(4));
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
        let (device_time, a) = best(device, &batch)?;
        let (cpu_time, b) = best(cpu, &batch)?;
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
        if cpu_time > MAX_CPU_TIME {
            break;
        }
    }
    let threshold = choose(&points);
    Ok(Crossover { points, threshold })
}

fn best(
    backend: &dyn Backend,
    batch: &Arc<vigil_core::Batch>,
) -> anyhow::Result<(Duration, Vec<bool>)> {
    let mut best = Duration::MAX;
    let mut verdicts = Vec::new();
    for run in 0..=RUNS {
        let start = Instant::now();
        let v = backend
            .verify(Arc::clone(batch), Profile::Strict)
            .wait()
            .with_context(|| format!("calibration batch on {}", backend.info().name))?;
        if run > 0 {
            best = best.min(start.elapsed());
        }
        verdicts = v.signature_valid;
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
        assert_eq!(choose(&table), 4096);
        let always = [point(64, 10, 100), point(256, 20, 400)];
        assert_eq!(choose(&always), 64);
        let never = [point(64, 1000, 100), point(256, 2000, 400)];
        assert_eq!(choose(&never), 1024);
        assert_eq!(choose(&[]), usize::MAX);
    }

    /// A device with a fixed cost per batch against a CPU that is linear in size, both
    /// real backends over the CPU verifier with sleeps: the crossover lands where the
    /// two lines cross.
    #[test]
    fn measures_a_fixed_cost_device_against_a_linear_cpu() {
        struct Timed {
            inner: vigil_core::cpu::CpuBackend,
            fixed: Duration,
            per_sig: Duration,
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
                let n = u32::try_from(batch.signature_count()).unwrap_or(u32::MAX);
                std::thread::sleep(self.fixed + self.per_sig * n);
                self.inner.verify(batch, profile)
            }
            fn merkle_root(
                &self,
                leaves: Arc<vigil_core::Leaves>,
            ) -> vigil_core::Pending<[u8; 32]> {
                self.inner.merkle_root(leaves)
            }
        }
        let cpu = |fixed, per_sig| Timed {
            inner: vigil_core::cpu::CpuBackend::new(Some(1)).expect("cpu"),
            fixed,
            per_sig,
        };
        // Device: 8 ms per batch. CPU: 50 us per signature: 3.2 ms at 64, 12.8 ms at 256.
        let device = cpu(Duration::from_millis(8), Duration::ZERO);
        let linear = cpu(Duration::ZERO, Duration::from_micros(50));
        let c = measure(&device, &linear, &[64, 256]).expect("measure");
        assert_eq!(c.threshold, 256, "{c:?}");
        assert!(c.points[0].device > c.points[0].cpu);
    }
}
