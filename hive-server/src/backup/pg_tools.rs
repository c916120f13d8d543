//! `pg_dump` and `pg_restore`, PostgreSQL's own tools for copying a
//! database: found where a flag says or on `PATH`, refused when older than
//! the server (an older `pg_dump` cannot dump a newer server; an older
//! `pg_restore` cannot read a newer archive), and run with the URL's
//! password in their environment, never on their command line, where any
//! user's `ps` would show it.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::BackupError;

/// One of the tools, found and its version read.
#[derive(Debug, Clone)]
pub struct PgTool {
    /// `pg_dump` or `pg_restore`.
    pub name: &'static str,
    /// Where it is.
    pub path: PathBuf,
    /// Its major version (18 for 18.3).
    pub major: u32,
}

impl PgTool {
    /// `name` at `given`, or else the first on `PATH`, with its version.
    ///
    /// # Errors
    /// [`BackupError::ToolMissing`] when it is not there or does not say
    /// its version.
    pub fn find(name: &'static str, given: Option<&Path>) -> Result<PgTool, BackupError> {
        let missing = |looked: String| BackupError::ToolMissing { tool: name, looked };
        let path = match given {
            Some(path) if path.is_file() => path.to_path_buf(),
            Some(path) => return Err(missing(format!("at {}", path.display()))),
            None => std::env::var_os("PATH")
                .iter()
                .flat_map(std::env::split_paths)
                .map(|dir| dir.join(name))
                .find(|candidate| candidate.is_file())
                .ok_or_else(|| missing("on PATH".into()))?,
        };
        let out = std::process::Command::new(&path)
            .arg("--version")
            .output()
            .map_err(|e| missing(format!("at {} ({e})", path.display())))?;
        let text = String::from_utf8_lossy(&out.stdout);
        let major = major_version(&text).ok_or_else(|| {
            missing(format!(
                "at {} (its --version said {:?})",
                path.display(),
                text.trim()
            ))
        })?;
        Ok(PgTool { name, path, major })
    }

    /// Refuses a tool older than the server's major version.
    ///
    /// # Errors
    /// [`BackupError::ToolTooOld`].
    pub fn check_against(&self, server_major: u32) -> Result<(), BackupError> {
        if self.major < server_major {
            return Err(BackupError::ToolTooOld {
                tool: self.name,
                path: self.path.clone(),
                major: self.major,
                server_major,
            });
        }
        Ok(())
    }

    /// Runs the tool with `args` on the database at `url`, waiting for it
    /// to finish.
    ///
    /// # Errors
    /// [`BackupError::ToolFailed`] with what it printed on stderr when it
    /// cannot start or exits with a failure; [`BackupError::BadUrl`] for a
    /// URL that does not parse.
    pub async fn run(&self, args: &[OsString], url: &str) -> Result<(), BackupError> {
        let (url, password) = split_password(url)?;
        let mut command = tokio::process::Command::new(&self.path);
        command
            .args(args)
            .arg(format!("--dbname={url}"))
            // Never wait for a password on a terminal.
            .arg("--no-password")
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        if let Some(password) = password {
            command.env("PGPASSWORD", password);
        }
        let failed = |why: String| BackupError::ToolFailed {
            tool: self.name,
            why,
        };
        let out = command
            .output()
            .await
            .map_err(|e| failed(format!("cannot run {}: {e}", self.path.display())))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            return Err(failed(format!("{}: {}", out.status, stderr.trim())));
        }
        Ok(())
    }
}

/// The major version in a tool's `--version` line: `pg_dump (PostgreSQL)
/// 18.3` → 18, `pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)` → 15.
fn major_version(text: &str) -> Option<u32> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let version = words
        .iter()
        .position(|w| *w == "(PostgreSQL)")
        .and_then(|i| words.get(i + 1))
        .or_else(|| {
            words
                .iter()
                .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))
        })?;
    let digits: String = version.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// `url` without its password, and the password (percent-decoded).
fn split_password(url: &str) -> Result<(String, Option<String>), BackupError> {
    let mut parsed = reqwest::Url::parse(url).map_err(|e| BackupError::BadUrl(e.to_string()))?;
    let password = parsed.password().map(percent_decode);
    if password.is_some() {
        parsed
            .set_password(None)
            .map_err(|()| BackupError::BadUrl("it cannot hold a password".into()))?;
    }
    Ok((parsed.to_string(), password))
}

/// `%XX` escapes decoded (invalid ones kept as they are).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_what_the_tools_print() {
        for (text, major) in [
            ("pg_dump (PostgreSQL) 18.3\n", Some(18)),
            (
                "pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n",
                Some(15),
            ),
            ("pg_restore (PostgreSQL) 16beta2\n", Some(16)),
            ("pg_dump 17.1\n", Some(17)),
            ("nonsense\n", None),
        ] {
            assert_eq!(major_version(text), major, "{text}");
        }
    }

    #[test]
    fn the_password_leaves_the_url_for_the_environment() {
        let (url, password) =
            split_password("postgres://hive:s3cr%40t@db.example:5432/hive?sslmode=require")
                .expect("url");
        assert_eq!(url, "postgres://hive@db.example:5432/hive?sslmode=require");
        assert_eq!(password.as_deref(), Some("s3cr@t"));
        let (url, password) = split_password("postgres://hive@db/hive").expect("url");
        assert_eq!((url.as_str(), password), ("postgres://hive@db/hive", None));
        assert!(split_password("not a url").is_err());
    }

    #[test]
    fn a_tool_older_than_the_server_is_refused_and_a_missing_one_named() {
        let tool = PgTool {
            name: "pg_dump",
            path: "/usr/bin/pg_dump".into(),
            major: 15,
        };
        let err = tool.check_against(18).expect_err("older");
        let text = err.to_string();
        assert!(
            text.contains("15") && text.contains("18") && text.contains("--pg-dump"),
            "{text}"
        );
        assert!(tool.check_against(15).is_ok() && tool.check_against(14).is_ok());
        let err =
            PgTool::find("pg_dump", Some(Path::new("/nowhere/pg_dump"))).expect_err("missing");
        assert!(err.to_string().contains("/nowhere/pg_dump"), "{err}");
    }
}
