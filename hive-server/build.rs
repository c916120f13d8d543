//! Embeds the dashboard's built bundle (`web/dist`, committed, so building
//! the server needs no Node) into the binary: writes `$OUT_DIR/ui_files.rs`,
//! a sorted table of every file's path under `dist/` and its bytes
//! (`include_bytes!`), which `src/ui.rs` serves under `/ui/`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    let dist = manifest.join("web").join("dist");
    // Cargo rescans a directory named here for any change inside it.
    println!("cargo:rerun-if-changed=web/dist");
    let mut files = Vec::new();
    if dist.is_dir() {
        collect(&dist, &dist, &mut files);
    }
    files.sort();
    let mut out = String::from("/// Every file of `web/dist`: its path below it and its bytes.\n");
    out.push_str("pub(crate) static FILES: &[(&str, &[u8])] = &[\n");
    for (rel, abs) in &files {
        writeln!(out, "    ({rel:?}, include_bytes!({abs:?})),").expect("writing to a String");
    }
    out.push_str("];\n");
    let dest =
        PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets it")).join("ui_files.rs");
    std::fs::write(dest, out).expect("writing ui_files.rs");
}

/// Every file below `dir`, as (path relative to `root` with `/`, absolute path).
fn collect(root: &Path, dir: &Path, files: &mut Vec<(String, String)>) {
    let entries = std::fs::read_dir(dir).expect("reading web/dist");
    for entry in entries {
        let path = entry.expect("reading web/dist").path();
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            let rel = path.strip_prefix(root).expect("below dist");
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            files.push((rel, path.to_string_lossy().into_owned()));
        }
    }
}
