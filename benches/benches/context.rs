//! Context store throughput and top-10 search latency per backend, at
//! 10,000 and 100,000 entries of the default embedding model: the figures
//! issue 4 asks for (embedded p50 ≤ 10 ms at 100k; pgvector p50 ≤ 5 ms with
//! recall@10 ≥ 0.95), recorded in `docs/benchmarks.md`.
//!
//! Run with: `./scripts/bench context` (brings up Postgres with pgvector,
//! then runs `cargo bench -p hive-benches --bench context`). Backends: the
//! embedded store (`sqlite`: a file in a temporary directory, default
//! durability) always; `postgres` (pgvector HNSW, default options) when
//! `HIVE_TEST_DATABASE_URL` is set. `HIVE_BENCH_BACKENDS` (e.g. `sqlite`)
//! picks backends; `HIVE_BENCH_SIZES` (default `10000,100000`, ascending)
//! the sizes at which searches are measured.
//!
//! Data: sentences of 8–20 words drawn with a seeded RNG from the 5,000
//! commonest whole words of the offline model's own vocabulary (its
//! tokenizer lists words roughly by frequency): half from one of 500
//! topics of 40 words, half by a Zipf law over all 5,000, so entries form
//! clusters of related texts as real memories do. They are embedded once
//! with `OfflineEmbedder` (the default model, 256 dimensions) and the same
//! vectors serve every backend; 220 further sentences are the queries (20
//! warm-up, 200 timed). Each store is filled in batches of 500 up to the
//! first size, measured, then filled on to the next, so one load serves
//! every size. Entries belong to ten agents in turn; the filtered search
//! asks for one agent's (10 %). Recall@10 is against the exact top 10
//! computed here from the same vectors.
//!
//! Embedded: after the sizes, a child process (this binary again, with
//! `HIVE_BENCH_REOPEN` set) opens the full file and searches, so the open
//! time and the resident memory it reports are the store's alone.
//!
//! Postgres: after each load the benchmark runs `ANALYZE` on the table, as
//! autovacuum would a minute or so later, and prints whether the plans of
//! the measured searches use the model's HNSW index; `HIVE_BENCH_ANALYZE=0`
//! measures with whatever statistics autovacuum left (the plan of filtered
//! searches then depends on its timing). At the largest size the same
//! entries are searched again with `ef_search` 40, 200 and 400 (rows
//! `pg ef=…`; the default is 100), to show what recall costs. The run
//! works under a model id of its own and forgets it at the end (rows and
//! HNSW index), so the test database does not grow.
//!
//! Figures are wall-clock on a shared machine, one search at a time.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _, Result};
use hive_benches::memory_mib;
use hive_core::conformance::unique_name;
use hive_core::context::postgres::{PostgresContextOptions, PostgresContextStore};
use hive_core::context::sqlite::SqliteContextStore;
use hive_core::context::{
    ContextStore, EmbeddingService, EntryId, Filter, Kind, ModelSpec, NewEntry, OfflineEmbedder,
    VectorQuery,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use uuid::Uuid;

/// Results per search.
const K: usize = 10;
/// Entries per `insert` call.
const INSERT_BATCH: usize = 500;
/// Texts per `embed` call.
const EMBED_BATCH: usize = 1000;
/// Timed queries per measurement, and untimed ones run before them.
const QUERIES: usize = 200;
const WARMUP: usize = 20;
/// Entries belong to this many agents in turn; the filtered search asks
/// for one of them.
const AGENTS: usize = 10;
const FILTER_AGENT: usize = 3;
/// The text generator: words, topics, words per topic.
const VOCABULARY: usize = 5000;
const TOPICS: usize = 500;
const TOPIC_WORDS: usize = 40;
/// The commonest words (articles, prepositions) are left out of topics.
const FUNCTION_WORDS: usize = 200;
const SEED: u64 = 0x6869_7665;
/// `hnsw.ef_search` values tried at the largest size besides the default.
const EF_SWEEP: [u32; 3] = [40, 200, 400];

const TOKENIZER: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../models/minilm-l6-m2v-256/tokenizer.json"
);

