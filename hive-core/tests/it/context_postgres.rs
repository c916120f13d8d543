//! The context-store conformance suite on Postgres + pgvector, plus what is
//! particular to it: the HNSW index answers searches (and is not bypassed),
//! the filtered-scan trap, and HNSW recall against exact search.
//!
//! Needs `HIVE_TEST_DATABASE_URL` (set by `./scripts/test`). Clauses share
//! one database: each opens models of its own, and `finish` deletes their
//! rows and drops their indexes.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use hive_core::conformance::context::ContextHarness;
use hive_core::conformance::service_url;
use hive_core::context::postgres::PostgresContextStore;
use hive_core::context::{ContextStore, ModelSpec};

/// Opens stores on the test database and remembers them to clean up.
struct Postgres {
    url: String,
    opened: Mutex<Vec<PostgresContextStore>>,
}

impl Postgres {
    fn from_env() -> Option<Self> {
        Some(Postgres {
            url: service_url("HIVE_TEST_DATABASE_URL")?,
            opened: Mutex::new(Vec::new()),
        })
    }
}

#[async_trait]
impl ContextHarness for Postgres {
    async fn open(&self, model: ModelSpec) -> Arc<dyn ContextStore> {
        let store = PostgresContextStore::open(&self.url, model)
            .await
            .expect("open postgres context store");
        self.opened.lock().expect("lock").push(store.clone());
        Arc::new(store)
    }

    async fn finish(&self) {
        let opened = std::mem::take(&mut *self.opened.lock().expect("lock"));
        for store in opened {
            store.forget_model().await.expect("forget model");
        }
    }
}

mod conformance {
    use super::Postgres;

    hive_core::context_conformance_tests!(Postgres::from_env());
}

mod particular {
    use std::collections::HashSet;

    use hive_core::conformance::{service_url, unique_name};
    use hive_core::context::postgres::{PostgresContextOptions, PostgresContextStore};
    use hive_core::context::{
        vector, ContextStore, Filter, Kind, ModelSpec, NewEntry, VectorQuery,
    };
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use sqlx::postgres::PgPoolOptions;

    /// `count` unit vectors of `dim` dimensions around `clusters` random
    /// centres: the shape real embeddings have (topics), reproducible.
    fn clustered(rng: &mut StdRng, count: usize, dim: usize, clusters: usize) -> Vec<Vec<f32>> {
        let centres: Vec<Vec<f32>> = (0..clusters)
            .map(|_| (0..dim).map(|_| rng.random_range(-1.0..1.0)).collect())
            .collect();
        (0..count)
            .map(|i| {
                let c = &centres[i % clusters];
                let mut v: Vec<f32> = c.iter().map(|x| x + rng.random_range(-0.8..0.8)).collect();
                vector::normalize(&mut v).expect("normalise");
                v
            })
            .collect()
    }

    async fn store(url: &str, dim: usize) -> PostgresContextStore {
        PostgresContextStore::open(url, ModelSpec::new(unique_name("pg"), dim).expect("model"))
            .await
            .expect("open")
    }

