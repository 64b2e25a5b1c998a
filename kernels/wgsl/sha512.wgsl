// sha512.wgsl: not written yet (issue 19).
