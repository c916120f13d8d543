//! The context engine: what agents remember, found by meaning.
//!
//! - [`ContextStore`]: the storage contract — entries with vectors of one
//!   model, searched by similarity under filters — with an embedded
//!   backend ([`sqlite`], exact search in Rust) and a distributed one
//!   ([`postgres`], pgvector HNSW).
//! - [`EmbeddingService`]: the embedder contract, with [`OfflineEmbedder`]
//!   (the default: a static model distilled from all-MiniLM-L6-v2, built
//!   in, no network; the `embedder` feature), [`OpenAiEmbedder`] (any
//!   OpenAI-compatible `/embeddings` server; the `llm` feature) and
//!   [`HashingEmbedder`], a test double that matches shared words only.
//! - [`ContextEngine`]: store and embedder together — remember text
//!   (merging near-duplicates), search it ranked by [`SemanticSearch`]
//!   (similarity × recency × importance), and keep memory tiers in order
//!   ([`TierPolicy`]).
//! - [`ContextCompressor`]: rolling summaries of long conversations, by any
//!   [`LlmProvider`](crate::llm::LlmProvider) when configured, extractive
//!   offline.
//! - [`vector`]: the one definition of a valid vector, of normalising and
//!   of similarity.

mod compress;
mod embedding;
mod engine;
mod entry;
mod hashing;
#[cfg(feature = "embedder")]
mod offline;
#[cfg(feature = "llm")]
mod openai;
#[cfg(feature = "postgres")]
pub mod postgres;
mod query;
mod ranking;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod row;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod store;
mod tiers;
pub mod vector;

pub use compress::{
    estimate_tokens, CompressOptions, CompressionReport, ContextCompressor, ExtractiveSummarizer,
    FallbackSummarizer, LlmSummarizer, Summarizer,
};
pub use embedding::{EmbeddingService, EmbeddingServiceExt};
pub use engine::{ContextEngine, EngineConfig, Found, SearchRequest, Stored};
pub use entry::{
    ContextEntry, EntryId, Kind, ModelSpec, NewEntry, Patch, Tier, MAX_CONTENT_BYTES,
    MAX_NAME_BYTES,
};
pub use hashing::HashingEmbedder;
#[cfg(feature = "embedder")]
pub use offline::OfflineEmbedder;
#[cfg(feature = "llm")]
pub use openai::{OpenAiEmbedder, OpenAiEmbedderConfig};
pub use query::{check_threshold, Filter, Hit, TierCounts, VectorQuery, MAX_K};
pub use ranking::SemanticSearch;
pub use store::{open, ContextStore};
pub use tiers::{MaintenanceReport, TierPolicy};
