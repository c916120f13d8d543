//! The file tools' one safety rule: a path a model names must stay inside
//! the agent's workspace — no absolute paths, no `..` that climbs out, no
//! symlink that leads out.

use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// A directory an agent may read and write in.
#[derive(Clone, Debug)]
pub struct Workspace {
    root: PathBuf,
}

impl Workspace {
    /// The workspace at `root`, which must exist.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when it is not a directory.
    pub fn new(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref().canonicalize().map_err(|e| {
            Error::invalid(format!(
                "workspace {} is not usable: {e}",
                root.as_ref().display()
            ))
        })?;
        if !root.is_dir() {
            return Err(Error::invalid(format!(
                "workspace {} is not a directory",
                root.display()
            )));
        }
        Ok(Workspace { root })
    }

    /// The workspace's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where `relative` is, refusing paths that leave the workspace: an
    /// absolute path, `..` above the root, or a symlink (anywhere along the
    /// existing part of the path) pointing outside.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the path.
    pub fn resolve(&self, relative: &str) -> Result<PathBuf> {
        let refuse = |why: &str| {
            Error::invalid(format!("path {relative:?} is outside the workspace: {why}"))
        };
        let path = Path::new(relative);
        if relative.is_empty() {
            return Err(Error::invalid("an empty path names no file"));
        }
        let mut clean = PathBuf::new();
        for part in path.components() {
            match part {
                Component::Normal(p) => clean.push(p),
                Component::CurDir => {}
                Component::ParentDir => {
                    if !clean.pop() {
                        return Err(refuse("it climbs above the workspace"));
                    }
                }
                Component::RootDir | Component::Prefix(_) => {
                    return Err(refuse("absolute paths are not allowed"))
                }
            }
        }
        let full = self.root.join(&clean);
        // The longest existing ancestor, resolved, must still be inside:
        // this catches a symlink inside the workspace pointing out of it.
        let mut existing = full.as_path();
        while !existing.exists() {
            match existing.parent() {
                Some(parent) => existing = parent,
                None => break,
            }
        }
        let real = existing
            .canonicalize()
            .map_err(|e| refuse(&format!("cannot resolve it: {e}")))?;
        if !real.starts_with(&self.root) {
            return Err(refuse("a symlink leads out of it"));
        }
        Ok(full)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside() -> Result<()> {
        let dir = tempfile::tempdir().map_err(|e| Error::invalid(e.to_string()))?;
        let ws = Workspace::new(dir.path())?;
        assert_eq!(ws.resolve("a/b.txt")?, ws.root().join("a/b.txt"));
        assert_eq!(ws.resolve("a/../b.txt")?, ws.root().join("b.txt"));
        for bad in ["../x", "/etc/passwd", "a/../../x", ""] {
            let e = ws.resolve(bad);
            assert!(matches!(e, Err(Error::InvalidInput(_))), "{bad}: {e:?}");
        }
        let outside = tempfile::tempdir().map_err(|e| Error::invalid(e.to_string()))?;
        std::os::unix::fs::symlink(outside.path(), ws.root().join("link"))
            .map_err(|e| Error::invalid(e.to_string()))?;
        let e = ws.resolve("link/secret");
        assert!(
            matches!(&e, Err(Error::InvalidInput(m)) if m.contains("symlink")),
            "{e:?}"
        );
        Ok(())
    }
}
