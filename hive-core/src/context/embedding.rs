//! The embedder contract: text in, unit vectors out, with the model named.

use async_trait::async_trait;

use crate::error::{Error, Result};

/// Turns text into vectors whose closeness follows meaning.
///
/// # Contract
///
/// - `embed` answers one vector per text, in order.
/// - Every vector has [`dimension`](Self::dimension) finite components and
///   unit length, so cosine similarity is a dot product.
/// - Text with nothing to embed (empty or only whitespace) is
///   [`Error::InvalidInput`], and nothing of the batch is embedded.
/// - [`model`](Self::model) names the model; stores record it with every
///   vector, and vectors of different models are never compared.
///
/// # Errors
/// [`Error::InvalidInput`] for bad text, [`Error::Backend`] when a remote
/// embedder fails (check [`Error::is_transient`]).
#[async_trait]
pub trait EmbeddingService: Send + Sync + std::fmt::Debug {
    /// The model's id, e.g. `"text-embedding-3-small"`.
    fn model(&self) -> &str;

    /// The length of every vector it returns.
    fn dimension(&self) -> usize;

    /// Embeds a batch of texts.
    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>>;
}

/// Conveniences over any [`EmbeddingService`]; never implemented by hand.
#[async_trait]
pub trait EmbeddingServiceExt: EmbeddingService {
    /// Embeds one text.
    async fn embed_one(&self, text: &str) -> Result<Vec<f32>> {
        let mut out = self.embed(&[text.to_string()]).await?;
        match (out.pop(), out.is_empty()) {
            (Some(v), true) => Ok(v),
            _ => Err(Error::backend(
                "embedding",
                format!("{} answered the wrong number of vectors", self.model()),
            )),
        }
    }
}

impl<E: EmbeddingService + ?Sized> EmbeddingServiceExt for E {}

/// Checks a batch before embedding it: no text without content.
///
/// # Errors
/// [`Error::InvalidInput`] naming the first empty text.
pub(crate) fn check_texts(texts: &[String]) -> Result<()> {
    if let Some(i) = texts.iter().position(|t| t.trim().is_empty()) {
        return Err(Error::invalid(format!(
            "text {i} of the batch is empty: there is nothing to embed"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_texts_are_named() {
        check_texts(&["a".into()]).expect("fine");
        let err = check_texts(&["a".into(), "  ".into()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("text 1 of the batch is empty"), "{err}");
    }
}
