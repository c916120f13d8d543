//! The remote embedder: [`EmbeddingService`] over `POST {base}/embeddings`,
//! for OpenAI and the servers that copy its API (Ollama, vLLM, TEI). It
//! splits large batches, puts the answers back in order and holds the
//! server to the contract: right length, finite, unit length.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use super::embedding::EmbeddingService;
use super::vector;
use crate::error::{Error, Result};
use crate::llm::openai::client::BACKEND;
use crate::llm::openai::{OpenAiClient, OpenAiConfig};

/// Most inputs OpenAI accepts in one embeddings request.
const MAX_BATCH: usize = 2048;

/// Which model to ask for and how to batch.
#[derive(Clone, Debug)]
pub struct OpenAiEmbedderConfig {
    /// Where the server is and how to reach it.
    pub client: OpenAiConfig,
    /// The model's id, e.g. `"text-embedding-3-small"` or, on Ollama,
    /// `"nomic-embed-text"`. Recorded with every vector.
    pub model: String,
    /// The model's true dimension: 1536 for `text-embedding-3-small` and
    /// `text-embedding-ada-002`, 3072 for `text-embedding-3-large`. No
    /// default: a wrong guess would fail only at the first request.
    pub dimension: usize,
    /// Asks the server for shorter vectors (the `dimensions` field, which
    /// `text-embedding-3-*` understand): the vectors then have this many
    /// components, at most `dimension`. Default none (the full length).
    pub request_dimensions: Option<usize>,
    /// Most texts per request; a longer batch is split into several
    /// requests, made one after another. 1–2048, default 96.
    pub batch_size: usize,
}

impl OpenAiEmbedderConfig {
    /// `model` of true dimension `dimension` on the server `client`
    /// describes, with the defaults.
    pub fn new(client: OpenAiConfig, model: impl Into<String>, dimension: usize) -> Self {
        OpenAiEmbedderConfig {
            client,
            model: model.into(),
            dimension,
            request_dimensions: None,
            batch_size: 96,
        }
    }

    /// The length of the vectors it answers.
    fn output_dimension(&self) -> usize {
        self.request_dimensions.unwrap_or(self.dimension)
    }

    fn validate(&self) -> Result<()> {
        if self.model.trim().is_empty() {
            return Err(Error::invalid("the embedding model must be named"));
        }
        if self.dimension == 0 {
            return Err(Error::invalid(
                "the embedding dimension must be the model's true dimension, not 0",
            ));
        }
        if let Some(d) = self.request_dimensions {
            if d == 0 || d > self.dimension {
                return Err(Error::invalid(format!(
                    "request_dimensions must be between 1 and the model's dimension {}, not {d}",
                    self.dimension
                )));
            }
        }
        if self.batch_size == 0 || self.batch_size > MAX_BATCH {
            return Err(Error::invalid(format!(
                "batch_size must be between 1 and {MAX_BATCH}, not {}",
                self.batch_size
            )));
        }
        Ok(())
    }
}

/// Embeddings from an OpenAI-compatible server.
///
/// ```no_run
/// # async fn run() -> hive_core::Result<()> {
/// use hive_core::context::EmbeddingService;
/// use hive_core::context::{OpenAiEmbedder, OpenAiEmbedderConfig};
/// use hive_core::llm::openai::OpenAiConfig;
///
/// let embedder = OpenAiEmbedder::new(OpenAiEmbedderConfig::new(
///     OpenAiConfig::from_env(),
///     "text-embedding-3-small",
///     1536,
/// ))?;
/// let vectors = embedder.embed(&["the cat sat on the mat".to_string()]).await?;
/// assert_eq!(vectors[0].len(), 1536);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct OpenAiEmbedder {
    client: OpenAiClient,
    config: OpenAiEmbedderConfig,
}

