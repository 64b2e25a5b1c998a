//! vigil-runtime: the one device runtime every accelerator backend runs on.
//!
//! CUDA GPUs, OpenCL devices and FPGA cards differ in how they queue commands, and in
//! nothing else that matters to the daemon: each needs a worker that keeps several
//! batches in flight, a bounded queue in front of it, a failure rule (a device that
//! errs is never trusted again, its work re-run elsewhere), a choice among several
//! devices, a self-test before serving, and a status for `vigil devices`. That is this
//! crate, written once:
//!
//! * [`queue`]: the [`DeviceQueue`] trait, the only thing a backend writes;
//! * [`device`]: [`Device`], one device's worker and its bounded submission;
//! * [`pool`]: [`Pool`], several devices as one [`vigil_core::Backend`], least loaded
//!   first;
//! * [`roster`]: [`Roster`], how a backend opens its devices (each self-tested) and
//!   keeps every device's status;
//! * [`fault`]: [`Fault`], why a device left service.
//!
//! # Adding a backend
//!
//! 1. Implement [`DeviceQueue`] for one device: `slots` (how many batches it holds at
//!    once, each with its own buffers and command queue or stream); `enqueue_verify`
//!    and `enqueue_merkle` (copy the batch's flat buffers in, launch the kernels as the
//!    launch contract in `vigil_kernels::launch` describes them, copy the results out,
//!    all without waiting, and return what to wait on; answer
//!    [`Refusal::Unfit`] for work the device cannot take and [`Refusal::Failed`] with
//!    your driver's error for a device error); `wait`; and `verdicts` / `root` to read
//!    a completed slot back. Override `verifies` if the device has no signature
//!    engine, and `check` for known answers only your device's own interface can
//!    reach.
//! 2. Open each device found: [`Device::start`] it and hand the result to
//!    [`Roster::admit`] (or [`Roster::refuse`] one you do not use), then
//!    [`Roster::finish`] and serve the [`Opened::pool`] as your backend (delegate
//!    `vigil_core::Backend` to it, as the CUDA, OpenCL and FPGA backends do).
//! 3. Run the conformance harness through your backend in its tests:
//!    `vigil_core::conformance::assert_conforms(&backend)` checks every profile's
//!    verdicts and every Merkle root against the reference crates, and skips nothing;
//!    run it where the device exists (the OpenCL tests run it on PoCL in CI).
//!
//! The runtime's own tests drive every path of the worker with a device that computes
//! on the CPU and can be told to fail.

pub mod device;
pub mod fault;
pub mod pool;
pub mod queue;
pub mod roster;

#[cfg(test)]
mod tests;

pub use device::{Device, StartError, QUEUE_DEPTH};
pub use fault::Fault;
pub use pool::Pool;
pub use queue::{DeviceQueue, Refusal};
pub use roster::{start_failures, DeviceStatus, Opened, Roster};
