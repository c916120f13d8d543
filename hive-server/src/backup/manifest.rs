//! `manifest.json`, the last file a backup writes and the first a restore
//! reads: what the backup holds (each file's size and SHA-256, the schema of
//! each store, the Agent Hive that took it), so a restore can refuse a
//! backup that is incomplete, damaged or newer than itself before it
//! writes anything.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use hive_core::storage::schema::SchemaSet;

use super::BackupError;

/// The manifest's file name in a backup directory.
pub const MANIFEST: &str = "manifest.json";

/// What the manifest's `format` says: this is an Agent Hive backup.
pub const FORMAT: &str = "agent-hive-backup";

/// The manifest format this build writes and reads. A change that an older
/// reader would misread gets a new number.
pub const FORMAT_VERSION: u32 = 1;

/// A backup's manifest.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// [`FORMAT_VERSION`] when this build wrote it.
    pub format_version: u32,
    /// When the backup was taken (when the copy's snapshot began, near
    /// enough: the copies start right after).
    pub created_at: DateTime<Utc>,
    /// The version of the `hive` that took it.
    pub hive_version: String,
    /// The migrations each copied store had applied, by schema set name
    /// (`embedded`, `postgres`, `postgres_context`).
    pub schema: BTreeMap<String, Vec<i64>>,
    /// What was not copied and why: Redis, which keeps its own
    /// persistence. `None` when the hive does not use Redis.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<String>,
    /// Every file of the backup.
    pub files: Vec<FileEntry>,
}

/// One file of a backup.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Its name in the backup directory (a plain name, no directories).
    pub name: String,
    /// Which store it copies: `embedded` (a SQLite file) or `postgres` (a
    /// `pg_dump -Fc` archive).
    pub store: Store,
    /// Its size in bytes.
    pub bytes: u64,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
}

/// A store a backup file copies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Store {
    /// The embedded SQLite file.
    Embedded,
    /// The Postgres database.
    Postgres,
}

impl Store {
    /// How messages name it.
    pub fn noun(self) -> &'static str {
        match self {
            Store::Embedded => "the embedded file",
            Store::Postgres => "the Postgres dump",
        }
    }
}

impl Manifest {
    /// A manifest for a backup taken now by this build.
    pub fn new(created_at: DateTime<Utc>) -> Self {
        Manifest {
            format: FORMAT.into(),
            format_version: FORMAT_VERSION,
            created_at,
            hive_version: env!("CARGO_PKG_VERSION").into(),
            schema: BTreeMap::new(),
            redis: None,
            files: Vec::new(),
        }
    }

    /// Adds `name` in `dir` as the copy of `store`, with its size and hash.
    ///
    /// # Errors
    /// [`BackupError::Io`] when it cannot be read.
    pub fn add_file(&mut self, dir: &Path, name: &str, store: Store) -> Result<(), BackupError> {
        let (bytes, sha256) = digest(&dir.join(name))?;
        self.files.push(FileEntry {
            name: name.into(),
            store,
            bytes,
            sha256,
        });
        Ok(())
    }

    /// The entry of the file that copies `store`, if the backup has one.
    pub fn file_of(&self, store: Store) -> Option<&FileEntry> {
        self.files.iter().find(|f| f.store == store)
    }

    /// Reads `dir`'s manifest and checks that this build can read it and
    /// restore its schema: nothing more is trusted before this passes.
    ///
    /// # Errors
    /// [`BackupError::Manifest`] for a missing, unreadable or unknown
    /// manifest, or a file name with a directory in it;
    /// [`BackupError::NewerBackup`] for a schema this build does not have.
    pub fn read(dir: &Path) -> Result<Manifest, BackupError> {
        let path = dir.join(MANIFEST);
        let bad = |why: String| BackupError::Manifest {
            path: path.clone(),
            why,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            bad(if e.kind() == std::io::ErrorKind::NotFound {
                "it is missing: this is not a backup, or one that did not finish".into()
            } else {
                e.to_string()
            })
        })?;
        let value: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(format!("it is not JSON: {e}")))?;
        if value["format"] != FORMAT {
            return Err(bad(format!("its format is not {FORMAT:?}")));
        }
        if value["format_version"] != FORMAT_VERSION {
            return Err(bad(format!(
                "it has format version {}, and this binary reads version {FORMAT_VERSION}: \
                 restore it with the Agent Hive that took it",
                value["format_version"]
            )));
        }
        let manifest: Manifest =
            serde_json::from_value(value).map_err(|e| bad(format!("it is malformed: {e}")))?;
        for file in &manifest.files {
            let plain = Path::new(&file.name)
                .file_name()
                .is_some_and(|n| n == file.name.as_str());
            if !plain {
                return Err(bad(format!(
                    "the file name {:?} is not a plain name",
                    file.name
                )));
            }
        }
        manifest.refuse_newer_schema()?;
        Ok(manifest)
    }

    /// Refuses a backup that holds a schema set or a migration this build
    /// does not have.
    fn refuse_newer_schema(&self) -> Result<(), BackupError> {
        for (name, applied) in &self.schema {
            let newer = |found: i64, known: i64| BackupError::NewerBackup {
                hive_version: self.hive_version.clone(),
                set: name.clone(),
                found,
                known,
            };
            let Some(set) = SchemaSet::from_name(name) else {
                return Err(newer(applied.iter().copied().max().unwrap_or(0), 0));
            };
            let known: Vec<i64> = set.migrations().iter().map(|m| m.version).collect();
            if let Some(found) = applied.iter().copied().filter(|v| !known.contains(v)).max() {
                return Err(newer(found, set.newest()));
            }
        }
        Ok(())
    }

    /// Checks every file in `dir` against the manifest: present, of the
    /// size and the SHA-256 it records.
    ///
    /// # Errors
    /// [`BackupError::Damaged`] naming the first file that is missing or
    /// differs.
    pub fn verify(&self, dir: &Path) -> Result<(), BackupError> {
        for file in &self.files {
            let path = dir.join(&file.name);
            let damaged = |why: String| BackupError::Damaged {
                file: path.clone(),
                why,
            };
            let size = match std::fs::metadata(&path) {
                Ok(meta) => meta.len(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(damaged("it is missing".into()))
                }
                Err(e) => return Err(damaged(e.to_string())),
            };
            if size != file.bytes {
                return Err(damaged(format!(
                    "it has {size} bytes, the manifest says {}",
                    file.bytes
                )));
            }
            let (_, sha256) = digest(&path)?;
            if sha256 != file.sha256 {
                return Err(damaged(format!(
                    "its SHA-256 is {sha256}, the manifest says {}",
                    file.sha256
                )));
            }
        }
        Ok(())
    }
}

