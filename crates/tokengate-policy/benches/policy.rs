//! Policy benchmark (filled in below).
fn main() {}
