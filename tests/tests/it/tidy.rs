//! House rules that a reviewer should not have to check by eye.
//!
//! Every Rust file opens with a `//!` paragraph saying why it exists
//! (STYLE.md, point 1), and library code never calls `.unwrap()`. Every
//! contract clause names its conformance tests ([`contracts`]), and the
//! rooms of hive-core import only the rooms below them ([`layers`]).

mod contracts;
mod layers;

use std::path::{Path, PathBuf};

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if !matches!(
                name.as_ref(),
                "target" | ".git" | ".hive" | "node_modules" | ".venv"
            ) {
                rust_files(&path, out);
            }
        } else if name.ends_with(".rs") {
            out.push(path);
        }
    }
}

fn all_rust_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    rust_files(&workspace_root(), &mut files);
    assert!(files.len() > 10, "found only {} Rust files", files.len());
    files
}

#[test]
fn every_rust_file_says_why_it_exists() {
    let missing: Vec<String> = all_rust_files()
        .into_iter()
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            !first.starts_with("//!")
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` header: {missing:#?}"
    );
}

#[test]
fn library_code_does_not_unwrap() {
    let offenders: Vec<String> = all_rust_files()
        .into_iter()
        .filter(|p| {
            let s = p.to_string_lossy();
            s.contains("/src/") && !s.contains("/conformance/") && !s.contains("/bin/")
        })
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            // Unit tests at the bottom of a file may unwrap.
            let library = text.split("#[cfg(test)]").next().unwrap_or("");
            library.contains(".unwrap()")
        })
        .map(|p| p.display().to_string())
        .collect();
    assert!(
        offenders.is_empty(),
        "library code calls .unwrap(): {offenders:#?}"
    );
}
