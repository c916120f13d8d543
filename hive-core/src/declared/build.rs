//! A declaration turned into an agent and its spawn options: the provider
//! with its key read from the environment, the prompt read from its file,
//! the tools picked by name. A kind whose cargo feature this build left out
//! is [`Error::NotSupported`] naming the feature.

use std::sync::Arc;
use std::time::Duration;

use crate::agent::{Agent, RestartPolicy, SpawnOptions};
use crate::error::{Error, Result};

use super::{AgentDecl, KindDecl};

/// A declaration made real: the agent and how to spawn it.
pub struct Built {
    /// The agent.
    pub agent: Arc<dyn Agent>,
    /// Its concurrency, lease, task types and restart policy.
    pub options: SpawnOptions,
}

impl std::fmt::Debug for Built {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Built")
            .field("agent", &self.agent.spec().name)
            .field("options", &self.options)
            .finish()
    }
}

impl AgentDecl {
    /// Builds the agent, reading keys named by `*_env` with `env` (the
    /// process environment in [`Hive::spawn_declared`](crate::Hive::spawn_declared)).
    /// Nothing is sent to any server yet: an unreachable `base_url` or
    /// webhook fails the first task, with an error naming the agent.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the agent: a key variable that is not
    /// set, a prompt file that cannot be read, an unknown or inapplicable
    /// tool, a bad URL, a repository that is not a git repository;
    /// [`Error::NotSupported`] for a kind this build left out.
    pub async fn build(&self, env: &(dyn Fn(&str) -> Option<String> + Sync)) -> Result<Built> {
        let named = |e: Error| match e {
            Error::InvalidInput(m) => Error::invalid(format!("agent {:?}: {m}", self.name)),
            other => other,
        };
        let agent = match &self.kind {
            KindDecl::Llm(_) => self.llm(env).map_err(named)?,
            KindDecl::Cli(_) => self.cli().await.map_err(named)?,
            KindDecl::Http(_) => self.http(env).map_err(named)?,
        };
        let mut options = SpawnOptions::default()
            .concurrency(self.concurrency)
            .task_types(self.task_types.iter().cloned())
            .restart(if self.max_restarts == 0 {
                RestartPolicy::Never
            } else {
                RestartPolicy::OnDeath {
                    max_restarts: self.max_restarts,
                }
            });
        if let Some(secs) = self.lease_secs {
            options = options.lease(Duration::from_secs_f64(secs));
        }
        Ok(Built { agent, options })
    }

    #[cfg(feature = "llm")]
    fn llm(&self, env: &(dyn Fn(&str) -> Option<String> + Sync)) -> Result<Arc<dyn Agent>> {
        use crate::llm_agent::{LlmAgent, LlmAgentConfig, SystemPrompt};

        let KindDecl::Llm(llm) = &self.kind else {
            return Err(Error::invalid("not an llm agent"));
        };
        let provider = llm.provider(env)?;
        let text = match (&llm.system_prompt, &llm.system_prompt_file) {
            (Some(text), _) => text.clone(),
            (None, Some(path)) => std::fs::read_to_string(path).map_err(|e| {
                Error::invalid(format!(
                    "cannot read system_prompt_file {}: {e}",
                    path.display()
                ))
            })?,
            (None, None) => return Err(Error::invalid("a system prompt is needed")),
        };
        let version = llm
            .prompt_version
            .clone()
            .unwrap_or_else(|| prompt_hash(&text));
        let mut config = LlmAgentConfig::new(
            &self.name,
            self.capabilities(),
            SystemPrompt::new(version, text),
        );
        config.model = Some(llm.model.clone());
        config.workspace = llm.workspace.clone();
        if let Some(n) = llm.max_tokens {
            config.max_tokens = n;
        }
        if let Some(n) = llm.max_turns {
            config.max_turns = n;
        }
        config.temperature = llm.temperature;
        let agent = LlmAgent::new(config, provider)?;
        let agent = match &llm.tools {
            Some(names) => agent.only_tools(names)?,
            None => agent,
        };
        Ok(Arc::new(agent))
    }

    #[cfg(not(feature = "llm"))]
    fn llm(&self, _env: &(dyn Fn(&str) -> Option<String> + Sync)) -> Result<Arc<dyn Agent>> {
        Err(Error::NotSupported {
            operation: "a `llm` agent without hive-core's `llm` feature",
            backend: "this build",
        })
    }

    #[cfg(feature = "coding")]
    async fn cli(&self) -> Result<Arc<dyn Agent>> {
        use crate::coding::{CliAgent, CliAgentConfig, WorktreePolicy};

        let KindDecl::Cli(cli) = &self.kind else {
            return Err(Error::invalid("not a cli agent"));
        };
        let mut config = CliAgentConfig::new(&self.name, &cli.repo);
        config.capabilities = self.capabilities();
        if let Some(base) = &cli.base_branch {
            config.base_branch = base.clone();
        }
        if let Some(command) = &cli.command {
            config.command = command.clone();
        }
        if let Some(secs) = cli.timeout_secs {
            config.timeout = Duration::from_secs_f64(secs);
        }
        config.env.allow.extend(cli.env.iter().cloned());
        config.worktrees.root = cli.worktree_dir.clone();
        if cli.keep_worktrees {
            config.worktree_policy = WorktreePolicy::Keep;
        }
        if let Some(commit) = cli.commit_changes {
            config.commit_changes = commit;
        }
        Ok(Arc::new(CliAgent::new(config).await?))
    }