/// Sentences on topics, from a fixed vocabulary.
struct Sentences {
    words: Vec<String>,
    /// Cumulative Zipf weights over `words`, ending at 1.
    zipf: Vec<f64>,
    topics: Vec<Vec<usize>>,
}

impl Sentences {
    /// The commonest whole words of the offline model's vocabulary (ids
    /// after the single characters follow frequency roughly).
    fn from_tokenizer(rng: &mut StdRng) -> Result<Self> {
        let json: serde_json::Value = serde_json::from_slice(
            &std::fs::read(TOKENIZER).with_context(|| format!("reading {TOKENIZER}"))?,
        )?;
        let vocab = json["model"]["vocab"]
            .as_object()
            .context("tokenizer.json has no model.vocab")?;
        let mut words: Vec<(u64, &str)> = vocab
            .iter()
            .filter(|(w, _)| w.len() >= 2 && w.bytes().all(|b| b.is_ascii_lowercase()))
            .filter_map(|(w, id)| Some((id.as_u64()?, w.as_str())))
            .collect();
        words.sort_unstable();
        ensure!(words.len() >= VOCABULARY, "only {} words", words.len());
        let words: Vec<String> = words[..VOCABULARY]
            .iter()
            .map(|(_, w)| w.to_string())
            .collect();
        let mut zipf = Vec::with_capacity(VOCABULARY);
        let mut total = 0.0;
        for rank in 0..VOCABULARY {
            total += 1.0 / (rank as f64 + 1.0);
            zipf.push(total);
        }
        zipf.iter_mut().for_each(|c| *c /= total);
        let topics = (0..TOPICS)
            .map(|_| {
                (0..TOPIC_WORDS)
                    .map(|_| rng.random_range(FUNCTION_WORDS..VOCABULARY))
                    .collect()
            })
            .collect();
        Ok(Sentences {
            words,
            zipf,
            topics,
        })
    }

    fn sentence(&self, rng: &mut StdRng) -> String {
        let topic = &self.topics[rng.random_range(0..TOPICS)];
        let len = rng.random_range(8..=20);
        let mut s = String::new();
        for i in 0..len {
            let word = if rng.random_bool(0.5) {
                topic[rng.random_range(0..topic.len())]
            } else {
                let u: f64 = rng.random();
                self.zipf.partition_point(|&c| c < u).min(VOCABULARY - 1)
            };
            if i > 0 {
                s.push(' ');
            }
            s.push_str(&self.words[word]);
        }
        s.push('.');
        s[..1].to_ascii_uppercase() + &s[1..]
    }
}

/// Everything every backend shares: texts, their vectors, the queries and
/// the exact answers per size.
struct Data {
    texts: Vec<String>,
    vectors: Vec<Vec<f32>>,
    /// `WARMUP` warm-up queries, then `QUERIES` timed ones.
    queries: Vec<Vec<f32>>,
    /// Per size: the exact top-k (positions in `vectors`) of each timed
    /// query, unfiltered and for the filter agent.
    truth: HashMap<usize, Truth>,
}

struct Truth {
    all: Vec<Vec<usize>>,
    filtered: Vec<Vec<usize>>,
}

fn agent(i: usize) -> String {
    format!("agent-{}", i % AGENTS)
}

