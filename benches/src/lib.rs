//! Benchmarks live in `benches/benches/`; this library holds the few
//! helpers more than one of them needs (run them as `cargo bench -p
//! hive-benches --bench <name>`, or all through `./scripts/bench`).

use fred::interfaces::{ClientLike, KeysInterface};

/// One figure of this process's `/proc/self/status` in MiB: `VmRSS`
/// (resident now) or `VmHWM` (the peak); NaN where there is none.
pub fn memory_mib(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

/// A connected client of the Redis at `url`.
///
/// # Errors
/// A bad URL, or Redis cannot be reached.
pub async fn redis_client(url: &str) -> anyhow::Result<fred::prelude::Client> {
    let client =
        fred::prelude::Client::new(fred::prelude::Config::from_url(url)?, None, None, None);
    client.init().await?;
    Ok(client)
}

/// Deletes every key of the Redis at `url` matching `pattern` (what a
/// benchmark left behind, e.g. `hive:{bench-*`).
///
/// # Errors
/// Redis errors.
pub async fn delete_redis_keys(url: &str, pattern: &str) -> anyhow::Result<()> {
    let client = redis_client(url).await?;
    let mut cursor = "0".to_string();
    loop {
        let (next, keys): (String, Vec<String>) = client
            .scan_page(cursor, pattern.to_string(), Some(1000), None)
            .await?;
        if !keys.is_empty() {
            let _: i64 = client.del(keys).await?;
        }
        if next == "0" {
            break;
        }
        cursor = next;
    }
    client.quit().await?;
    Ok(())
}
