//! The generated code of `examples/proto/orders.proto` (package `tokengate.example.v1`),
//! shared by `cargo run --example grpc` and tokengate-tonic's tests. Not published.

/// `tokengate.example.v1`: the `Orders` service, its client and its messages.
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod orders {
    tonic::include_proto!("tokengate.example.v1");
}

/// The encoded `FileDescriptorSet` of `orders.proto`, for server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("orders_descriptor");
