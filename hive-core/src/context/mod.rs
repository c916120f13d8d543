//! The context engine: what agents remember, found by meaning.
//!
//! - [`ContextStore`]: the storage contract — entries with vectors of one
//!   model, searched by similarity under filters — with an embedded
//!   backend ([`sqlite`], exact search in Rust) and a distributed one
//!   ([`postgres`], pgvector HNSW).
//! - [`EmbeddingService`]: the embedder contract, with [`OfflineEmbedder`]
//!   (the default: a static model distilled from all-MiniLM-L6-v2, built
//!   in, no network) and [`HashingEmbedder`], a test double that matches
//!   shared words only.
//! - [`vector`]: the one definition of a valid vector, of normalising and
//!   of similarity.

mod embedding;
mod entry;
mod hashing;
mod offline;
pub mod postgres;
mod query;
mod row;
mod sql;
pub mod sqlite;
mod store;
pub mod vector;

pub use embedding::{EmbeddingService, EmbeddingServiceExt};
pub use entry::{
    ContextEntry, EntryId, Kind, ModelSpec, NewEntry, Patch, Tier, MAX_CONTENT_BYTES,
    MAX_NAME_BYTES,
};
pub use hashing::HashingEmbedder;
pub use offline::OfflineEmbedder;
pub use query::{check_threshold, Filter, Hit, TierCounts, VectorQuery, MAX_K};
pub use store::{open, ContextStore};
