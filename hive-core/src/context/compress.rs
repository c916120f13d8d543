//! Compression: a long conversation becomes a rolling summary, so medium-
//! term memory stays small enough to hand to a model.
//!
//! [`ContextCompressor::compress`] takes a session's message log, keeps the
//! most recent messages as they are, and replaces the older ones by one
//! `summary` entry — written by an LLM when one is configured
//! ([`LlmSummarizer`]), else picked from the messages themselves
//! ([`ExtractiveSummarizer`], offline). The order of the steps is the
//! guarantee: the summary is stored first and the messages it replaces are
//! deleted only after, so a failure at any point loses nothing (at worst a
//! summary and its originals both remain until the next pass).
//!
//! Tokens are estimated as one per four characters (the usual rule of thumb
//! for English with GPT-style tokenizers); the report gives the estimate
//! before and after.

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::embedding::EmbeddingService;
use super::engine::ContextEngine;
use super::entry::{ContextEntry, EntryId, Kind, NewEntry, Tier};
use super::query::Filter;
use super::vector;
use crate::error::{Error, Result};
use crate::llm::{LlmProvider, LlmProviderExt, LlmRequest};

/// Messages read per compression (the oldest first).
const MAX_MESSAGES: usize = 10_000;

/// An estimate of the tokens in `text`: one per four characters.
pub fn estimate_tokens(text: &str) -> usize {
    text.chars().count().div_ceil(4)
}

/// Writes a summary of texts.
#[async_trait]
pub trait Summarizer: Send + Sync + fmt::Debug {
    /// A name for reports: `"extractive"`, `"llm:<model>"`.
    fn name(&self) -> String;

    /// A summary of `texts` (in order) of about `target_tokens` tokens.
    async fn summarize(&self, texts: &[String], target_tokens: usize) -> Result<String>;
}

/// The offline summarizer: picks the sentences that best cover the
/// conversation (closest to its centroid, penalised for repeating what is
/// already picked — maximal marginal relevance with λ = 0.7) until the
/// token budget is spent, and gives them in their original order.
#[derive(Clone, Debug)]
pub struct ExtractiveSummarizer {
    embedder: Arc<dyn EmbeddingService>,
}

impl ExtractiveSummarizer {
    /// Weight of coverage against novelty.
    const LAMBDA: f32 = 0.7;

    /// A summarizer that compares sentences with `embedder`.
    pub fn new(embedder: Arc<dyn EmbeddingService>) -> Self {
        ExtractiveSummarizer { embedder }
    }
}

/// Splits text into sentences: at line breaks, and after `.`, `!` or `?`
/// followed by white space.
pub(crate) fn sentences(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for line in text.lines() {
        let mut start = 0;
        let chars: Vec<(usize, char)> = line.char_indices().collect();
        for (i, &(at, c)) in chars.iter().enumerate() {
            let ends = matches!(c, '.' | '!' | '?')
                && chars.get(i + 1).is_some_and(|(_, n)| n.is_whitespace());
            if ends {
                out.push(line[start..at + c.len_utf8()].trim().to_string());
                start = at + c.len_utf8();
            }
        }
        out.push(line[start..].trim().to_string());
    }
    out.retain(|s| s.chars().any(char::is_alphanumeric));
    out
}

#[async_trait]
impl Summarizer for ExtractiveSummarizer {
    fn name(&self) -> String {
        "extractive".into()
    }

    async fn summarize(&self, texts: &[String], target_tokens: usize) -> Result<String> {
        let all: Vec<String> = texts.iter().flat_map(|t| sentences(t)).collect();
        if all.is_empty() {
            return Err(Error::invalid("there is nothing to summarise"));
        }
        let vectors = self.embedder.embed(&all).await?;
        let mut centroid = vec![0.0_f32; self.embedder.dimension()];
        for v in &vectors {
            centroid.iter_mut().zip(v).for_each(|(c, x)| *c += x);
        }
        let coverage: Vec<f32> = match vector::normalize(&mut centroid) {
            Ok(()) => vectors
                .iter()
                .map(|v| vector::cosine(v, &centroid))
                .collect(),
            // Sentences that cancel out: fall back to their order.
            Err(_) => (0..all.len()).map(|i| -(i as f32)).collect(),
        };
        let mut picked: Vec<usize> = Vec::new();
        let mut spent = 0;
        while picked.len() < all.len() {
            let best = (0..all.len())
                .filter(|i| !picked.contains(i))
                .map(|i| {
                    let repeat = picked
                        .iter()
                        .map(|&j| vector::cosine(&vectors[i], &vectors[j]))
                        .fold(0.0_f32, f32::max);
                    (
                        i,
                        Self::LAMBDA * coverage[i] - (1.0 - Self::LAMBDA) * repeat,
                    )
                })
                .max_by(|a, b| a.1.total_cmp(&b.1));
            let Some((i, _)) = best else { break };
            let cost = estimate_tokens(&all[i]);
            if !picked.is_empty() && spent + cost > target_tokens {
                break;
            }
            picked.push(i);
            spent += cost;
        }
        picked.sort_unstable();
        Ok(picked
            .into_iter()
            .map(|i| all[i].as_str())
            .collect::<Vec<_>>()
            .join(" "))
    }
}

