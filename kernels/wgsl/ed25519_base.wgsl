// ed25519_base.wgsl: not written yet (issue 19).
