#!/usr/bin/env bash
# The OpenCL backend against the CPU backend (benches/device.sh opencl). Usage:
#   benches/opencl.sh [COUNT] > benches/results/opencl-raw.jsonl
exec "$(dirname "$0")/device.sh" opencl "$@"
