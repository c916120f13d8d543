//! The store flags of the commands that work on a hive's stores directly,
//! without a server (`hive backup`, `hive migrate`): `--config`, `--db`,
//! `--redis`, `--postgres`, with `hive serve`'s environment variables,
//! resolved by `hive serve`'s own configuration code — so the same flags,
//! environment and `hive.toml` name the same stores.

use std::path::PathBuf;

use crate::backup::Stores;
use crate::config::{ConfigError, ServeArgs, ServeConfig, Settings, DEFAULT_ADDR};

/// Which stores: as `hive serve` would open them.
#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "Stores (found as `hive serve` finds them)")]
pub(crate) struct StoreArgs {
    /// The config file `hive serve` reads (keys `db`, `redis`, `postgres`,
    /// `no_context` apply here). Default: ./hive.toml if it exists.
    #[arg(long, env = "HIVE_CONFIG")]
    pub config: Option<PathBuf>,
    /// The embedded SQLite file [default: hive.db].
    #[arg(long, env = "HIVE_DB")]
    pub db: Option<PathBuf>,
    /// Redis URL, if the hive's queue and broker live there.
    #[arg(long, env = "HIVE_REDIS_URL", hide_env_values = true)]
    pub redis: Option<String>,
    /// Postgres URL, if the hive's registry, sessions and context live
    /// there.
    #[arg(long, env = "HIVE_DATABASE_URL", hide_env_values = true)]
    pub postgres: Option<String>,
}

/// The stores resolved, and whether the hive runs without its context
/// store.
#[derive(Debug, Clone)]
pub(crate) struct Resolved {
    pub stores: Stores,
    pub no_context: bool,
}

impl StoreArgs {
    /// Resolves the stores over the config file and the defaults, as `hive
    /// serve` does; `no_context` is the command's own `--no-context`.
    ///
    /// # Errors
    /// The config file's errors, naming it and the key.
    pub(crate) fn resolve(self, no_context: Option<bool>) -> Result<Resolved, ConfigError> {
        let args = ServeArgs {
            config: self.config,
            settings: Settings {
                db: self.db,
                redis: self.redis,
                postgres: self.postgres,
                no_context,
                // Nothing listens: the address is pinned to loopback so
                // that serving's rule for public addresses (a token) does
                // not apply.
                addr: Some(DEFAULT_ADDR),
                ..Settings::default()
            },
        };
        let config = ServeConfig::load(args, None)?;
        Ok(Resolved {
            stores: Stores {
                db: config.db,
                redis: config.redis,
                postgres: config.postgres,
            },
            no_context: config.no_context,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_the_file_over_the_defaults() {
        let dir = tempfile::tempdir().expect("dir");
        let file = dir.path().join("hive.toml");
        std::fs::write(
            &file,
            "db = \"file.db\"\npostgres = \"postgres://h/db\"\nno_context = true\n\
             addr = \"0.0.0.0:80\"\n",
        )
        .expect("write");
        let from_file = StoreArgs {
            config: Some(file.clone()),
            ..StoreArgs::default()
        }
        .resolve(None)
        .expect("resolve");
        assert_eq!(from_file.stores.db, PathBuf::from("file.db"));
        assert_eq!(
            from_file.stores.postgres.as_deref(),
            Some("postgres://h/db")
        );
        assert!(from_file.no_context && from_file.stores.redis.is_none());

        let flags = StoreArgs {
            config: Some(file),
            db: Some("flag.db".into()),
            redis: Some("redis://r".into()),
            ..StoreArgs::default()
        }
        .resolve(Some(false))
        .expect("resolve");
        assert_eq!(flags.stores.db, PathBuf::from("flag.db"));
        assert_eq!(flags.stores.redis.as_deref(), Some("redis://r"));
        assert!(!flags.no_context);
    }
}
