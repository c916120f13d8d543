//! The `hive` binary. The HTTP server and CLI come with the server issue;
//! until then it says so and points at what runs today.

fn main() {
    println!(
        "hive {}: the HTTP server and CLI are not built yet.\n\
         Run the embedded quickstart: cargo run -p examples --example quickstart",
        env!("CARGO_PKG_VERSION")
    );
}
