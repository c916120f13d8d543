//! Retrieval quality on the paraphrase fixture set
//! (`tests/fixtures/retrieval`): queries that describe their document in
//! other words, so matching shared words mostly fails.
//!
//! The offline default embedder must clearly beat the hashing test double
//! (which matches shared words only); both recall@5 figures are printed.

use std::collections::HashSet;

use hive_core::context::vector::cosine;
use hive_core::context::{EmbeddingService, HashingEmbedder, OfflineEmbedder};
use serde::Deserialize;

#[derive(Deserialize)]
struct Document {
    id: String,
    text: String,
}

#[derive(Deserialize)]
struct Query {
    text: String,
    relevant: Vec<String>,
}

fn fixture<T: for<'de> Deserialize<'de>>(name: &str) -> Vec<T> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/retrieval")
        .join(name);
    let text = std::fs::read_to_string(&path).expect("read fixture");
    serde_json::from_str(&text).expect("parse fixture")
}

/// Mean over queries of the share of relevant documents in the top `k`.
async fn recall_at(
    k: usize,
    embedder: &dyn EmbeddingService,
    docs: &[Document],
    queries: &[Query],
) -> f64 {
    let doc_vectors = embedder
        .embed(&docs.iter().map(|d| d.text.clone()).collect::<Vec<_>>())
        .await
        .expect("embed documents");
    let query_vectors = embedder
        .embed(&queries.iter().map(|q| q.text.clone()).collect::<Vec<_>>())
        .await
        .expect("embed queries");
    let mut total = 0.0;
    for (q, qv) in queries.iter().zip(&query_vectors) {
        let mut ranked: Vec<(f32, &str)> = docs
            .iter()
            .zip(&doc_vectors)
            .map(|(d, dv)| (cosine(qv, dv), d.id.as_str()))
            .collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0));
        let top: HashSet<&str> = ranked.iter().take(k).map(|r| r.1).collect();
        let found = q
            .relevant
            .iter()
            .filter(|r| top.contains(r.as_str()))
            .count();
        total += found as f64 / q.relevant.len() as f64;
    }
    total / queries.len() as f64
}

#[tokio::test]
async fn the_fixture_is_well_formed_and_words_alone_rarely_find_the_answer() {
    let docs: Vec<Document> = fixture("documents.json");
    let queries: Vec<Query> = fixture("queries.json");
    assert!(
        docs.len() >= 50 && queries.len() >= 30,
        "the issue's minimum size"
    );
    let ids: HashSet<&str> = docs.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids.len(), docs.len(), "document ids are unique");
    for q in &queries {
        assert!(!q.relevant.is_empty(), "{}: has relevant documents", q.text);
        for r in &q.relevant {
            assert!(ids.contains(r.as_str()), "{}: unknown document {r}", q.text);
        }
    }
    let hashing = HashingEmbedder::new(512).expect("embedder");
    let recall = recall_at(5, &hashing, &docs, &queries).await;
    println!("recall@5 of {}: {recall:.3}", hashing.model());
    assert!(
        recall < 0.5,
        "the set is paraphrased: shared words alone find few answers ({recall:.3})"
    );
    assert!(recall > 0.0, "but not none: a few queries share a name");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_offline_default_finds_paraphrases_that_words_miss() {
    let docs: Vec<Document> = fixture("documents.json");
    let queries: Vec<Query> = fixture("queries.json");
    let offline = OfflineEmbedder::new().expect("built-in model");
    let hashing = HashingEmbedder::new(offline.dimension()).expect("embedder");
    let default_recall = recall_at(5, &offline, &docs, &queries).await;
    let floor = recall_at(5, &hashing, &docs, &queries).await;
    println!(
        "recall@5: {} {default_recall:.3}, {} {floor:.3}",
        offline.model(),
        hashing.model()
    );
    assert!(
        default_recall >= floor + 0.2,
        "the default ({default_recall:.3}) must clearly beat shared words ({floor:.3})"
    );
}