    #[cfg(not(feature = "coding"))]
    async fn cli(&self) -> Result<Arc<dyn Agent>> {
        Err(Error::NotSupported {
            operation: "a `cli` agent without hive-core's `coding` feature",
            backend: "this build",
        })
    }

    #[cfg(feature = "webhook")]
    fn http(&self, env: &(dyn Fn(&str) -> Option<String> + Sync)) -> Result<Arc<dyn Agent>> {
        use crate::webhook::{WebhookAgent, WebhookConfig};

        let KindDecl::Http(http) = &self.kind else {
            return Err(Error::invalid("not an http agent"));
        };
        let mut config = WebhookConfig::new(&self.name, self.capabilities(), &http.url);
        if let Some(secs) = http.timeout_secs {
            config.timeout = Duration::from_secs_f64(secs);
        }
        if let Some(n) = http.max_retries {
            config.max_retries = n;
        }
        config.bearer_token = secret(env, http.auth_token_env.as_deref())?;
        config.headers = http
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(Arc::new(WebhookAgent::new(config)?))
    }

    #[cfg(not(feature = "webhook"))]
    fn http(&self, _env: &(dyn Fn(&str) -> Option<String> + Sync)) -> Result<Arc<dyn Agent>> {
        Err(Error::NotSupported {
            operation: "a `http` agent without hive-core's `webhook` feature",
            backend: "this build",
        })
    }
}

/// The value of the variable `name`, when one is named: a named variable
/// that is unset or empty is an error (a typo must not run keyless).
#[cfg_attr(not(any(feature = "llm", feature = "webhook")), allow(dead_code))]
fn secret(
    env: &(dyn Fn(&str) -> Option<String> + Sync),
    name: Option<&str>,
) -> Result<Option<String>> {
    let Some(name) = name else {
        return Ok(None);
    };
    match env(name).filter(|v| !v.trim().is_empty()) {
        Some(value) => Ok(Some(value)),
        None => Err(Error::invalid(format!(
            "the environment variable {name} (named by the declaration) is not set"
        ))),
    }
}

#[cfg(feature = "llm")]
impl super::LlmDecl {
    /// The model provider this declaration names, its key read with `env`
    /// (used by LLM agents and by the meta-agent).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a key variable that is not set, an
    /// Anthropic provider without a key, or a bad URL.
    pub fn provider(
        &self,
        env: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> Result<Arc<dyn crate::llm::LlmProvider>> {
        use crate::llm::anthropic::{AnthropicConfig, AnthropicProvider};
        use crate::llm::openai::{OpenAiConfig, OpenAiProvider, OpenAiProviderConfig};
        use crate::llm::LlmProvider;

        let key = secret(env, self.api_key_env.as_deref())?;
        let timeout = self.timeout_secs.map(Duration::from_secs_f64);
        let provider: Arc<dyn LlmProvider> = match self.provider {
            super::ProviderDecl::Anthropic => {
                let mut config = AnthropicConfig::default().with_model(&self.model);
                if let Some(url) = &self.base_url {
                    config.base_url = url.clone();
                }
                config.api_key = key;
                if config.api_key.is_none() {
                    return Err(Error::invalid(
                        "the anthropic provider needs a key: set api_key_env to the name of \
                         the environment variable holding it",
                    ));
                }
                if let Some(t) = timeout {
                    config.http.timeout = t;
                }
                Arc::new(AnthropicProvider::new(config)?)
            }
            super::ProviderDecl::Openai => {
                let mut client = match &self.base_url {
                    Some(url) => OpenAiConfig::new(url),
                    None => OpenAiConfig::default(),
                };
                client.api_key = key;
                if let Some(t) = timeout {
                    client.http.timeout = t;
                }
                Arc::new(OpenAiProvider::new(OpenAiProviderConfig::new(
                    client,
                    &self.model,
                ))?)
            }
        };
        Ok(provider)
    }
}

/// `sha256:` and the first 12 hex digits of the prompt's SHA-256.
#[cfg(feature = "llm")]
fn prompt_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(text.as_bytes());
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    format!("sha256:{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "llm")]
    #[test]
    fn the_prompt_version_is_its_hash() {
        assert_eq!(prompt_hash("hello"), "sha256:2cf24dba5fb0");
        assert_ne!(prompt_hash("hello "), prompt_hash("hello"));
    }

    #[test]
    fn a_named_variable_must_be_set() {
        let env = |name: &str| (name == "SET").then(|| "v".to_string());
        assert_eq!(secret(&env, None).expect("none"), None);
        assert_eq!(secret(&env, Some("SET")).expect("set"), Some("v".into()));
        let e = secret(&env, Some("UNSET")).expect_err("unset").to_string();
        assert!(e.contains("UNSET") && e.contains("not set"), "{e}");
    }
}