/// Summaries written by a language model: any [`LlmProvider`] (the
/// Anthropic Messages API, an OpenAI-compatible server, or one of the
/// caller's own).
#[derive(Clone, Debug)]
pub struct LlmSummarizer {
    model: Arc<dyn LlmProvider>,
}

impl LlmSummarizer {
    /// The instructions the model gets.
    pub const PROMPT: &'static str = "You compress conversation logs into memory for an AI agent. \
        Write one faithful summary that keeps every fact, decision, name, number and open \
        question, in plain sentences, with no preamble.";

    /// A summarizer asking `model` (its default model).
    pub fn new(model: Arc<dyn LlmProvider>) -> Self {
        LlmSummarizer { model }
    }
}

#[async_trait]
impl Summarizer for LlmSummarizer {
    fn name(&self) -> String {
        format!("llm:{}", self.model.default_model())
    }

    async fn summarize(&self, texts: &[String], target_tokens: usize) -> Result<String> {
        let words = (target_tokens * 3 / 4).max(20);
        let log = texts.join("\n");
        let user = format!("Summarise in at most {words} words:\n\n{log}");
        let max_tokens = u32::try_from(target_tokens * 2).unwrap_or(u32::MAX).max(64);
        let request = LlmRequest::new(user)
            .system(Self::PROMPT)
            .max_tokens(max_tokens);
        let answer = self.model.ask(&request).await?;
        if answer.text.trim().is_empty() {
            return Err(Error::backend(
                self.model.provider(),
                "the model answered an empty summary",
            ));
        }
        Ok(answer.text.trim().to_string())
    }
}

/// Tries `primary`; when it fails for a transient reason (the server is
/// down or overloaded, after its own retries), uses `fallback`.
#[derive(Clone, Debug)]
pub struct FallbackSummarizer {
    primary: Arc<dyn Summarizer>,
    fallback: Arc<dyn Summarizer>,
}

impl FallbackSummarizer {
    /// `primary`, then `fallback`.
    pub fn new(primary: Arc<dyn Summarizer>, fallback: Arc<dyn Summarizer>) -> Self {
        FallbackSummarizer { primary, fallback }
    }
}

#[async_trait]
impl Summarizer for FallbackSummarizer {
    fn name(&self) -> String {
        format!("{} or {}", self.primary.name(), self.fallback.name())
    }

    async fn summarize(&self, texts: &[String], target_tokens: usize) -> Result<String> {
        match self.primary.summarize(texts, target_tokens).await {
            Err(e) if e.is_transient() => {
                tracing::warn!(error = %e, "summarizer failed; falling back");
                self.fallback.summarize(texts, target_tokens).await
            }
            other => other,
        }
    }
}

/// When and how much to compress.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompressOptions {
    /// The newest messages kept as they are. Default 10.
    pub keep_recent: usize,
    /// Older messages are compressed only when they hold at least this
    /// many tokens. Default 1,000.
    pub min_tokens: usize,
    /// The summary's size as a share of what it replaces. Default 0.25.
    pub target_ratio: f32,
}

impl Default for CompressOptions {
    fn default() -> Self {
        CompressOptions {
            keep_recent: 10,
            min_tokens: 1000,
            target_ratio: 0.25,
        }
    }
}

/// What one compression did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompressionReport {
    /// The summary stored, if the log was long enough to compress.
    pub summary: Option<EntryId>,
    /// Which summarizer wrote it.
    pub summarizer: String,
    /// Messages the summary replaced (deleted after it was stored).
    pub replaced: usize,
    /// Estimated tokens of the replaced messages.
    pub tokens_before: usize,
    /// Estimated tokens of the summary.
    pub tokens_after: usize,
}

impl CompressionReport {
    /// The share of tokens saved, in [0, 1] (0 when nothing was done).
    pub fn reduction(&self) -> f64 {
        if self.tokens_before == 0 {
            return 0.0;
        }
        1.0 - (self.tokens_after as f64 / self.tokens_before as f64).min(1.0)
    }
}

/// Compresses sessions' message logs into rolling summaries.
#[derive(Clone, Debug)]
pub struct ContextCompressor {
    summarizer: Arc<dyn Summarizer>,
    options: CompressOptions,
}

impl ContextCompressor {
    /// A compressor using `summarizer`.
    pub fn new(summarizer: Arc<dyn Summarizer>) -> Self {
        ContextCompressor {
            summarizer,
            options: CompressOptions::default(),
        }
    }