/// The size and SHA-256 (lowercase hex) of the file at `path`, read once.
///
/// # Errors
/// [`BackupError::Io`] when it cannot be read.
pub fn digest(path: &Path) -> Result<(u64, String), BackupError> {
    let io = |source| BackupError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    let hex = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok((bytes, hex))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backup_dir() -> (tempfile::TempDir, Manifest) {
        let dir = tempfile::tempdir().expect("dir");
        std::fs::write(dir.path().join("hive.db"), b"not really a database").expect("write");
        let mut manifest = Manifest::new(Utc::now());
        manifest
            .add_file(dir.path(), "hive.db", Store::Embedded)
            .expect("add");
        manifest.schema.insert(
            "embedded".into(),
            SchemaSet::Embedded
                .migrations()
                .iter()
                .map(|m| m.version)
                .collect(),
        );
        let text = serde_json::to_string(&manifest).expect("json");
        std::fs::write(dir.path().join(MANIFEST), text).expect("write");
        (dir, manifest)
    }

    #[test]
    fn a_manifest_reads_back_as_written_and_verifies() {
        let (dir, manifest) = backup_dir();
        let read = Manifest::read(dir.path()).expect("read");
        assert_eq!(read, manifest);
        assert_eq!(read.files[0].bytes, 21);
        let sha = &read.files[0].sha256;
        assert!(
            sha.len() == 64 && sha.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')),
            "{sha}"
        );
        read.verify(dir.path()).expect("verify");
    }

    #[test]
    fn the_sha256_is_the_standard_one() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").expect("write");
        assert_eq!(
            digest(&path).expect("digest"),
            (
                3,
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".to_string()
            )
        );
    }

    #[test]
    fn a_damaged_or_unknown_backup_is_refused_by_name() {
        let (dir, mut manifest) = backup_dir();
        std::fs::write(dir.path().join("hive.db"), b"not really a databasf").expect("write");
        let err = manifest.verify(dir.path()).expect_err("flipped");
        assert!(
            err.to_string().contains("hive.db") && err.to_string().contains("SHA-256"),
            "{err}"
        );

        manifest.files[0].name = "../hive.db".into();
        std::fs::write(
            dir.path().join(MANIFEST),
            serde_json::to_string(&manifest).expect("json"),
        )
        .expect("write");
        let err = Manifest::read(dir.path()).expect_err("not plain");
        assert!(err.to_string().contains("not a plain name"), "{err}");

        manifest.files[0].name = "hive.db".into();
        manifest.schema.insert("embedded".into(), vec![1, 9999]);
        std::fs::write(
            dir.path().join(MANIFEST),
            serde_json::to_string(&manifest).expect("json"),
        )
        .expect("write");
        let err = Manifest::read(dir.path()).expect_err("newer");
        assert!(
            matches!(err, BackupError::NewerBackup { found: 9999, .. }),
            "{err}"
        );

        std::fs::write(
            dir.path().join(MANIFEST),
            r#"{"format":"agent-hive-backup","format_version":2}"#,
        )
        .expect("write");
        let err = Manifest::read(dir.path()).expect_err("format");
        assert!(err.to_string().contains("format version 2"), "{err}");
        std::fs::remove_file(dir.path().join(MANIFEST)).expect("rm");
        let err = Manifest::read(dir.path()).expect_err("missing");
        assert!(err.to_string().contains("missing"), "{err}");
    }
}
