//! Generates the gRPC code and the file descriptor set (for server reflection).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    println!("cargo:rerun-if-changed=proto/vigil/v1/verifier.proto");
    tonic_prost_build::configure()
        // Bytes fields become `bytes::Bytes`: slices of the received frame, not copies.
        .bytes(".")
        .file_descriptor_set_path(out.join("vigil_descriptor.bin"))
        .compile_protos(&["proto/vigil/v1/verifier.proto"], &["proto"])?;
    Ok(())
}
