//! In a build that left a backend out (`--no-default-features --features
//! sqlite`, as `./scripts/test` runs the unit tests), every store that would
//! open one of its URLs — and the facade — answers the feature's
//! `NotSupported` instead of failing later or falling back silently. The
//! tests live with the facade because they open every room's store.

use crate::error::Error;

/// In a build without a backend, every store that would open its URL
/// answers the feature's NotSupported instead (`./scripts/test` runs
/// these in the embedded-only build).
#[tokio::test]
async fn stores_refuse_urls_of_backends_left_out_naming_the_feature() {
    use crate::queue::QueueConfig;

    let check = |what: &str, e: Option<Error>, feature: &str| {
        assert!(
            matches!(&e, Some(Error::NotSupported { backend, .. }) if *backend == feature),
            "{what}: {e:?}"
        );
        let says = e.map(|e| e.to_string()).unwrap_or_default();
        assert!(
            says.contains(&format!("`{feature}` feature")),
            "{what}: {says}"
        );
    };
    #[cfg(not(feature = "redis"))]
    {
        let url = "redis://127.0.0.1:6379";
        let queue = crate::queue::open(url, QueueConfig::default()).await.err();
        check("queue", queue, "redis");
        let broker = crate::broker::open(url, Default::default()).await.err();
        check("broker", broker, "redis");
        let hive = crate::Hive::builder()
            .memory()
            .redis(url)
            .without_context()
            .build()
            .await
            .err();
        check("hive", hive, "redis");
    }
    #[cfg(not(feature = "postgres"))]
    {
        let url = "postgres://postgres@127.0.0.1:5432/hive";
        let queue = crate::queue::open(url, QueueConfig::default()).await.err();
        check("queue", queue, "postgres");
        let history = crate::broker::history::open(url).await.err();
        check("history", history, "postgres");
        let registry = crate::agent::open(url).await.err();
        check("registry", registry, "postgres");
        let sessions = crate::session::open(url).await.err();
        check("sessions", sessions, "postgres");
        let model = crate::context::ModelSpec::new("m", 8).expect("model");
        let context = crate::context::open(url, model).await.err();
        check("context", context, "postgres");
    }
}