impl OpenAiEmbedder {
    /// An embedder for `config`. Sends nothing yet; a missing API key is
    /// fine (Ollama and TEI need none).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a malformed base URL, an unnamed model,
    /// a zero dimension, `request_dimensions` above the dimension, or a
    /// batch size outside 1–2048.
    pub fn new(config: OpenAiEmbedderConfig) -> Result<Self> {
        config.validate()?;
        let client = OpenAiClient::new(config.client.clone())?;
        Ok(OpenAiEmbedder { client, config })
    }

    async fn embed_batch(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        let request = EmbeddingRequest {
            model: &self.config.model,
            input: texts,
            encoding_format: "float",
            dimensions: self.config.request_dimensions,
        };
        let answer: EmbeddingAnswer = self.client.post_json("embeddings", &request).await?;
        assemble(
            &self.config.model,
            texts.len(),
            self.config.output_dimension(),
            answer.data,
        )
    }
}

#[async_trait]
impl EmbeddingService for OpenAiEmbedder {
    fn model(&self) -> &str {
        &self.config.model
    }

    fn dimension(&self) -> usize {
        self.config.output_dimension()
    }

    async fn embed(&self, texts: &[String]) -> Result<Vec<Vec<f32>>> {
        check_texts(texts)?;
        let mut out = Vec::with_capacity(texts.len());
        for batch in texts.chunks(self.config.batch_size) {
            out.extend(self.embed_batch(batch).await?);
        }
        Ok(out)
    }
}

/// The contract's rule for input, checked before anything is sent (the
/// context module's own check is private to it).
fn check_texts(texts: &[String]) -> Result<()> {
    match texts.iter().position(|t| t.trim().is_empty()) {
        Some(i) => Err(Error::invalid(format!(
            "text {i} of the batch is empty: there is nothing to embed"
        ))),
        None => Ok(()),
    }
}

#[derive(Serialize)]
struct EmbeddingRequest<'a> {
    model: &'a str,
    input: &'a [String],
    /// Explicit: some clients default to base64, and servers may follow.
    encoding_format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    dimensions: Option<usize>,
}

#[derive(Deserialize)]
struct EmbeddingAnswer {
    data: Vec<EmbeddingDatum>,
}

#[derive(Deserialize)]
struct EmbeddingDatum {
    index: usize,
    embedding: Vec<f32>,
}

