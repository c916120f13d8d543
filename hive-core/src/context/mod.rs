//! The context engine: what agents remember, found by meaning.
//!
//! Issue 4 builds it in steps. Here so far: the [`EmbeddingService`]
//! contract, the vector checks every store and embedder share
//! ([`vector`]), [`OfflineEmbedder`] (the default: a static model
//! distilled from all-MiniLM-L6-v2, built in, no network) and
//! [`HashingEmbedder`], a test double that matches shared words only. The
//! `ContextStore` trait, its backends (pgvector and embedded SQLite),
//! ranking, memory tiers and compression come next.

mod embedding;
mod hashing;
mod offline;
pub mod vector;

pub use embedding::{EmbeddingService, EmbeddingServiceExt};
pub use hashing::HashingEmbedder;
pub use offline::OfflineEmbedder;
