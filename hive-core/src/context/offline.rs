//! The offline default embedder: all-MiniLM-L6-v2 (Apache-2.0) distilled
//! into a static model with model2vec, compiled into the library.
//!
//! No network and no download at run time: the three files in
//! `models/minilm-l6-m2v-256/` (7.6 MB, int8, 256 dimensions) are included
//! with `include_bytes!`, and `./scripts/distill-embedder` regenerates them
//! from the teacher model published on PyPI. A static model looks up one
//! vector per token and averages them: far cheaper than the transformer it
//! was distilled from, and it still places paraphrases near each other
//! (see `docs/offline-embedder.md` and the retrieval test).

use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use model2vec_rs::model::StaticModel;

use super::embedding::{check_texts, EmbeddingService};
use super::vector;
use crate::error::{Error, Result};

const TOKENIZER: &[u8] = include_bytes!("../../../models/minilm-l6-m2v-256/tokenizer.json");
const WEIGHTS: &[u8] = include_bytes!("../../../models/minilm-l6-m2v-256/model.safetensors");
const CONFIG: &[u8] = include_bytes!("../../../models/minilm-l6-m2v-256/config.json");

/// Tokens read per text; longer texts are cut (a static model averages
/// tokens, so the opening carries the gist).
const MAX_TOKENS: usize = 512;

/// The model's dimension (its `config.json` says so; a test checks).
const DIMENSION: usize = 256;

/// The default embedder. Cheap to clone: clones share the model, which is
/// loaded on the first `embed` (about 15 MiB resident), so a hive that
/// never stores context never pays for it.
#[derive(Clone)]
pub struct OfflineEmbedder {
    model: Arc<OnceLock<std::result::Result<StaticModel, String>>>,
}

impl std::fmt::Debug for OfflineEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineEmbedder")
            .field("model", &Self::MODEL)
            .finish()
    }
}

impl OfflineEmbedder {
    /// The model's id, recorded with every vector it makes.
    pub const MODEL: &'static str = "minilm-l6-m2v-256";

    /// The built-in model, loaded on first use (tens of milliseconds;
    /// share the handle).
    ///
    /// # Errors
    /// None today; kept so a failure to load could be reported here.
    pub fn new() -> Result<Self> {
        Ok(OfflineEmbedder {
            model: Arc::new(OnceLock::new()),
        })
    }

    /// The loaded model (loading it now if this is the first use).
    ///
    /// # Errors
    /// [`Error::Backend`] if the built-in files cannot be read, which would
    /// be a build defect.
    fn loaded(&self) -> Result<&StaticModel> {
        self.model
            .get_or_init(|| {
                StaticModel::from_bytes(TOKENIZER, WEIGHTS, CONFIG, Some(true))
                    .map_err(|e| format!("built-in model: {e}"))
            })
            .as_ref()
            .map_err(|e| Error::backend("embedding", e.clone()))
    }
}

#[async_trait]
impl EmbeddingService for OfflineEmbedder {
    fn model(&self) -> &str {
        Self::MODEL
    }

    fn dimension(&self) -> usize {
        DIMENSION
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        check_texts(texts)?;
        let this = self.clone();
        let texts = texts.to_vec();
        // CPU work (and the first load): keep it off the async threads.
        let vectors = tokio::task::spawn_blocking(move || {
            this.loaded()
                .map(|m| m.encode_with_args(&texts, Some(MAX_TOKENS), texts.len().max(1)))
        })
        .await
        .map_err(|e| Error::backend("embedding", format!("the embedding task failed: {e}")))??;
        vectors
            .into_iter()
            .enumerate()
            .map(|(i, mut v)| {
                vector::normalize(&mut v).map_err(|_| {
                    Error::invalid(format!("text {i} holds nothing the model can embed"))
                })?;
                Ok(v)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::vector::cosine;
    use crate::context::EmbeddingServiceExt;

    #[tokio::test]
    async fn paraphrases_are_close_without_shared_words() -> Result<()> {
        let e = OfflineEmbedder::new()?;
        assert_eq!((e.model(), e.dimension()), ("minilm-l6-m2v-256", 256));
        assert_eq!(
            e.loaded()?.dim(),
            DIMENSION,
            "the constant matches the model"
        );
        let cat = e.embed_one("the cat sat on the mat").await?;
        let kitten = e.embed_one("a kitten rested on a rug").await?;
        let markets = e.embed_one("stock markets fell sharply today").await?;
        vector::check(&cat, 256)?;
        assert!((cat.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-4);
        let near = cosine(&cat, &kitten);
        let far = cosine(&cat, &markets);
        assert!(near > far + 0.2, "paraphrase {near} vs unrelated {far}");
        assert_eq!(
            e.embed_one("the cat sat on the mat").await?,
            cat,
            "deterministic"
        );
        assert!(e.embed(&["fine".into(), " ".into()]).await.is_err());
        Ok(())
    }
}
