//! The `hive` binary: `hive serve` and the client commands, all in
//! [`hive_server::cli`]; this file only runs it and exits with its code.

#[tokio::main]
async fn main() {
    let code = hive_server::cli::main().await;
    std::process::exit(code);
}