fn new_entry(i: usize, data: &Data) -> NewEntry {
    let kind = match i % 3 {
        0 => Kind::message(),
        1 => Kind::fact(),
        _ => Kind::note(),
    };
    NewEntry::new(data.texts[i].clone(), data.vectors[i].clone())
        .agent(agent(i))
        .session(format!("session-{}", i / 100))
        .kind(kind)
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// The `K` most similar of the first `size` vectors passing `keep`.
fn exact_top(
    vectors: &[Vec<f32>],
    size: usize,
    q: &[f32],
    keep: impl Fn(usize) -> bool,
) -> Vec<usize> {
    let mut scored: Vec<(f32, usize)> = (0..size)
        .filter(|&i| keep(i))
        .map(|i| (dot(q, &vectors[i]), i))
        .collect();
    let k = K.min(scored.len());
    if k == 0 {
        return Vec::new();
    }
    scored.select_nth_unstable_by(k - 1, |a, b| b.0.total_cmp(&a.0));
    scored.truncate(k);
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    scored.into_iter().map(|(_, i)| i).collect()
}

/// Exact answers for the timed queries at `size`, on both cores.
fn truth(vectors: &[Vec<f32>], queries: &[Vec<f32>], size: usize) -> Truth {
    let timed = &queries[WARMUP..];
    let half = timed.len().div_ceil(2);
    let answers: Vec<(Vec<usize>, Vec<usize>)> = std::thread::scope(|s| {
        let parts: Vec<_> = timed
            .chunks(half)
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|q| {
                            (
                                exact_top(vectors, size, q, |_| true),
                                exact_top(vectors, size, q, |i| i % AGENTS == FILTER_AGENT),
                            )
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().unwrap_or_default())
            .collect()
    });
    let (all, filtered) = answers.into_iter().unzip();
    Truth { all, filtered }
}

/// p50, p95 and p99 in milliseconds (nearest rank).
fn percentiles(mut d: Vec<Duration>) -> [f64; 3] {
    d.sort_unstable();
    [0.50, 0.95, 0.99].map(|q| {
        let i = ((d.len() as f64 - 1.0) * q).round() as usize;
        d.get(i).map_or(0.0, |x| x.as_secs_f64() * 1e3)
    })
}

/// A store filled so far: the ids it answered, by position and back.
#[derive(Default)]
struct Loaded {
    ids: Vec<EntryId>,
    position: HashMap<Uuid, usize>,
}

/// Inserts entries `from..to` in batches; answers entries per second.
async fn grow(
    store: &dyn ContextStore,
    data: &Data,
    loaded: &mut Loaded,
    to: usize,
) -> Result<f64> {
    let from = loaded.ids.len();
    let start = Instant::now();
    for first in (from..to).step_by(INSERT_BATCH) {
        let batch: Vec<NewEntry> = (first..to.min(first + INSERT_BATCH))
            .map(|i| new_entry(i, data))
            .collect();
        let ids = store.insert(batch).await?;
        for id in ids {
            loaded.position.insert(id.0, loaded.ids.len());
            loaded.ids.push(id);
        }
    }
    ensure!(
        loaded.ids.len() == to,
        "stored {} of {to}",
        loaded.ids.len()
    );
    Ok((to - from) as f64 / start.elapsed().as_secs_f64())
}

struct Measured {
    first_ms: f64,
    all: [f64; 3],
    recall: f64,
    filtered: [f64; 3],
    filtered_recall: f64,
}

fn query(v: &[f32], filtered: bool) -> VectorQuery {
    let q = VectorQuery::new(v.to_vec(), K);
    if filtered {
        q.filter(Filter::any().agent(agent(FILTER_AGENT)))
    } else {
        q
    }
}

/// Runs the queries one at a time, unfiltered then filtered.
async fn measure(
    store: &dyn ContextStore,
    data: &Data,
    loaded: &Loaded,
    size: usize,
) -> Result<Measured> {
    let truth = data.truth.get(&size).context("no exact answers")?;
    ensure!(
        truth.all.len() == QUERIES && truth.filtered.len() == QUERIES,
        "exact answers are missing"
    );
    // The first search after a load: the embedded store catches up here.
    let start = Instant::now();
    store.search(&query(&data.queries[0], false)).await?;
    let first_ms = start.elapsed().as_secs_f64() * 1e3;
    for q in &data.queries[..WARMUP] {
        store.search(&query(q, false)).await?;
        store.search(&query(q, true)).await?;
    }
    let mut results = Vec::new();
    for (filtered, exact) in [(false, &truth.all), (true, &truth.filtered)] {
        let mut latencies = Vec::with_capacity(QUERIES);
        let mut found = 0;
        for (q, exact) in data.queries[WARMUP..].iter().zip(exact) {
            let start = Instant::now();
            let hits = store.search(&query(q, filtered)).await?;
            latencies.push(start.elapsed());
            ensure!(hits.len() == K, "a search answered {} hits", hits.len());
            let exact: HashSet<usize> = exact.iter().copied().collect();
            found += hits
                .iter()
                .filter(|h| {
                    loaded
                        .position
                        .get(&h.entry.id.0)
                        .is_some_and(|p| exact.contains(p))
                })
                .count();
        }
        results.push((percentiles(latencies), found as f64 / (K * QUERIES) as f64));
    }
    Ok(Measured {
        first_ms,
        all: results[0].0,
        recall: results[0].1,
        filtered: results[1].0,
        filtered_recall: results[1].1,
    })
}

fn header() {
    println!(
        "{:<9} {:>8} {:>10} {:>9} {:>8} {:>8} {:>8} {:>7} {:>9} {:>9} {:>7}",
        "backend",
        "entries",
        "insert/s",
        "first ms",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "recall",
        "agent p50",
        "agent p99",
        "recall"
    );
}

fn row(backend: &str, size: usize, rate: Option<f64>, m: &Measured) {
    let rate = rate.map_or("-".into(), |r| format!("{r:.0}"));
    println!(
        "{backend:<9} {size:>8} {rate:>10} {:>9.1} {:>8.2} {:>8.2} {:>8.2} {:>7.3} {:>9.2} {:>9.2} {:>7.3}",
        m.first_ms, m.all[0], m.all[1], m.all[2], m.recall, m.filtered[0], m.filtered[2], m.filtered_recall
    );
}

/// Loads the store size by size and measures each.
async fn run_sizes(
    backend: &str,
    store: &dyn ContextStore,
    data: &Data,
    sizes: &[usize],
) -> Result<()> {
    let mut loaded = Loaded::default();
    for &size in sizes {
        let rate = grow(store, data, &mut loaded, size).await?;
        let m = measure(store, data, &loaded, size).await?;
        row(backend, size, Some(rate), &m);
    }
    Ok(())
}

/// Set (to a store URL) in the child that measures a fresh handle.
const REOPEN: &str = "HIVE_BENCH_REOPEN";
/// The child's query vector, comma-separated.
const REOPEN_QUERY: &str = "HIVE_BENCH_REOPEN_QUERY";

/// In a process of its own, so the memory figures are the store's and not
/// the benchmark's: opens the embedded store at `url` (which loads the
/// in-memory copy), searches twice, and prints the times and memory.
async fn reopen_child(url: &str) -> Result<()> {
    let vector: Vec<f32> = std::env::var(REOPEN_QUERY)?
        .split(',')
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    let model = ModelSpec::new(OfflineEmbedder::MODEL, vector.len())?;
    let before = memory_mib("VmRSS:");
    let start = Instant::now();
    let store = SqliteContextStore::open(url, model).await?;
    let open_ms = start.elapsed().as_secs_f64() * 1e3;
    let mut ms = Vec::new();
    for _ in 0..2 {
        let start = Instant::now();
        store.search(&query(&vector, false)).await?;
        ms.push(start.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "{open_ms} {} {} {before} {} {}",
        ms[0],
        ms[1],
        memory_mib("VmRSS:"),
        memory_mib("VmHWM:")
    );
    Ok(())
}

async fn sqlite(data: &Data, sizes: &[usize]) -> Result<Vec<String>> {
    let dir = tempfile::tempdir()?;
    let url = format!("sqlite://{}", dir.path().join("context.db").display());
    let model = ModelSpec::new(OfflineEmbedder::MODEL, 256)?;
    let store = SqliteContextStore::open(&url, model).await?;
    run_sizes("sqlite", &store, data, sizes).await?;
    drop(store);

    let largest = sizes.last().copied().unwrap_or(0);
    let vector: Vec<String> = data.queries[0].iter().map(f32::to_string).collect();
    let out = tokio::process::Command::new(std::env::current_exe()?)
        .env(REOPEN, &url)
        .env(REOPEN_QUERY, vector.join(","))
        .output()
        .await?;
    ensure!(
        out.status.success(),
        "the reopening child failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let figures: Vec<f64> = String::from_utf8(out.stdout)?
        .split_whitespace()
        .map(str::parse)
        .collect::<Result<_, _>>()?;
    ensure!(
        figures.len() == 6,
        "the reopening child printed {figures:?}"
    );
    let [open_ms, first_ms, second_ms, before, after, peak] =
        [0, 1, 2, 3, 4, 5].map(|i| figures[i]);
    Ok(vec![format!(
        "sqlite: a fresh process opening the {largest}-entry file: open (loads every vector) \
         {open_ms:.0} ms, first search {first_ms:.1} ms, second {second_ms:.1} ms; resident \
         memory {before:.0} -> {after:.0} MiB (+{:.0} MiB, peak {peak:.0} MiB; the vectors \
         alone are {:.0} MiB)",
        after - before,
        (largest * 256 * 4) as f64 / (1024.0 * 1024.0)
    )])
}

/// Refreshes the planner's statistics of the context table, as autovacuum
/// would within a minute or so of a load; answers how stale they were.
async fn analyze(pool: &sqlx::PgPool) -> Result<String> {
    let (ago, modified): (Option<f64>, i64) = sqlx::query_as(
        "SELECT EXTRACT(EPOCH FROM now() - GREATEST(last_analyze, last_autoanalyze))::float8, \
                n_mod_since_analyze \
         FROM pg_stat_user_tables WHERE relname = 'context_entries'",
    )
    .fetch_one(pool)
    .await?;
    sqlx::query("ANALYZE context_entries").execute(pool).await?;
    Ok(match ago {
        Some(s) => format!("last analyzed {s:.0} s before, {modified} rows changed since"),
        None => "never analyzed before".into(),
    })
}

async fn postgres(url: &str, data: &Data, sizes: &[usize]) -> Result<Vec<String>> {
    let model = ModelSpec::new(unique_name("bench-minilm-l6-m2v-256"), 256)?;
    let index = PostgresContextStore::index_name(&model);
    let store = PostgresContextStore::open(url, model.clone()).await?;
    let pool = sqlx::PgPool::connect(url).await?;
    let refresh = std::env::var("HIVE_BENCH_ANALYZE").map_or(true, |v| v != "0");
    let mut notes = Vec::new();
    let outcome = async {
        let mut loaded = Loaded::default();
        for &size in sizes {
            let rate = grow(&store, data, &mut loaded, size).await?;
            let statistics = if refresh {
                format!("statistics refreshed (ANALYZE; {})", analyze(&pool).await?)
            } else {
                "statistics as autovacuum left them".into()
            };
            // The plans the measured searches get.
            let mut uses = Vec::new();
            for filtered in [false, true] {
                let plan = store.explain(&query(&data.queries[0], filtered)).await?;
                let used = plan.contains(&index);
                uses.push(format!(
                    "{} {}",
                    if filtered {
                        "agent filter"
                    } else {
                        "unfiltered"
                    },
                    if used {
                        "uses the HNSW index"
                    } else {
                        "does NOT use the HNSW index"
                    }
                ));
                if size == sizes[sizes.len() - 1] {
                    notes.push(format!(
                        "postgres: plan at {size} entries, {} (HNSW index {index} {}):\n{}",
                        if filtered {
                            "agent filter"
                        } else {
                            "unfiltered"
                        },
                        if used { "used" } else { "NOT used" },
                        plan.lines()
                            .map(|l| format!("    {}", shorten(l)))
                            .collect::<Vec<_>>()
                            .join("\n")
                    ));
                }
            }
            let m = measure(&store, data, &loaded, size).await?;
            row("postgres", size, Some(rate), &m);
            println!("{:<9} {size:>8}   {statistics}; {}", "", uses.join(", "));
        }
        // The same entries searched with other candidate counts: what
        // recall costs.
        let largest = sizes[sizes.len() - 1];
        for ef_search in EF_SWEEP {
            #[allow(clippy::needless_update)] // A new option keeps its default.
            let options = PostgresContextOptions {
                ef_search,
                ..PostgresContextOptions::default()
            };
            let other = PostgresContextStore::open_with(url, model.clone(), options).await?;
            let m = measure(&other, data, &loaded, largest).await?;
            row(&format!("pg ef={ef_search}"), largest, None, &m);
        }
        anyhow::Ok(())
    }
    .await;
    let forgotten = store.forget_model().await;
    pool.close().await;
    outcome?;
    notes.push(format!(
        "postgres: forgot the run's model ({} rows and its index)",
        forgotten?
    ));
    Ok(notes)
}

/// A plan line without the query vector's 256 numbers.
fn shorten(line: &str) -> String {
    match (line.find("'["), line.find("]'")) {
        (Some(a), Some(b)) if a < b => format!("{}'[…]'{}", &line[..a], &line[b + 2..]),
        _ => line.to_string(),
    }
}

fn sizes() -> Result<Vec<usize>> {
    let sizes: Vec<usize> = match std::env::var("HIVE_BENCH_SIZES") {
        Ok(s) => s
            .split(',')
            .map(|x| x.trim().parse::<usize>())
            .collect::<Result<_, _>>()
            .context("HIVE_BENCH_SIZES: comma-separated entry counts")?,
        Err(_) => vec![10_000, 100_000],
    };
    ensure!(
        !sizes.is_empty() && sizes.windows(2).all(|w| w[0] < w[1]) && sizes[0] > 0,
        "HIVE_BENCH_SIZES must ascend"
    );
    Ok(sizes)
}

#[tokio::main]
async fn main() -> Result<()> {
    if let Ok(url) = std::env::var(REOPEN) {
        return reopen_child(&url).await;
    }
    let began = Instant::now();
    let sizes = sizes()?;
    let largest = sizes[sizes.len() - 1];
    let wanted = std::env::var("HIVE_BENCH_BACKENDS").ok();
    let wants = |b: &str| {
        wanted
            .as_deref()
            .is_none_or(|w| w.split(',').any(|x| x == b))
    };

    let mut rng = StdRng::seed_from_u64(SEED);
    let sentences = Sentences::from_tokenizer(&mut rng)?;
    let texts: Vec<String> = (0..largest).map(|_| sentences.sentence(&mut rng)).collect();
    let query_texts: Vec<String> = (0..WARMUP + QUERIES)
        .map(|_| sentences.sentence(&mut rng))
        .collect();

    let embedder = OfflineEmbedder::new()?;
    ensure!(embedder.dimension() == 256, "the default model changed");
    let start = Instant::now();
    let mut vectors = Vec::with_capacity(largest);
    for batch in texts.chunks(EMBED_BATCH) {
        vectors.extend(embedder.embed(batch).await?);
    }
    let embed_s = start.elapsed().as_secs_f64();
    let queries = embedder.embed(&query_texts).await?;

    let start = Instant::now();
    let truth = sizes
        .iter()
        .map(|&size| (size, truth(&vectors, &queries, size)))
        .collect();
    let truth_s = start.elapsed().as_secs_f64();
    let data = Data {
        texts,
        vectors,
        queries,
        truth,
    };

    println!(
        "context store benchmark: model {} (256 dims), {QUERIES} timed top-{K} searches one at a \
         time after {WARMUP} warm-up; inserts in batches of {INSERT_BATCH}",
        OfflineEmbedder::MODEL
    );
    println!(
        "embed: {largest} texts in {embed_s:.2} s = {:.0} texts/s (batches of {EMBED_BATCH}, one \
         call at a time, one core); exact answers computed in {truth_s:.1} s",
        largest as f64 / embed_s
    );
    println!(
        "insert/s: entries per second growing to that size; first ms: the first search after the \
         load; recall: recall@10 against the exact top 10; agent: filtered to one agent ({}% of \
         entries)",
        100 / AGENTS
    );
    header();
    let mut notes = Vec::new();
    if wants("sqlite") {
        notes.extend(sqlite(&data, &sizes).await?);
    }
    if wants("postgres") {
        match std::env::var("HIVE_TEST_DATABASE_URL") {
            Ok(url) => notes.extend(postgres(&url, &data, &sizes).await?),
            Err(_) => println!("postgres  skipped: HIVE_TEST_DATABASE_URL not set"),
        }
    }
    for note in notes {
        println!("{note}");
    }
    println!("total {:.0} s", began.elapsed().as_secs_f64());
    Ok(())
}