    /// The usual choice: the model when one is configured (falling back
    /// to extraction when it is unreachable), else extraction.
    pub fn llm_or_extractive(
        model: Option<Arc<dyn LlmProvider>>,
        embedder: Arc<dyn EmbeddingService>,
    ) -> Self {
        let offline: Arc<dyn Summarizer> = Arc::new(ExtractiveSummarizer::new(embedder));
        match model {
            Some(model) => Self::new(Arc::new(FallbackSummarizer::new(
                Arc::new(LlmSummarizer::new(model)),
                offline,
            ))),
            None => Self::new(offline),
        }
    }

    /// Sets the options.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a ratio outside (0, 1).
    pub fn with_options(mut self, options: CompressOptions) -> Result<Self> {
        if !(options.target_ratio > 0.0 && options.target_ratio < 1.0) {
            return Err(Error::invalid(format!(
                "target_ratio {} is outside (0, 1)",
                options.target_ratio
            )));
        }
        self.options = options;
        Ok(self)
    }

    /// Compresses `session`'s medium-term message log in `engine`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad session name; what the summarizer
    /// or the store answers otherwise — and then nothing was deleted.
    pub async fn compress(
        &self,
        engine: &ContextEngine,
        session: &str,
    ) -> Result<CompressionReport> {
        let filter = Filter::any()
            .session(session)
            .tier(Tier::Medium)
            .kind(Kind::message());
        let log = engine.store().list(&filter, MAX_MESSAGES).await?;
        let mut report = CompressionReport {
            summary: None,
            summarizer: self.summarizer.name(),
            replaced: 0,
            tokens_before: 0,
            tokens_after: 0,
        };
        if log.len() <= self.options.keep_recent {
            return Ok(report);
        }
        let older = &log[..log.len() - self.options.keep_recent];
        let tokens_before: usize = older.iter().map(|e| estimate_tokens(&e.content)).sum();
        if tokens_before < self.options.min_tokens {
            return Ok(report);
        }
        let target = ((tokens_before as f32 * self.options.target_ratio) as usize).max(1);
        let texts: Vec<String> = older.iter().map(line).collect();
        let summary = self.summarizer.summarize(&texts, target).await?;
        let id = engine
            .store_exact(summary_entry(
                older,
                &summary,
                tokens_before,
                &report.summarizer,
            ))
            .await?;
        let ids: Vec<EntryId> = older.iter().map(|e| e.id).collect();
        engine.store().delete(&ids).await?;
        report.summary = Some(id);
        report.replaced = older.len();
        report.tokens_before = tokens_before;
        report.tokens_after = estimate_tokens(&summary);
        Ok(report)
    }
}

/// A message as the summarizer sees it: who said it, then what.
fn line(e: &ContextEntry) -> String {
    match &e.agent {
        Some(agent) => format!("{agent}: {}", e.content),
        None => e.content.clone(),
    }
}

fn summary_entry(older: &[ContextEntry], text: &str, tokens: usize, by: &str) -> NewEntry {
    let first = &older[0];
    let last = &older[older.len() - 1];
    let same_agent = older.iter().all(|e| e.agent == first.agent);
    let importance = older.iter().map(|e| e.importance).fold(0.0_f32, f32::max);
    let mut entry = NewEntry::text(text)
        .kind(Kind::summary())
        .tier(Tier::Medium)
        .importance(importance)
        .created_at(last.created_at)
        .metadata(json!({
            "replaces": older.len(),
            "tokens_before": tokens,
            "from": first.created_at,
            "to": last.created_at,
            "summarizer": by,
        }));
    entry.session = first.session.clone();
    if same_agent {
        entry.agent = first.agent.clone();
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::HashingEmbedder;

    #[test]
    fn sentences_split_at_ends_and_lines() {
        assert_eq!(
            sentences("Ship it. Really?  Yes!\nv1.2 is out\n\n..."),
            ["Ship it.", "Really?", "Yes!", "v1.2 is out"]
        );
        assert_eq!(estimate_tokens("abcdefgh"), 2);
        assert_eq!(estimate_tokens("abcdefghi"), 3);
    }

    #[tokio::test]
    async fn extraction_keeps_the_budget_and_the_order() {
        let e = ExtractiveSummarizer::new(Arc::new(HashingEmbedder::new(64).expect("embedder")));
        let texts = vec![
            "The deploy failed on Monday. The database migration timed out.".to_string(),
            "We will retry the database migration tonight. Lunch was pizza.".to_string(),
            "The migration of the database needs a longer timeout.".to_string(),
        ];
        let summary = e.summarize(&texts, 20).await.expect("summary");
        assert!(estimate_tokens(&summary) <= 20, "{summary}");
        assert!(summary.contains("migration"), "{summary}");
        assert!(!summary.contains("pizza"), "{summary}");
        let one = e.summarize(&texts, 1).await.expect("at least one sentence");
        assert!(!one.is_empty());
        assert!(e.summarize(&["...".into()], 5).await.is_err());
        let report = CompressionReport {
            summary: None,
            summarizer: "x".into(),
            replaced: 3,
            tokens_before: 100,
            tokens_after: 25,
        };
        assert!((report.reduction() - 0.75).abs() < 1e-9);
    }
}
