//! A test double: words hashed into buckets. It finds texts that share
//! words and nothing else, which is exactly what the offline default must
//! beat; never use it as the default.

use async_trait::async_trait;

use super::embedding::{check_texts, EmbeddingService};
use super::vector;
use crate::error::{Error, Result};

/// Feature hashing of lowercase words (FNV-1a, a sign bit per word) into
/// `dimension` buckets, normalised. Deterministic across runs and machines.
#[derive(Clone, Debug)]
pub struct HashingEmbedder {
    dimension: usize,
    model: String,
}

impl HashingEmbedder {
    /// An embedder with `dimension` buckets.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a dimension of zero.
    pub fn new(dimension: usize) -> Result<Self> {
        if dimension == 0 {
            return Err(Error::invalid(
                "a hashing embedder needs at least one bucket",
            ));
        }
        Ok(HashingEmbedder {
            dimension,
            model: format!("hashing-{dimension}"),
        })
    }

    fn embed_text(&self, text: &str) -> Result<Vec<f32>> {
        let mut v = vec![0.0f32; self.dimension];
        let mut words = 0;
        for word in text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
        {
            let h = fnv1a(&word.to_lowercase());
            let bucket = (h % self.dimension as u64) as usize;
            v[bucket] += if h >> 63 == 0 { 1.0 } else { -1.0 };
            words += 1;
        }
        if words == 0 {
            return Err(Error::invalid(format!("{text:?} has no words to embed")));
        }
        if vector::normalize(&mut v).is_err() {
            // Every word cancelled out: fall back to the first bucket so the
            // vector stays valid (and matches nothing in particular).
            v[0] = 1.0;
        }
        Ok(v)
    }
}

fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

#[async_trait]
impl EmbeddingService for HashingEmbedder {
    fn model(&self) -> &str {
        &self.model
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        check_texts(texts)?;
        texts.iter().map(|t| self.embed_text(t)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::vector::cosine;
    use crate::context::EmbeddingServiceExt;

    #[tokio::test]
    async fn shared_words_are_close_and_the_contract_holds() -> Result<()> {
        let e = HashingEmbedder::new(256)?;
        assert_eq!((e.model(), e.dimension()), ("hashing-256", 256));
        let a = e.embed_one("The deploy failed on Friday").await?;
        let b = e.embed_one("friday: deploy FAILED").await?;
        let c = e.embed_one("My cat sleeps all afternoon").await?;
        vector::check(&a, 256)?;
        assert!((a.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(cosine(&a, &b) > 0.7, "same words, any case and order");
        assert!(cosine(&a, &c) < 0.3, "no shared words");
        assert_eq!(
            e.embed_one("The deploy failed on Friday").await?,
            a,
            "deterministic"
        );
        let batch = e.embed(&["one".into(), "two".into()]).await?;
        assert_eq!(batch.len(), 2);
        assert!(e.embed(&["fine".into(), "".into()]).await.is_err());
        assert!(e.embed_one("!!! ???").await.is_err());
        assert!(HashingEmbedder::new(0).is_err());
        Ok(())
    }
}
