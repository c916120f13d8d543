//! The `hive` binary: placeholder until the server issue lands.
fn main() {}
