// sc25519.wgsl: not written yet (issue 19).
