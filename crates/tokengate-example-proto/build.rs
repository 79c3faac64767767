//! Generates the code of `examples/proto/orders.proto` with a vendored `protoc` (no system
//! protoc needed) and writes the file descriptor set that server reflection serves.

use std::error::Error;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_dir = manifest.join("../../examples/proto");
    let proto = proto_dir.join("orders.proto");
    println!("cargo:rerun-if-changed={}", proto.display());
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    let mut config = prost_build::Config::new();
    config.protoc_executable(protoc_bin_vendored::protoc_bin_path()?);
    tonic_prost_build::configure().file_descriptor_set_path(out.join("orders_descriptor.bin")).compile_with_config(
        config,
        &[proto],
        &[proto_dir],
    )?;
    Ok(())
}
