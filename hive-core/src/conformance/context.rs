//! The [`ContextStore`] contract as tests: each clause of its `# Contract`
//! names its functions here (`tests/it/tidy.rs` checks both ways).
//!
//! Every clause opens its handles for a model id of its own, so suites may
//! share one Postgres database: the **One model per handle** clause keeps
//! them apart. Vectors are small (16 dimensions) and built so that the
//! expected order is known exactly.

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use super::{assert_invalid, unique_name};
use crate::context::{
    vector, ContextEntry, ContextStore, EntryId, Filter, Kind, ModelSpec, NewEntry, Patch, Tier,
    TierCounts, VectorQuery, MAX_K,
};
use crate::error::Error;

/// The dimension every clause uses.
const DIM: usize = 16;

/// Opens the backend under test.
#[async_trait]
pub trait ContextHarness: Send + Sync {
    /// Opens a new handle on this test's database for `model`. Opening
    /// twice gives two handles on one database (as two processes would).
    async fn open(&self, model: ModelSpec) -> Arc<dyn ContextStore>;

    /// Called after a clause passes: a shared database may drop what the
    /// clause made.
    async fn finish(&self) {}
}

/// Stamps one `#[tokio::test]` per context-store clause, each opening the
/// backend with `$harness` (an expression of type
/// `Option<impl ContextHarness>`, which may `.await`; `None` means the
/// service is not configured).
#[macro_export]
macro_rules! context_conformance_tests {
    ($harness:expr) => {
        $crate::__context_clauses!($harness;
            insert_then_get_round_trips,
            bad_input_stores_nothing,
            search_answers_nearest_first,
            threshold_and_bad_queries,
            filters_narrow_search_list_and_count,
            filtered_search_is_complete,
            one_model_per_handle,
            update_changes_what_searches_see,
            touch_records_access,
            delete_removes_everywhere,
            count_and_list,
            shared_and_durable,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __context_clauses {
    ($harness:expr; $($clause:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $clause() {
                if let Some(harness) = $harness {
                    $crate::conformance::context::$clause(&harness).await;
                    $crate::conformance::context::ContextHarness::finish(&harness).await;
                }
            }
        )*
    };
}

/// A model of this clause's own.
fn model() -> ModelSpec {
    ModelSpec::new(unique_name("m"), DIM).expect("model")
}

/// A unit vector at `angle` radians in the plane of axes `a` and `b`.
fn at_angle(angle: f32, a: usize, b: usize) -> Vec<f32> {
    let mut v = vec![0.0; DIM];
    v[a] = angle.cos();
    v[b] += angle.sin();
    v
}

/// The query direction of most clauses: axis 0.
fn query() -> Vec<f32> {
    at_angle(0.0, 0, 1)
}

fn ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn ids_of(hits: &[crate::context::Hit]) -> Vec<EntryId> {
    hits.iter().map(|h| h.entry.id).collect()
}

async fn total(store: &dyn ContextStore) -> u64 {
    store.count(&Filter::any()).await.expect("count").total()
}

/// `get` answers each inserted entry as stored: vector normalised, model
/// recorded, fresh access fields.
pub async fn insert_then_get_round_trips(h: &dyn ContextHarness) {
    let model = model();
    let s = h.open(model.clone()).await;
    assert_eq!(s.model(), &model);
    let when = Utc
        .with_ymd_and_hms(2026, 3, 1, 12, 0, 0)
        .single()
        .expect("date")
        + Duration::milliseconds(123);
    let mut raw = vec![0.0; DIM];
    raw[2] = 3.0;
    raw[5] = 4.0;
    let full = NewEntry::new("the deploy key rotates on Mondays", raw)
        .agent("planner")
        .session("s-1")
        .kind(Kind::fact())
        .tier(Tier::Long)
        .importance(0.9)
        .pinned(true)
        .metadata(json!({ "source": "runbook", "n": [1, 2] }))
        .created_at(when);
    let plain = NewEntry::new("a plain note", at_angle(0.3, 0, 1));
    let before = Utc::now() - Duration::seconds(5);
    let ids = s
        .insert(vec![full.clone(), plain.clone()])
        .await
        .expect("insert");
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);

    let got = s.get(ids[0]).await.expect("get");
    assert_eq!(got.id, ids[0]);
    assert_eq!(got.content, full.content);
    assert_eq!(got.model, model.id);
    assert_eq!(got.agent.as_deref(), Some("planner"));
    assert_eq!(got.session.as_deref(), Some("s-1"));
    assert_eq!(got.kind, Kind::fact());
    assert_eq!(got.tier, Tier::Long);
    assert!((got.importance - 0.9).abs() < 1e-6);
    assert!(got.pinned);
    assert_eq!(got.metadata, json!({ "source": "runbook", "n": [1, 2] }));
    assert_eq!(ms(got.created_at), ms(when));
    assert_eq!(ms(got.accessed_at), ms(when));
    assert_eq!(got.access_count, 0);
    assert_eq!(got.embedding.len(), DIM);
    assert!((got.embedding[2] - 0.6).abs() < 1e-5 && (got.embedding[5] - 0.8).abs() < 1e-5);

    let got = s.get(ids[1]).await.expect("get plain");
    assert_eq!((got.agent, got.session), (None, None));
    assert_eq!(
        (got.kind, got.tier, got.pinned),
        (Kind::note(), Tier::Medium, false)
    );
    assert_eq!(got.metadata, json!({}));
    assert!(got.created_at >= before && got.created_at <= Utc::now() + Duration::seconds(5));
    assert_eq!(ms(got.accessed_at), ms(got.created_at));
    assert_eq!(total(s.as_ref()).await, 2);
    assert!(s.insert(Vec::new()).await.expect("empty batch").is_empty());
}

/// A batch with one bad entry is refused whole, naming the problem.
pub async fn bad_input_stores_nothing(h: &dyn ContextHarness) {
    let s = h.open(model()).await;
    let good = NewEntry::new("fine", query());
    let mut nan = query();
    nan[3] = f32::NAN;
    let cases: Vec<(NewEntry, &str)> = vec![
        (NewEntry::new("", query()), "content is empty"),
        (NewEntry::new("x", vec![1.0; DIM + 1]), "has 17 dimensions"),
        (NewEntry::new("x", nan), "NaN"),
        (NewEntry::new("x", vec![0.0; DIM]), "zero vector"),
        (good.clone().importance(2.0), "importance 2"),
        (good.clone().metadata(json!([1])), "JSON object"),
        (good.clone().agent(""), "agent name"),
    ];
    for (bad, expected) in cases {
        assert_invalid(s.insert(vec![good.clone(), bad]).await, expected);
    }
    assert_eq!(
        total(s.as_ref()).await,
        0,
        "a refused batch stored something"
    );
    let hits = s
        .search(&VectorQuery::new(query(), 10))
        .await
        .expect("search");
    assert!(hits.is_empty());
    s.insert(vec![good])
        .await
        .expect("a good batch after bad ones");
    assert_eq!(total(s.as_ref()).await, 1);
}

/// `search` answers at most `k` hits, most similar first, with cosine
/// similarities.
pub async fn search_answers_nearest_first(h: &dyn ContextHarness) {
    let s = h.open(model()).await;
    // Twenty entries at growing angles from the query, inserted shuffled.
    let mut order: Vec<usize> = (0..20).collect();
    order.reverse();
    order.swap(3, 11);
    let entries = order
        .iter()
        .map(|&i| NewEntry::new(format!("entry {i}"), at_angle(i as f32 * 0.15, 0, 1)))
        .collect();
    s.insert(entries).await.expect("insert");
    let hits = s
        .search(&VectorQuery::new(query(), 7))
        .await
        .expect("search");
    let names: Vec<&str> = hits.iter().map(|h| h.entry.content.as_str()).collect();
    assert_eq!(
        names,
        (0..7).map(|i| format!("entry {i}")).collect::<Vec<_>>(),
        "nearest first"
    );
    for (i, hit) in hits.iter().enumerate() {
        let expected = (i as f32 * 0.15).cos();
        assert!(
            (hit.similarity - expected).abs() < 1e-3,
            "hit {i}: similarity {} != {expected}",
            hit.similarity
        );
        let dot = vector::cosine(&hit.entry.embedding, &query());
        assert!((hit.similarity - dot).abs() < 1e-3);
    }
    let all = s
        .search(&VectorQuery::new(query(), MAX_K))
        .await
        .expect("all");
    assert_eq!(all.len(), 20);
    assert!(all.windows(2).all(|w| w[0].similarity >= w[1].similarity));
    // The query vector need not be normalised.
    let scaled: Vec<f32> = query().iter().map(|x| x * 7.0).collect();
    let again = s
        .search(&VectorQuery::new(scaled, 7))
        .await
        .expect("scaled");
    assert_eq!(ids_of(&again), ids_of(&hits));
}

/// No hit is less similar than the threshold; bad thresholds, `k` and
/// query vectors are refused.
pub async fn threshold_and_bad_queries(h: &dyn ContextHarness) {
    let model = model();
    let s = h.open(model).await;
    let entries = (0..10)
        .map(|i| NewEntry::new(format!("entry {i}"), at_angle(i as f32 * 0.2, 0, 1)))
        .collect();
    s.insert(entries).await.expect("insert");
    for threshold in [0.99_f32, 0.9, 0.5, 0.0, -1.0] {
        let hits = s
            .search(&VectorQuery::new(query(), 100).min_similarity(threshold))
            .await
            .expect("search");
        let expected = (0..10)
            .filter(|&i| (i as f32 * 0.2).cos() >= threshold + 1e-4)
            .count();
        assert!(
            hits.len() == expected || hits.len() == expected + 1,
            "threshold {threshold}: {} hits, expected {expected}",
            hits.len()
        );
        assert!(hits.iter().all(|h| h.similarity >= threshold - 1e-4));
    }
    let few = s
        .search(&VectorQuery::new(query(), 2).min_similarity(0.0))
        .await
        .expect("k under the threshold's count");
    assert_eq!(few.len(), 2);

    let mut nan = query();
    nan[0] = f32::NAN;
    assert_invalid(
        s.search(&VectorQuery::new(query(), 5).min_similarity(1.01))
            .await,
        "threshold",
    );
    assert_invalid(
        s.search(&VectorQuery::new(query(), 5).min_similarity(f32::NAN))
            .await,
        "threshold",
    );
    assert_invalid(s.search(&VectorQuery::new(query(), 0)).await, "k = 0");
    assert_invalid(
        s.search(&VectorQuery::new(query(), MAX_K + 1)).await,
        "k = 1001",
    );
    assert_invalid(
        s.search(&VectorQuery::new(vec![1.0; DIM - 1], 5)).await,
        "has 15 dimensions",
    );
    assert_invalid(s.search(&VectorQuery::new(nan, 5)).await, "NaN");
    assert_invalid(
        s.search(&VectorQuery::new(query(), 5).filter(Filter::any().min_access_count(1)))
            .await,
        "list and count can",
    );
}

/// Entries spread over every filterable field, for
/// [`filters_narrow_search_list_and_count`].
fn varied(base: DateTime<Utc>) -> Vec<NewEntry> {
    let agents = [Some("a"), Some("b"), None];
    let sessions = [Some("s1"), None, Some("s2"), Some("s1")];
    let kinds = [Kind::message(), Kind::fact(), Kind::summary()];
    (0..36)
        .map(|i| {
            let mut e = NewEntry::new(format!("varied {i}"), at_angle(i as f32 * 0.04, 0, 1))
                .kind(kinds[i % 3].clone())
                .tier(Tier::ALL[(i / 3) % 3])
                .pinned(i % 5 == 0)
                .created_at(base + Duration::minutes(i as i64));
            e.agent = agents[(i / 2) % 3].map(str::to_string);
            e.session = sessions[i % 4].map(str::to_string);
            e
        })
        .collect()
}

/// Every filter field narrows `search`, `list` and `count` alike;
/// list-only fields are refused in a search.
pub async fn filters_narrow_search_list_and_count(h: &dyn ContextHarness) {
    let s = h.open(model()).await;
    let base = Utc::now() - Duration::days(1);
    let ids = s.insert(varied(base)).await.expect("insert");
    let mut stored: Vec<ContextEntry> = Vec::new();
    for id in &ids {
        stored.push(s.get(*id).await.expect("get"));
    }
    let filters = [
        Filter::any().agent("a"),
        Filter::any().session("s1"),
        Filter::any().agent("b").session("s2"),
        Filter::any().tier(Tier::Long),
        Filter::any().tier(Tier::Short).tier(Tier::Medium),
        Filter::any().kind(Kind::fact()),
        Filter::any().kind(Kind::fact()).tier(Tier::Short),
        Filter::any().created_between(base + Duration::minutes(10), base + Duration::minutes(20)),
        Filter::any().pinned(true),
        Filter::any().agent("nobody"),
        Filter::any().agent("a").pinned(false).kind(Kind::message()),
    ];
    for filter in filters {
        let expected: Vec<EntryId> = stored
            .iter()
            .filter(|e| filter.matches(e))
            .map(|e| e.id)
            .collect();
        let hits = s
            .search(&VectorQuery::new(query(), 100).filter(filter.clone()))
            .await
            .expect("search");
        // Entry i sits at angle 0.04·i, so nearest first is insertion order.
        assert_eq!(ids_of(&hits), expected, "search under {filter:?}");
        let listed: Vec<EntryId> = s
            .list(&filter, 100)
            .await
            .expect("list")
            .iter()
            .map(|e| e.id)
            .collect();
        assert_eq!(listed, expected, "list under {filter:?}");
        let counts = s.count(&filter).await.expect("count");
        let mut want = TierCounts::default();
        for e in stored.iter().filter(|e| filter.matches(e)) {
            match e.tier {
                Tier::Short => want.short += 1,
                Tier::Medium => want.medium += 1,
                Tier::Long => want.long += 1,
            }
        }
        assert_eq!(counts, want, "count under {filter:?}");
    }
}

/// Filtered searches are complete, even in the filtered-scan trap of
/// approximate indexes. Four hundred entries of one agent crowd the query;
/// fifteen of another lie far from it. Asking for the far agent's ten
/// nearest must answer ten.
pub async fn filtered_search_is_complete(h: &dyn ContextHarness) {
    let s = h.open(model()).await;
    let crowd: Vec<NewEntry> = (0..400)
        .map(|i| {
            let mut v = at_angle(0.05 + (i % 40) as f32 * 0.01, 0, 1 + i % 5);
            v[6 + i % 7] += 0.05 * (i / 40) as f32;
            NewEntry::new(format!("crowd {i}"), v).agent("crowd")
        })
        .collect();
    s.insert(crowd).await.expect("crowd");
    let few: Vec<NewEntry> = (0..15)
        .map(|i| {
            NewEntry::new(format!("few {i}"), at_angle(1.0 + i as f32 * 0.1, 0, 14)).agent("few")
        })
        .collect();
    s.insert(few).await.expect("few");
    let hits = s
        .search(&VectorQuery::new(query(), 10).filter(Filter::any().agent("few")))
        .await
        .expect("search");
    assert_eq!(hits.len(), 10, "a filtered search answered fewer than k");
    assert!(hits.iter().all(|h| h.entry.agent.as_deref() == Some("few")));
    let expected: HashSet<String> = (0..10).map(|i| format!("few {i}")).collect();
    let found = hits
        .iter()
        .filter(|h| expected.contains(&h.entry.content))
        .count();
    assert!(found >= 9, "only {found} of the 10 nearest were found");
}

/// Entries of another model are invisible to `search`, `list` and `count`.
pub async fn one_model_per_handle(h: &dyn ContextHarness) {
    let a = h.open(model()).await;
    let b = h.open(model()).await;
    let wide = h
        .open(ModelSpec::new(unique_name("wide"), DIM * 2).expect("model"))
        .await;
    let a_id = a
        .insert(vec![NewEntry::new("of model a", query()).agent("x")])
        .await
        .expect("a")[0];
    let b_id = b
        .insert(vec![NewEntry::new("of model b", query()).agent("x")])
        .await
        .expect("b")[0];
    let mut w = vec![0.0; DIM * 2];
    w[0] = 1.0;
    wide.insert(vec![NewEntry::new("of the wide model", w).agent("x")])
        .await
        .expect("wide");
    let hits = a
        .search(&VectorQuery::new(query(), 10))
        .await
        .expect("search");
    assert_eq!(ids_of(&hits), vec![a_id]);
    let listed = a.list(&Filter::any().agent("x"), 10).await.expect("list");
    assert_eq!(listed.iter().map(|e| e.id).collect::<Vec<_>>(), vec![a_id]);
    assert_eq!(a.count(&Filter::any()).await.expect("count").total(), 1);
    // Ids are global.
    let other = a.get(b_id).await.expect("get another model's entry");
    assert_eq!(other.model, b.model().id);
}

/// `update` changes what searches see; a bad value changes nothing; an
/// unknown id is not found.
pub async fn update_changes_what_searches_see(h: &dyn ContextHarness) {
    let s = h.open(model()).await;
    let id = s
        .insert(vec![NewEntry::new("to change", query()).tier(Tier::Short)])
        .await
        .expect("insert")[0];
    let patch = Patch {
        importance: Some(0.25),
        tier: Some(Tier::Long),
        pinned: Some(true),
        metadata: Some(json!({ "why": "promoted" })),
    };
    let now = s.update(id, &patch).await.expect("update");
    assert_eq!(now.tier, Tier::Long);
    assert!((now.importance - 0.25).abs() < 1e-6 && now.pinned);
    assert_eq!(now.metadata, json!({ "why": "promoted" }));
    assert_eq!(s.get(id).await.expect("get"), now);
    let in_long = s
        .search(&VectorQuery::new(query(), 5).filter(Filter::any().tier(Tier::Long)))
        .await
        .expect("search long");
    assert_eq!(ids_of(&in_long), vec![id]);
    let in_short = s
        .search(&VectorQuery::new(query(), 5).filter(Filter::any().tier(Tier::Short)))
        .await
        .expect("search short");
    assert!(in_short.is_empty());
    // A partial patch leaves the rest alone.
    let now = s
        .update(
            id,
            &Patch {
                importance: Some(0.5),
                ..Patch::default()
            },
        )
        .await
        .expect("partial");
    assert_eq!((now.tier, now.pinned), (Tier::Long, true));

    let bad = Patch {
        importance: Some(1.5),
        tier: Some(Tier::Short),
        ..Patch::default()
    };
    assert_invalid(s.update(id, &bad).await, "importance");
    assert_eq!(s.get(id).await.expect("get").tier, Tier::Long);
    let unknown = EntryId::new();
    assert!(matches!(
        s.update(unknown, &patch).await,
        Err(Error::NotFound { .. })
    ));
    assert!(matches!(s.get(unknown).await, Err(Error::NotFound { .. })));
}

/// `touch` records an access of each entry named and skips unknown ids.
pub async fn touch_records_access(h: &dyn ContextHarness) {
    let s = h.open(model()).await;
    let ids = s
        .insert(vec![
            NewEntry::new("used", query()),
            NewEntry::new("unused", query()),
        ])
        .await
        .expect("insert");
    let at = Utc::now() + Duration::minutes(5);
    s.touch(&[ids[0], EntryId::new()], at).await.expect("touch");
    s.touch(&[ids[0]], at + Duration::seconds(1))
        .await
        .expect("touch again");
    let used = s.get(ids[0]).await.expect("get");
    assert_eq!(used.access_count, 2);
    assert_eq!(ms(used.accessed_at), ms(at + Duration::seconds(1)));
    let unused = s.get(ids[1]).await.expect("get");
    assert_eq!(unused.access_count, 0);
    s.touch(&[], at).await.expect("touch nothing");
}

/// `delete` removes entries from every read and counts only what it removed.
pub async fn delete_removes_everywhere(h: &dyn ContextHarness) {
    let s = h.open(model()).await;
    let ids = s
        .insert(
            (0..4)
                .map(|i| NewEntry::new(format!("d{i}"), at_angle(i as f32 * 0.1, 0, 1)))
                .collect(),
        )
        .await
        .expect("insert");
    assert_eq!(
        s.delete(&[ids[0], ids[2], EntryId::new()])
            .await
            .expect("delete"),
        2
    );
    assert_eq!(s.delete(&[ids[0]]).await.expect("again"), 0);
    assert_eq!(s.delete(&[]).await.expect("nothing"), 0);
    assert!(matches!(s.get(ids[0]).await, Err(Error::NotFound { .. })));
    let hits = s
        .search(&VectorQuery::new(query(), 10))
        .await
        .expect("search");
    assert_eq!(ids_of(&hits), vec![ids[1], ids[3]]);
    assert_eq!(s.list(&Filter::any(), 10).await.expect("list").len(), 2);
    assert_eq!(total(s.as_ref()).await, 2);
}

/// `count` answers per tier and `list` oldest first, both honouring the
/// list-only fields.
pub async fn count_and_list(h: &dyn ContextHarness) {
    let s = h.open(model()).await;
    let base = Utc::now() - Duration::hours(3);
    let entries: Vec<NewEntry> = (0..9)
        .map(|i| {
            NewEntry::new(format!("c{i}"), at_angle(i as f32 * 0.1, 0, 1))
                .tier(Tier::ALL[i % 3])
                // Inserted newest first; listed oldest first.
                .created_at(base + Duration::minutes(60 - i as i64 * 5))
        })
        .collect();
    let ids = s.insert(entries).await.expect("insert");
    let counts = s.count(&Filter::any()).await.expect("count");
    assert_eq!(
        counts,
        TierCounts {
            short: 3,
            medium: 3,
            long: 3
        }
    );
    let listed = s.list(&Filter::any(), 4).await.expect("list");
    let names: Vec<&str> = listed.iter().map(|e| e.content.as_str()).collect();
    assert_eq!(names, ["c8", "c7", "c6", "c5"]);
    // Touch the three oldest: they are no longer "accessed before" now.
    let cutoff = Utc::now();
    s.touch(&[ids[8], ids[7], ids[6]], cutoff + Duration::seconds(1))
        .await
        .expect("touch");
    let stale = s
        .list(&Filter::any().accessed_before(cutoff), 100)
        .await
        .expect("stale");
    assert_eq!(stale.len(), 6);
    assert!(stale.iter().all(|e| e.access_count == 0));
    let counts = s
        .count(&Filter::any().accessed_before(cutoff))
        .await
        .expect("count stale");
    assert_eq!(counts.total(), 6);
    assert!(s.list(&Filter::any(), 0).await.expect("limit 0").is_empty());

    // Importance bounds and access counts.
    for (i, id) in ids.iter().enumerate() {
        let patch = Patch {
            importance: Some(i as f32 / 10.0),
            ..Patch::default()
        };
        s.update(*id, &patch).await.expect("importance");
    }
    let important = s
        .list(&Filter::any().min_importance(0.7), 100)
        .await
        .expect("important");
    let mut names: Vec<&str> = important.iter().map(|e| e.content.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["c7", "c8"]);
    let minor = s
        .count(&Filter::any().below_importance(0.3))
        .await
        .expect("minor");
    assert_eq!(minor.total(), 3, "c0, c1, c2");
    let used = s
        .list(&Filter::any().min_access_count(1), 100)
        .await
        .expect("used");
    assert_eq!(used.len(), 3);
    assert_invalid(
        s.list(&Filter::any().min_importance(1.5), 10).await,
        "min_importance",
    );
}

/// Every handle sees every other's writes, and they survive reopening.
pub async fn shared_and_durable(h: &dyn ContextHarness) {
    let model = model();
    let a = h.open(model.clone()).await;
    let b = h.open(model.clone()).await;
    // b has searched before a writes, so any cache it keeps is warm.
    assert!(b
        .search(&VectorQuery::new(query(), 5))
        .await
        .expect("b empty")
        .is_empty());
    let ids = a
        .insert(vec![
            NewEntry::new("first", query()).tier(Tier::Short),
            NewEntry::new("second", at_angle(0.5, 0, 1)).tier(Tier::Short),
        ])
        .await
        .expect("insert");
    let seen = b
        .search(&VectorQuery::new(query(), 5))
        .await
        .expect("b sees");
    assert_eq!(ids_of(&seen), ids);
    a.update(
        ids[0],
        &Patch {
            tier: Some(Tier::Long),
            ..Patch::default()
        },
    )
    .await
    .expect("update");
    let long = b
        .search(&VectorQuery::new(query(), 5).filter(Filter::any().tier(Tier::Long)))
        .await
        .expect("b filters by the new tier");
    assert_eq!(ids_of(&long), vec![ids[0]]);
    assert_eq!(a.delete(&[ids[1]]).await.expect("delete"), 1);
    let left = b
        .search(&VectorQuery::new(query(), 5))
        .await
        .expect("b after delete");
    assert_eq!(ids_of(&left), vec![ids[0]]);
    drop((a, b));
    let again = h.open(model).await;
    let got = again.get(ids[0]).await.expect("durable");
    assert_eq!((got.content.as_str(), got.tier), ("first", Tier::Long));
    assert_eq!(total(again.as_ref()).await, 1);
}