    /// The store's search statement can be answered by the model's HNSW
    /// index (the partial index's predicate and expression match it). On a
    /// table this small the planner rightly prefers an exact scan, so a
    /// second handle rules scans and sorts out for its connections.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn searches_use_the_models_hnsw_index() {
        let Some(url) = service_url("HIVE_TEST_DATABASE_URL") else {
            return;
        };
        let s = store(&url, 32).await;
        let mut rng = StdRng::seed_from_u64(7);
        let entries = clustered(&mut rng, 2000, 32, 20)
            .into_iter()
            .enumerate()
            .map(|(i, v)| NewEntry::new(format!("e{i}"), v))
            .collect();
        s.insert(entries).await.expect("insert");
        let q = VectorQuery::new(clustered(&mut rng, 1, 32, 1).remove(0), 10);
        let sep = if url.contains('?') { '&' } else { '?' };
        let forced = PostgresContextStore::open(
            &format!("{url}{sep}options=-c%20enable_seqscan%3Doff%20-c%20enable_sort%3Doff"),
            s.model().clone(),
        )
        .await
        .expect("open forced");
        let index = PostgresContextStore::index_name(s.model());
        for q in [q.clone(), q.clone().filter(Filter::any().pinned(false))] {
            let plan = forced.explain(&q).await.expect("explain");
            assert!(
                plan.contains(&index),
                "the plan does not use {index}:\n{plan}"
            );
            let hits = forced.search(&q).await.expect("search");
            assert_eq!(hits.len(), 10);
            let exact = s.search(&q).await.expect("search");
            let same = hits
                .iter()
                .filter(|h| exact.iter().any(|e| e.entry.id == h.entry.id))
                .count();
            assert!(same >= 9, "the index found {same} of the exact 10");
        }
        s.forget_model().await.expect("clean up");
    }

    /// The pgvector filtered-scan trap: an HNSW scan returns its first
    /// `ef_search` candidates and only then applies the filter, so a filter
    /// that excludes the nearest entries leaves fewer than `k` results. The
    /// test first shows the trap on this data (index forced by ruling out
    /// scans and sorts, no iterative
    /// scan), then that the store's way (iterative scan, relaxed order)
    /// answers `k` with the index forced, and that `search` answers `k`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn filtered_searches_escape_the_filtered_scan_trap() {
        let Some(url) = service_url("HIVE_TEST_DATABASE_URL") else {
            return;
        };
        let dim = 32;
        let s = store(&url, dim).await;
        let mut rng = StdRng::seed_from_u64(11);
        let crowd = clustered(&mut rng, 3000, dim, 10);
        let query = crowd[0].clone();
        let mut entries: Vec<NewEntry> = crowd
            .into_iter()
            .enumerate()
            .map(|(i, v)| NewEntry::new(format!("crowd {i}"), v))
            .collect();
        // Twenty rare entries pointing away from the query.
        for (i, v) in clustered(&mut rng, 20, dim, 2).into_iter().enumerate() {
            let away: Vec<f32> = v.iter().zip(&query).map(|(x, q)| x - q).collect();
            entries.push(
                NewEntry::new(format!("rare {i}"), away).kind(Kind::new("rare").expect("kind")),
            );
        }
        s.insert(entries).await.expect("insert");

        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .expect("connect");
        let q = format!(
            "[{}]",
            query
                .iter()
                .map(f32::to_string)
                .collect::<Vec<_>>()
                .join(",")
        );
        let naive = format!(
            "SELECT count(*) FROM (SELECT id FROM context_entries \
             WHERE model = '{model}' AND kind = 'rare' \
             ORDER BY (embedding::vector({dim})) <#> ('{q}'::vector({dim})) LIMIT 10) t",
            model = s.model().id
        );
        let count_with = |settings: &'static str| {
            let pool = pool.clone();
            let naive = naive.clone();
            async move {
                let mut tx = pool.begin().await.expect("begin");
                for set in settings.split(';').filter(|x| !x.trim().is_empty()) {
                    sqlx::raw_sql(set).execute(&mut *tx).await.expect(set);
                }
                let n: i64 = sqlx::query_scalar(&naive)
                    .fetch_one(&mut *tx)
                    .await
                    .expect("naive query");
                tx.rollback().await.expect("rollback");
                n
            }
        };
        let trapped = count_with(
            "SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off; \
             SET LOCAL hnsw.ef_search = 40; SET LOCAL hnsw.iterative_scan = off;",
        )
        .await;
        assert!(
            trapped < 10,
            "the data does not show the trap ({trapped} rows)"
        );
        let escaped = count_with(
            "SET LOCAL enable_seqscan = off; SET LOCAL enable_sort = off; \
             SET LOCAL hnsw.ef_search = 40; SET LOCAL hnsw.iterative_scan = relaxed_order;",
        )
        .await;
        assert_eq!(escaped, 10, "an iterative scan should find all ten");
        pool.close().await;

        let hits = s
            .search(
                &VectorQuery::new(query, 10)
                    .filter(Filter::any().kind(Kind::new("rare").expect("kind"))),
            )
            .await
            .expect("search");
        assert_eq!(hits.len(), 10);
        assert!(hits.iter().all(|h| h.entry.content.starts_with("rare")));
        s.forget_model().await.expect("clean up");
    }

    /// Unit vectors with the shape of real embeddings: a few latent topics
    /// (24 dimensions of meaning, mixed into 256) plus a little noise, so
    /// neighbours exist. Isotropic random vectors, where every point is
    /// nearly as far as every other, would measure a case no embedder makes.
    fn embedding_like(rng: &mut StdRng, count: usize, mix: &[Vec<f32>]) -> Vec<Vec<f32>> {
        (0..count)
            .map(|_| {
                let z: Vec<f32> = (0..mix[0].len())
                    .map(|_| rng.random_range(-1.0..1.0))
                    .collect();
                let mut v: Vec<f32> = mix
                    .iter()
                    .map(|row| {
                        row.iter().zip(&z).map(|(a, b)| a * b).sum::<f32>()
                            + rng.random_range(-0.05..0.05)
                    })
                    .collect();
                vector::normalize(&mut v).expect("normalise");
                v
            })
            .collect()
    }

    /// HNSW against exact search: recall@10 of the model's index, forced
    /// (a planner may prefer an exact scan on a table this small), at the
    /// store's default `ef_search`, over 50 queries on 5,000 vectors of
    /// 256 dimensions; exact answers computed here in Rust.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hnsw_recall_at_10_is_at_least_095() {
        let Some(url) = service_url("HIVE_TEST_DATABASE_URL") else {
            return;
        };
        let dim = 256;
        let s = store(&url, dim).await;
        let mut rng = StdRng::seed_from_u64(42);
        let mix: Vec<Vec<f32>> = (0..dim)
            .map(|_| (0..24).map(|_| rng.random_range(-1.0..1.0)).collect())
            .collect();
        let vectors = embedding_like(&mut rng, 5000, &mix);
        let entries: Vec<NewEntry> = vectors
            .iter()
            .enumerate()
            .map(|(i, v)| NewEntry::new(format!("{i}"), v.clone()))
            .collect();
        s.insert(entries).await.expect("insert");
        let queries = embedding_like(&mut rng, 50, &mix);

        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect(&url)
            .await
            .expect("connect");
        let ef = PostgresContextOptions::default().ef_search;
        let mut found = 0;
        for q in &queries {
            let mut exact: Vec<(f32, usize)> = vectors
                .iter()
                .enumerate()
                .map(|(i, v)| (vector::cosine(q, v), i))
                .collect();
            exact.sort_by(|a, b| b.0.total_cmp(&a.0));
            let truth: HashSet<String> = exact[..10].iter().map(|(_, i)| i.to_string()).collect();
            let text = format!(
                "[{}]",
                q.iter().map(f32::to_string).collect::<Vec<_>>().join(",")
            );
            let mut tx = pool.begin().await.expect("begin");
            for set in [
                "SET LOCAL enable_seqscan = off".to_string(),
                "SET LOCAL enable_sort = off".to_string(),
                format!("SET LOCAL hnsw.ef_search = {ef}"),
            ] {
                sqlx::raw_sql(&set).execute(&mut *tx).await.expect("set");
            }
            let sql = format!(
                "SELECT content FROM context_entries WHERE model = '{}' \
                 ORDER BY (embedding::vector({dim})) <#> ('{text}'::vector({dim})) LIMIT 10",
                s.model().id
            );
            let plan: Vec<String> = sqlx::query_scalar(&format!("EXPLAIN {sql}"))
                .fetch_all(&mut *tx)
                .await
                .expect("explain");
            let index = PostgresContextStore::index_name(s.model());
            assert!(plan.join("\n").contains(&index), "{plan:?}");
            let got: Vec<String> = sqlx::query_scalar(&sql)
                .fetch_all(&mut *tx)
                .await
                .expect("search");
            tx.rollback().await.expect("rollback");
            found += got.iter().filter(|c| truth.contains(*c)).count();
        }
        pool.close().await;
        let recall = found as f64 / (10 * queries.len()) as f64;
        println!(
            "HNSW recall@10 = {recall:.3} (ef_search = {ef}, 5,000 vectors of 256 dimensions)"
        );
        assert!(recall >= 0.95, "recall@10 = {recall:.3}");
        s.forget_model().await.expect("clean up");
    }
}