/// Puts one answer in input order (the API does not promise it) and holds
/// every vector to the contract, normalising it. Anything wrong is the
/// server's fault: [`Error::Backend`].
fn assemble(
    model: &str,
    expected: usize,
    dimension: usize,
    mut data: Vec<EmbeddingDatum>,
) -> Result<Vec<Vec<f32>>> {
    let wrong = |msg: String| Error::backend(BACKEND, format!("{model}: {msg}"));
    data.sort_by_key(|d| d.index);
    let indices_ok = data.len() == expected && data.iter().enumerate().all(|(i, d)| d.index == i);
    if !indices_ok {
        return Err(wrong(format!(
            "answered {} vectors with indices {:?} for {expected} texts",
            data.len(),
            data.iter().map(|d| d.index).take(16).collect::<Vec<_>>()
        )));
    }
    data.into_iter()
        .map(|d| {
            let mut v = d.embedding;
            if v.len() != dimension {
                return Err(wrong(format!(
                    "expected {dimension}-dimensional vectors, got {} dimensions (text {}); \
                     is the configured dimension the model's?",
                    v.len(),
                    d.index
                )));
            }
            vector::check(&v, dimension)
                .and_then(|()| vector::normalize(&mut v))
                .map_err(|e| wrong(format!("vector {}: {e}", d.index)))?;
            Ok(v)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn datum(index: usize, embedding: &[f32]) -> EmbeddingDatum {
        EmbeddingDatum {
            index,
            embedding: embedding.to_vec(),
        }
    }

    #[test]
    fn answers_are_put_back_in_input_order_and_normalised() {
        let data = vec![
            datum(2, &[0.0, 5.0]),
            datum(0, &[3.0, 4.0]),
            datum(1, &[-2.0, 0.0]),
        ];
        let out = assemble("m", 3, 2, data).expect("valid");
        assert_eq!(out, vec![vec![0.6, 0.8], vec![-1.0, 0.0], vec![0.0, 1.0]]);
    }

    #[test]
    fn a_bad_answer_is_the_servers_fault() {
        let check = |expected: usize, dim: usize, data: Vec<EmbeddingDatum>, says: &str| {
            let err = assemble("m", expected, dim, data).expect_err(says);
            assert!(
                matches!(
                    err,
                    Error::Backend {
                        backend: "openai",
                        ..
                    }
                ),
                "{err}"
            );
            assert!(err.to_string().contains(says), "{err}");
        };
        check(2, 2, vec![datum(0, &[1.0, 0.0])], "answered 1 vectors");
        check(
            2,
            2,
            vec![datum(0, &[1.0, 0.0]), datum(0, &[1.0, 0.0])],
            "indices [0, 0]",
        );
        check(1, 2, vec![datum(1, &[1.0, 0.0])], "indices [1]");
        check(
            1,
            4,
            vec![datum(0, &[1.0, 0.0])],
            "expected 4-dimensional vectors, got 2",
        );
        check(
            1,
            2,
            vec![datum(0, &[f32::NAN, 0.0])],
            "not a finite number",
        );
        check(1, 2, vec![datum(0, &[0.0, 0.0])], "zero vector");
    }

    #[test]
    fn empty_text_is_refused_by_position() {
        check_texts(&["a".into(), "b".into()]).expect("fine");
        let err = check_texts(&["a".into(), " \n".into()]).expect_err("empty");
        assert!(matches!(err, Error::InvalidInput(_)));
        assert!(
            err.to_string().contains("text 1 of the batch is empty"),
            "{err}"
        );
    }

    #[test]
    fn batches_split_in_order() {
        // `embed` walks `chunks`, so the order of the batches is the order of
        // the texts; this pins the split sizes the config promises.
        let texts: Vec<String> = (0..10).map(|i| i.to_string()).collect();
        let sizes: Vec<usize> = texts.chunks(4).map(<[String]>::len).collect();
        assert_eq!(sizes, [4, 4, 2]);
        let flat: Vec<&String> = texts.chunks(4).flatten().collect();
        assert!(flat.iter().zip(&texts).all(|(a, b)| *a == b));
    }

    #[test]
    fn the_config_is_checked() {
        let base = || OpenAiEmbedderConfig::new(OpenAiConfig::new("http://h/v1"), "m", 8);
        let check = |change: fn(&mut OpenAiEmbedderConfig), says: &str| {
            let mut c = base();
            change(&mut c);
            let err = OpenAiEmbedder::new(c).expect_err(says).to_string();
            assert!(err.contains(says), "{err}");
        };
        check(|c| c.model = " ".into(), "model must be named");
        check(|c| c.dimension = 0, "true dimension");
        check(|c| c.request_dimensions = Some(9), "request_dimensions");
        check(|c| c.request_dimensions = Some(0), "request_dimensions");
        check(|c| c.batch_size = 0, "batch_size");
        check(|c| c.batch_size = 4096, "batch_size");
        check(|c| c.client.base_url = "nope".into(), "base URL");
        let e = OpenAiEmbedder::new(OpenAiEmbedderConfig {
            request_dimensions: Some(4),
            ..base()
        })
        .expect("valid");
        assert_eq!((e.model(), e.dimension()), ("m", 4));
        assert_eq!(OpenAiEmbedder::new(base()).expect("valid").dimension(), 8);
    }

    #[test]
    fn the_request_carries_dimensions_only_when_asked() {
        let input = ["a".to_string()];
        let mut req = EmbeddingRequest {
            model: "m",
            input: &input,
            encoding_format: "float",
            dimensions: None,
        };
        let json = serde_json::to_value(&req).expect("json");
        assert_eq!(
            json,
            serde_json::json!({"model": "m", "input": ["a"], "encoding_format": "float"})
        );
        req.dimensions = Some(64);
        let json = serde_json::to_value(&req).expect("json");
        assert_eq!(json["dimensions"], 64);
    }
}
