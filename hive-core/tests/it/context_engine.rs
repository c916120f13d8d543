//! The context engine over both stores: near-duplicate merging, ranking by
//! similarity × recency × importance, memory tiers, compression (extractive,
//! by an LLM served by aimock, and the fallback between them) and bad input.
//!
//! Every test runs on the embedded default (`sqlite::memory:`) and, when
//! `HIVE_TEST_DATABASE_URL` is set, on Postgres + pgvector with a model id
//! of its own (cleaned up at the end).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{Duration, Utc};
use hive_core::conformance::{service_url, unique_name};
use hive_core::context::postgres::PostgresContextStore;
use hive_core::context::{
    estimate_tokens, CompressOptions, ContextCompressor, ContextEngine, ContextStore,
    EmbeddingService, EngineConfig, Filter, HashingEmbedder, Kind, LlmSummarizer, ModelSpec,
    NewEntry, OfflineEmbedder, Patch, SearchRequest, SemanticSearch, Stored, Summarizer, Tier,
};
use hive_core::llm::openai::{OpenAiChat, OpenAiChatConfig, OpenAiConfig};
use hive_core::llm::LlmProvider;
use hive_core::Error;
use serde_json::json;

/// An embedder with the offline model's vectors under a model id of this
/// test's own, so Postgres runs never see each other's entries.
#[derive(Debug)]
struct Renamed {
    inner: OfflineEmbedder,
    id: String,
}

#[async_trait]
impl EmbeddingService for Renamed {
    fn model(&self) -> &str {
        &self.id
    }
    fn dimension(&self) -> usize {
        self.inner.dimension()
    }
    async fn embed(&self, texts: &[String]) -> hive_core::Result<Vec<Vec<f32>>> {
        self.inner.embed(texts).await
    }
}

/// The engines a test runs on: embedded always, Postgres when configured.
async fn engines() -> Vec<(ContextEngine, Option<PostgresContextStore>)> {
    let embedder = Arc::new(Renamed {
        inner: OfflineEmbedder::new().expect("embedder"),
        id: unique_name("engine"),
    });
    let mut out = vec![(
        ContextEngine::open("sqlite::memory:", embedder.clone())
            .await
            .expect("sqlite engine"),
        None,
    )];
    if let Some(url) = service_url("HIVE_TEST_DATABASE_URL") {
        let model = ModelSpec::of(embedder.as_ref()).expect("model");
        let store = PostgresContextStore::open(&url, model)
            .await
            .expect("postgres store");
        let engine = ContextEngine::new(Arc::new(store.clone()), embedder).expect("pg engine");
        out.push((engine, Some(store)));
    }
    out
}

