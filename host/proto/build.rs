//! Generates the gRPC code and the file descriptor set (for server reflection).
//!
//! protoc comes from the `protoc-bin-vendored` crate unless `PROTOC` names one, so the
//! build needs nothing beyond the Rust toolchain and always uses the same protoc.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    println!("cargo:rerun-if-env-changed=PROTOC");
    if std::env::var_os("PROTOC").is_none() {
        std::env::set_var("PROTOC", protoc_bin_vendored::protoc_bin_path()?);
    }
    println!("cargo:rerun-if-changed=proto/vigil/v1/verifier.proto");
    tonic_prost_build::configure()
        // Bytes fields become `bytes::Bytes`: slices of the received frame, not copies.
        .bytes(".")
        // prost's codec, except that a stream message that does not decode fails alone
        // (src/lenient.rs).
        .codec_path("crate::lenient::LenientCodec")
        .file_descriptor_set_path(out.join("vigil_descriptor.bin"))
        .compile_protos(&["proto/vigil/v1/verifier.proto"], &["proto"])?;
    Ok(())
}
