//! The dispatch path on lavapipe: buffers in, a shader, buffers out, and errors as values.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use vigil_wgpu::gpu::{Bind, Error};

const ADD: &str = r#"
@group(0) @binding(0) var<storage, read> a: array<u32>;
@group(0) @binding(1) var<storage, read_write> b: array<u32>;
struct Args { count: u32, add: u32 }
@group(0) @binding(2) var<uniform> args: Args;

@compute @workgroup_size(64)
fn add(@builtin(global_invocation_id) id: vec3<u32>) {
    if (id.x >= args.count) { return; }
    b[id.x] = a[id.x] * 3u + b[id.x] + args.add;
}
"#;

#[test]
fn a_shader_runs_and_its_results_come_back() {
    let gpu = common::software_gpu();
    let pipeline = gpu.pipeline(ADD, "add").unwrap();
    let a: Vec<u32> = (0..200).collect();
    let b: Vec<u32> = (0..200).map(|i| 1000 + i).collect();
    let out = gpu
        .run(
            &pipeline,
            &[
                Bind::Read(&a),
                Bind::ReadWrite(&b),
                Bind::Uniform(&[150, 7]),
            ],
            4,
        )
        .unwrap();
    assert_eq!(out.len(), 1);
    for i in 0..200u32 {
        let want = if i < 150 {
            i * 3 + 1000 + i + 7
        } else {
            1000 + i
        };
        assert_eq!(out[0][i as usize], want, "word {i}");
    }
}

#[test]
fn a_broken_shader_is_an_error_not_a_panic() {
    let gpu = common::software_gpu();
    let err = gpu.pipeline("fn nope( {", "nope").map(drop).unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err}");
    let err = gpu.pipeline(ADD, "missing_entry").map(drop).unwrap_err();
    assert!(matches!(err, Error::Validation { .. }), "{err}");
}

#[test]
fn an_error_outside_a_checked_call_is_kept_as_a_fault_not_a_panic() {
    let gpu = common::software_gpu();
    assert_eq!(gpu.fault(), None);
    // MAP_READ may only go with COPY_DST: wgpu rejects this buffer, and with no error
    // scope around the call its default would be to panic.
    let _ = gpu.device().create_buffer(&wgpu::BufferDescriptor {
        label: None,
        size: 16,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let fault = gpu.fault().expect("the error is kept");
    assert!(
        fault.contains("usage") || fault.contains("Usage"),
        "{fault}"
    );
}