async fn clean_up(pg: Option<PostgresContextStore>) {
    if let Some(store) = pg {
        store.forget_model().await.expect("forget model");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn near_duplicates_merge_into_the_stored_entry() {
    for (engine, pg) in engines().await {
        let first = engine
            .remember(
                NewEntry::text("The deploy key rotates every Monday morning")
                    .agent("ops")
                    .kind(Kind::fact())
                    .importance(0.4)
                    .metadata(json!({ "seen": 1 })),
            )
            .await
            .expect("first");
        let Stored::New { id } = first else {
            panic!("the first entry was merged: {first:?}")
        };
        let again = engine
            .remember(
                NewEntry::text("The deploy key rotates every Monday morning.")
                    .agent("ops")
                    .kind(Kind::fact())
                    .tier(Tier::Long)
                    .importance(0.9)
                    .metadata(json!({ "source": "runbook" })),
            )
            .await
            .expect("again");
        match again {
            Stored::Merged { into, similarity } => {
                assert_eq!(into, id);
                assert!(similarity >= 0.95, "{similarity}");
            }
            other => panic!("expected a merge, got {other:?}"),
        }
        let merged = engine.get(id).await.expect("get");
        assert_eq!(
            merged.content,
            "The deploy key rotates every Monday morning"
        );
        assert!((merged.importance - 0.9).abs() < 1e-6);
        assert_eq!(merged.tier, Tier::Long);
        assert_eq!(merged.metadata, json!({ "seen": 1, "source": "runbook" }));
        assert_eq!(merged.access_count, 1);

        // A near-duplicate is checked like a new entry: a bad importance
        // is refused, not merged.
        let refused = engine
            .remember(
                NewEntry::text("The deploy key rotates every Monday morning")
                    .agent("ops")
                    .kind(Kind::fact())
                    .importance(-1.0),
            )
            .await;
        assert!(
            matches!(&refused, Err(Error::InvalidInput(m)) if m.contains("importance")),
            "{refused:?}"
        );
        assert!((engine.get(id).await.expect("get").importance - 0.9).abs() < 1e-6);

        // Another agent, another kind, or other words: new entries.
        for other in [
            NewEntry::text("The deploy key rotates every Monday morning")
                .agent("dev")
                .kind(Kind::fact()),
            NewEntry::text("The deploy key rotates every Monday morning").kind(Kind::fact()),
            NewEntry::text("The deploy key rotates every Monday morning")
                .agent("ops")
                .kind(Kind::note()),
            NewEntry::text("Lunch is served at noon in the cafeteria")
                .agent("ops")
                .kind(Kind::fact()),
        ] {
            let stored = engine.remember(other).await.expect("other");
            assert!(matches!(stored, Stored::New { .. }), "{stored:?}");
        }
        assert_eq!(
            engine.counts(&Filter::any()).await.expect("count").total(),
            5
        );

        // Merging off: every entry is stored.
        let config = EngineConfig {
            duplicate_threshold: None,
            ..EngineConfig::default()
        };
        let all = engine.clone().with_config(config).expect("config");
        let stored = all
            .remember(
                NewEntry::text("The deploy key rotates every Monday morning")
                    .agent("ops")
                    .kind(Kind::fact()),
            )
            .await
            .expect("stored");
        assert!(matches!(stored, Stored::New { .. }));
        clean_up(pg).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_ranks_by_similarity_recency_and_importance() {
    for (engine, pg) in engines().await {
        let long_ago = Utc::now() - Duration::days(200);
        let stale = engine
            .store_exact(
                NewEntry::text("The build server ran out of disk space")
                    .importance(0.05)
                    .created_at(long_ago),
            )
            .await
            .expect("stale");
        let fresh = engine
            .store_exact(
                NewEntry::text("Disk space on the build machine is running low").importance(0.95),
            )
            .await
            .expect("fresh");
        engine
            .store_exact(NewEntry::text("The office plants need watering on Fridays"))
            .await
            .expect("unrelated");
        let request = SearchRequest::new("the build server has no free disk space", 2);
        let by_meaning = engine
            .clone()
            .with_config(EngineConfig {
                ranking: SemanticSearch::similarity_only(),
                touch_on_search: false,
                ..EngineConfig::default()
            })
            .expect("config")
            .search(&request)
            .await
            .expect("similarity only");
        assert_eq!(by_meaning.len(), 2);
        assert!(by_meaning[0].similarity >= by_meaning[1].similarity);
        let ids: Vec<_> = by_meaning.iter().map(|f| f.entry.id).collect();
        assert!(
            ids.contains(&stale) && ids.contains(&fresh),
            "the two about disks"
        );

        let ranked = engine.search(&request).await.expect("ranked");
        assert_eq!(ranked[0].entry.id, fresh, "fresh and important first");
        assert!(ranked[0].score > ranked[1].score);
        let r = SemanticSearch::default();
        for f in &ranked {
            let expected = r.score(&f.entry, f.similarity, Utc::now());
            assert!(
                (f.score - expected).abs() < 0.01,
                "{} vs {expected}",
                f.score
            );
        }
        // Found entries count as used; the unrelated one does not.
        let used = engine.get(fresh).await.expect("get");
        assert_eq!(used.access_count, 1);
        assert!(used.accessed_at > Utc::now() - Duration::minutes(1));
        let far = engine
            .search(
                &SearchRequest::new("the build server has no free disk space", 5)
                    .min_similarity(0.99),
            )
            .await
            .expect("threshold");
        assert!(far.is_empty(), "nothing is that similar");
        clean_up(pg).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_expires_promotes_and_demotes() {
    for (engine, pg) in engines().await {
        let now = Utc::now();
        let two_hours_ago = now - Duration::hours(2);
        let long_ago = now - Duration::days(100);
        let add = |text: &str, tier: Tier, importance: f32, at| {
            NewEntry::text(text.to_string())
                .tier(tier)
                .importance(importance)
                .created_at(at)
        };
        let store = engine.store().clone();
        let ids = store
            .insert(
                engine_vectors(
                    &engine,
                    vec![
                        add("idle short note", Tier::Short, 0.2, two_hours_ago),
                        add("idle pinned short note", Tier::Short, 0.2, two_hours_ago).pinned(true),
                        add(
                            "idle but often used short note",
                            Tier::Short,
                            0.2,
                            two_hours_ago,
                        ),
                        add(
                            "idle but important short note",
                            Tier::Short,
                            0.75,
                            two_hours_ago,
                        ),
                        add("recent short note", Tier::Short, 0.2, now),
                        add("often used medium note", Tier::Medium, 0.2, now),
                        add("important medium note", Tier::Medium, 0.9, now),
                        add("forgotten long fact", Tier::Long, 0.2, long_ago),
                        add("old but important long fact", Tier::Long, 0.6, long_ago),
                        add("old pinned long fact", Tier::Long, 0.2, long_ago).pinned(true),
                    ],
                )
                .await,
            )
            .await
            .expect("insert");
        for _ in 0..3 {
            store.touch(&[ids[2]], two_hours_ago).await.expect("touch");
        }
        for _ in 0..5 {
            store.touch(&[ids[5]], now).await.expect("touch");
        }
        let report = engine.maintain(now).await.expect("maintain");
        assert_eq!(
            (report.expired, report.kept, report.promoted, report.demoted),
            (1, 2, 2, 1),
            "{report:?}"
        );
        let tier_of = |i: usize| {
            let store = store.clone();
            let id = ids[i];
            async move { store.get(id).await.map(|e| e.tier) }
        };
        assert!(matches!(tier_of(0).await, Err(Error::NotFound { .. })));
        let expected = [
            (1, Tier::Short),
            (2, Tier::Medium),
            (3, Tier::Medium),
            (4, Tier::Short),
            (5, Tier::Long),
            (6, Tier::Long),
            (7, Tier::Medium),
            (8, Tier::Long),
            (9, Tier::Long),
        ];
        for (i, tier) in expected {
            assert_eq!(tier_of(i).await.expect("entry"), tier, "entry {i}");
        }
        let again = engine.maintain(now).await.expect("maintain again");
        assert_eq!(again, Default::default(), "a second pass has nothing to do");
        clean_up(pg).await;
    }
}

/// Entries with their vectors filled in by the engine's embedder.
async fn engine_vectors(engine: &ContextEngine, entries: Vec<NewEntry>) -> Vec<NewEntry> {
    let texts: Vec<String> = entries.iter().map(|e| e.content.clone()).collect();
    let vectors = engine.embedder().embed(&texts).await.expect("embed");
    entries
        .into_iter()
        .zip(vectors)
        .map(|(mut e, v)| {
            e.embedding = v;
            e
        })
        .collect()
}

/// Thirty messages of a session, about 60 tokens each.
async fn conversation(engine: &ContextEngine, session: &str, marker: &str) {
    let topics = [
        "We moved the agent registry from SQLite to Postgres so two servers can share it.",
        "The deploy failed because the database migration timed out after thirty seconds.",
        "Raising the migration timeout to five minutes fixed the flaky deploy in staging.",
        "The release is planned for Friday once the load test passes on two cores.",
        "Someone brought cake to the office and everybody had a slice at four o'clock.",
    ];
    let start = Utc::now() - Duration::hours(1);
    for i in 0..30 {
        let text = format!(
            "{marker}Message {i}. {} {}",
            topics[i % topics.len()],
            topics[(i + 2) % topics.len()]
        );
        engine
            .store_exact(
                NewEntry::text(text)
                    .session(session)
                    .agent(if i % 2 == 0 { "planner" } else { "coder" })
                    .kind(Kind::message())
                    .created_at(start + Duration::minutes(i as i64)),
            )
            .await
            .expect("message");
    }
}

async fn session_log(
    engine: &ContextEngine,
    session: &str,
) -> Vec<hive_core::context::ContextEntry> {
    engine
        .store()
        .list(&Filter::any().session(session), 100)
        .await
        .expect("list")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compression_replaces_old_messages_with_a_stored_summary() {
    for (engine, pg) in engines().await {
        conversation(&engine, "s-compress", "").await;
        let compressor = ContextCompressor::llm_or_extractive(None, engine.embedder().clone())
            .with_options(CompressOptions {
                keep_recent: 10,
                min_tokens: 500,
                target_ratio: 0.25,
            })
            .expect("options");
        let report = compressor
            .compress(&engine, "s-compress")
            .await
            .expect("compress");
        println!(
            "extractive: {} messages, {} → {} tokens ({:.0} % less)",
            report.replaced,
            report.tokens_before,
            report.tokens_after,
            report.reduction() * 100.0
        );
        assert_eq!(report.replaced, 20);
        assert_eq!(report.summarizer, "extractive");
        assert!(report.tokens_after * 3 < report.tokens_before, "{report:?}");
        assert!(report.reduction() > 0.6);
        let log = session_log(&engine, "s-compress").await;
        assert_eq!(log.len(), 11, "ten recent messages and one summary");
        let summary = log
            .iter()
            .find(|e| e.kind == Kind::summary())
            .expect("summary stored");
        assert_eq!(Some(summary.id), report.summary);
        assert_eq!(summary.metadata["replaces"], 20);
        assert_eq!(estimate_tokens(&summary.content), report.tokens_after);
        assert_eq!(
            log[0].id, summary.id,
            "the summary sorts before what it follows"
        );
        // Nothing more to do: ten messages left.
        let again = compressor
            .compress(&engine, "s-compress")
            .await
            .expect("again");
        assert_eq!((again.summary, again.replaced), (None, 0));
        // The summary is found by meaning like anything else.
        let found = engine
            .search(
                &SearchRequest::new("why did the deploy fail?", 3)
                    .filter(Filter::any().kind(Kind::summary())),
            )
            .await
            .expect("search");
        assert_eq!(found.len(), 1);
        clean_up(pg).await;
    }
}

/// A summarizer that always fails, for the "originals stay" guarantee.
#[derive(Debug)]
struct Broken;

#[async_trait]
impl Summarizer for Broken {
    fn name(&self) -> String {
        "broken".into()
    }
    async fn summarize(&self, _: &[String], _: usize) -> hive_core::Result<String> {
        Err(Error::invalid("this summarizer always fails"))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_summary_deletes_nothing() {
    for (engine, pg) in engines().await {
        conversation(&engine, "s-broken", "").await;
        let err = ContextCompressor::new(Arc::new(Broken))
            .with_options(CompressOptions {
                min_tokens: 500,
                ..CompressOptions::default()
            })
            .expect("options")
            .compress(&engine, "s-broken")
            .await
            .expect_err("fails");
        assert!(err.to_string().contains("always fails"));
        assert_eq!(session_log(&engine, "s-broken").await.len(), 30);
        clean_up(pg).await;
    }
}

/// The summaries' model: any provider; here an OpenAI-compatible chat.
fn chat(base_url: &str, retries: u32) -> Arc<dyn LlmProvider> {
    let mut client = OpenAiConfig::new(base_url).with_api_key("test-key");
    client.http.max_retries = retries;
    client.http.backoff_base = std::time::Duration::from_millis(5);
    client.http.backoff_cap = std::time::Duration::from_millis(20);
    client.http.timeout = std::time::Duration::from_secs(5);
    Arc::new(OpenAiChat::new(OpenAiChatConfig::new(client, "gpt-4o-mini")).expect("chat"))
}

/// With a chat model configured (aimock, answering the fixture), the
/// summary is the model's; with the model unreachable, extraction steps in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_llm_writes_the_summary_when_configured_and_extraction_steps_in_when_down() {
    let Some(llm) = service_url("HIVE_TEST_LLM_URL") else {
        return;
    };
    let (engine, _) = engines().await.remove(0);
    conversation(&engine, "s-llm", "hive-compress-test ").await;
    let options = CompressOptions {
        keep_recent: 10,
        min_tokens: 500,
        target_ratio: 0.25,
    };
    let report =
        ContextCompressor::llm_or_extractive(Some(chat(&llm, 1)), engine.embedder().clone())
            .with_options(options.clone())
            .expect("options")
            .compress(&engine, "s-llm")
            .await
            .expect("compress");
    assert_eq!(report.summarizer, "llm:gpt-4o-mini or extractive");
    let summary = engine
        .get(report.summary.expect("summary"))
        .await
        .expect("get");
    assert!(
        summary
            .content
            .starts_with("The team moved the registry to Postgres"),
        "{}",
        summary.content
    );
    assert_eq!(report.replaced, 20);
    assert!(report.reduction() > 0.8, "{report:?}");

    // A closed port: the LLM fails after its retries, extraction answers.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    conversation(&engine, "s-down", "").await;
    let report = ContextCompressor::llm_or_extractive(
        Some(chat(&format!("http://127.0.0.1:{closed}/v1"), 1)),
        engine.embedder().clone(),
    )
    .with_options(options)
    .expect("options")
    .compress(&engine, "s-down")
    .await
    .expect("fallback");
    assert_eq!(report.replaced, 20);
    let summary = engine
        .get(report.summary.expect("summary"))
        .await
        .expect("get");
    assert!(summary.content.contains("Message"), "{}", summary.content);
    // The LLM summarizer alone reports the failure.
    let err = LlmSummarizer::new(chat(&format!("http://127.0.0.1:{closed}/v1"), 0))
        .summarize(&["a".into()], 10)
        .await
        .expect_err("down");
    assert!(err.is_transient(), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_errors() {
    for (engine, pg) in engines().await {
        let invalid = |r: hive_core::Result<()>, expected: &str| match r {
            Err(Error::InvalidInput(msg)) => assert!(msg.contains(expected), "{msg}"),
            other => panic!("expected InvalidInput ({expected}), got {other:?}"),
        };
        invalid(
            engine.remember(NewEntry::text("  ")).await.map(|_| ()),
            "content is empty",
        );
        invalid(
            engine
                .remember(NewEntry::text("x").importance(f32::NAN))
                .await
                .map(|_| ()),
            "importance",
        );
        invalid(
            engine.search(&SearchRequest::new("", 3)).await.map(|_| ()),
            "search text is empty",
        );
        invalid(
            engine
                .search(&SearchRequest::new("x", 3).min_similarity(2.0))
                .await
                .map(|_| ()),
            "threshold 2",
        );
        invalid(
            engine.search(&SearchRequest::new("x", 0)).await.map(|_| ()),
            "k = 0",
        );
        let id = engine
            .remember(NewEntry::text("something"))
            .await
            .expect("stored")
            .id();
        invalid(
            engine.set_importance(id, 1.5).await.map(|_| ()),
            "importance 1.5",
        );
        let unknown = hive_core::context::EntryId::new();
        assert!(matches!(
            engine.forget(unknown).await,
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            engine.get(unknown).await,
            Err(Error::NotFound { .. })
        ));
        assert!(matches!(
            engine.update(unknown, &Patch::default()).await,
            Err(Error::NotFound { .. })
        ));
        engine.forget(id).await.expect("forget");
        invalid(
            engine
                .clone()
                .with_config(EngineConfig {
                    duplicate_threshold: Some(1.5),
                    ..EngineConfig::default()
                })
                .map(|_| ()),
            "threshold 1.5",
        );
        invalid(
            engine
                .store()
                .insert(vec![NewEntry::new("wrong width", vec![1.0; 3])])
                .await
                .map(|_| ()),
            "has 3 dimensions",
        );
        clean_up(pg).await;
    }
    // A store of another model cannot serve an embedder.
    let hashing: Arc<dyn EmbeddingService> = Arc::new(HashingEmbedder::new(64).expect("hashing"));
    let store: Arc<dyn ContextStore> = hive_core::context::open(
        "sqlite::memory:",
        ModelSpec::new("other", 64).expect("model"),
    )
    .await
    .expect("store");
    match ContextEngine::new(store, hashing.clone()) {
        Err(Error::InvalidInput(msg)) => assert!(msg.contains("the store holds"), "{msg}"),
        other => panic!("expected InvalidInput, got {other:?}"),
    }
}
