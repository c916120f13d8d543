//! [`CommandVerifier`]: a program scores the result. It runs with the
//! scrubbed environment of [`ScrubbedCommand`] plus `HIVE_VERIFY_INPUT`,
//! the path of a JSON file holding `{"task": …, "result": …}`, and
//! `HIVE_RESULT_TEXT`, the result's `text` field (an LLM agent's answer)
//! when it has one. It must exit 0 and print the score as the first number
//! of its last line.

use std::path::PathBuf;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};
use tokio_util::sync::CancellationToken;

use super::{first_number, Verifier};
use crate::error::{Error, Result};
use crate::queue::Task;
use crate::sandbox::{EnvPolicy, ScrubbedCommand};

/// A program that scores results.
#[derive(Clone, Debug)]
pub struct CommandVerifier {
    argv: Vec<String>,
    dir: PathBuf,
    timeout: Duration,
}

impl CommandVerifier {
    /// `argv` run in `dir`, for at most 60 s.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty `argv`.
    pub fn new(argv: Vec<String>, dir: impl Into<PathBuf>) -> Result<Self> {
        if argv.first().is_none_or(|p| p.is_empty()) {
            return Err(Error::invalid("a command verifier needs a program to run"));
        }
        Ok(CommandVerifier {
            argv,
            dir: dir.into(),
            timeout: Duration::from_secs(60),
        })
    }

    /// How long one scoring may take.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

#[async_trait]
impl Verifier for CommandVerifier {
    fn kind(&self) -> &'static str {
        "command"
    }

    async fn score(&self, task: &Task, result: &Value) -> Result<f64> {
        let input = Input::write(&json!({ "task": task, "result": result }))?;
        let mut env = EnvPolicy::default().set("HIVE_VERIFY_INPUT", input.0.display().to_string());
        if let Some(text) = result.get("text").and_then(Value::as_str) {
            env = env.set("HIVE_RESULT_TEXT", text);
        }
        let outcome = ScrubbedCommand::new(self.argv.clone(), &self.dir)?
            .env(env)
            .timeout(self.timeout)
            .output_limit(64 * 1024)
            .run(&CancellationToken::new())
            .await?;
        if !outcome.success() {
            return Err(Error::invalid(format!(
                "the verifier {} {}: {}",
                self.argv[0],
                outcome.describe_exit(),
                outcome.stderr.trim()
            )));
        }
        let last = outcome.stdout.lines().rev().find(|l| !l.trim().is_empty());
        last.and_then(first_number).ok_or_else(|| {
            Error::invalid(format!(
                "the verifier {} printed no score: {:?}",
                self.argv[0],
                outcome.stdout.trim()
            ))
        })
    }
}

/// The verifier's input file, removed when dropped.
struct Input(PathBuf);

impl Input {
    fn write(value: &Value) -> Result<Input> {
        let path = std::env::temp_dir().join(format!("hive-verify-{}.json", uuid::Uuid::new_v4()));
        std::fs::write(&path, value.to_string())
            .map_err(|e| Error::invalid(format!("cannot write the verifier's input: {e}")))?;
        Ok(Input(path))
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::task;
    use super::*;

    #[tokio::test]
    async fn a_command_reads_its_input_and_prints_a_score() {
        let dir = tempfile::tempdir().expect("dir");
        let v = CommandVerifier::new(
            vec![
                "sh".into(),
                "-c".into(),
                r#"grep -q '"prompt":"2+2?"' "$HIVE_VERIFY_INPUT" || exit 3; if [ "$HIVE_RESULT_TEXT" = 4 ]; then echo "score: 1"; else echo 0; fi"#.into(),
            ],
            dir.path(),
        )
        .expect("verifier");
        let t = task("sum");
        assert_eq!(
            v.score(&t, &json!({"text": "4"})).await.expect("score"),
            1.0
        );
        assert_eq!(
            v.score(&t, &json!({"text": "5"})).await.expect("score"),
            0.0
        );
        let failing = CommandVerifier::new(
            vec!["sh".into(), "-c".into(), "echo bad >&2; exit 2".into()],
            dir.path(),
        )
        .expect("verifier");
        let e = failing.score(&t, &json!({})).await.expect_err("exit 2");
        assert!(e.to_string().contains("bad"), "{e}");
        let silent = CommandVerifier::new(vec!["true".into()], dir.path()).expect("verifier");
        assert!(silent.score(&t, &json!({})).await.is_err());
        assert!(CommandVerifier::new(vec![], dir.path()).is_err());
    }
}
