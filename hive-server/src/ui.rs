//! The dashboard's files under `/ui/`: the bundle built from `web/` (Lit +
//! Vite), embedded in the binary by `build.rs`, so `hive serve` shows the
//! dashboard on a machine without Node. `/` and `/ui` redirect to `/ui/`;
//! the REST paths stay at the root and never collide with the app's.
//!
//! Caching: Vite names the files under `assets/` by their content's hash,
//! so they are `immutable`; everything else (`index.html`, the service
//! worker, the manifest, icons) is `no-cache` with an `ETag`, so a new
//! build is seen on the next load and an unchanged one costs a 304.
//!
//! For developing the dashboard, [`AppState::ui_dir`] (`HIVE_UI_DIR`)
//! serves the files from a directory instead, read on each request.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Component, Path};
use std::sync::OnceLock;

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, IF_NONE_MATCH, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::error::ApiError;
use crate::AppState;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/ui_files.rs"));
}

/// Where the dashboard is served.
pub const PREFIX: &str = "/ui/";

/// The dashboard's routes; open without a token (`auth.rs`): the app holds
/// no data, and asks for the token itself.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(to_dashboard))
        .route("/ui", get(to_dashboard))
        .route("/ui/", get(index))
        .route("/ui/{*path}", get(file))
}

/// Whether `path` belongs to the dashboard (and so needs no token).
pub(crate) fn is_ui(path: &str) -> bool {
    path == "/" || path == "/ui" || path.starts_with(PREFIX)
}

async fn to_dashboard() -> Response {
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(LOCATION, HeaderValue::from_static(PREFIX))],
    )
        .into_response()
}

async fn index(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    serve(&state, &headers, "index.html")
}

async fn file(
    State(state): State<AppState>,
    headers: HeaderMap,
    UrlPath(path): UrlPath<String>,
) -> Result<Response, ApiError> {
    serve(&state, &headers, &path)
}

/// The file at `path` below the bundle, with its caching headers; a 304
/// when the client's `If-None-Match` is its ETag.
fn serve(state: &AppState, headers: &HeaderMap, path: &str) -> Result<Response, ApiError> {
    let (body, etag) = match state.ui_dir.as_deref() {
        Some(dir) => {
            let bytes = from_dir(dir, path).ok_or(ApiError::NoRoute)?;
            let tag = etag(&bytes);
            (Body::from(bytes), Cow::Owned(tag))
        }
        None => {
            let (bytes, tag) = embedded_file(path).ok_or(ApiError::NoRoute)?;
            (Body::from(bytes), Cow::Borrowed(tag))
        }
    };
    let cache = if path.starts_with("assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = if headers
        .get(IF_NONE_MATCH)
        .is_some_and(|seen| seen.as_bytes() == etag.as_bytes())
    {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        ([(CONTENT_TYPE, content_type(path))], body).into_response()
    };
    let headers = response.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(value) = HeaderValue::from_str(&etag) {
        headers.insert(ETAG, value);
    }
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// The embedded file at `path` below `dist/`, with its ETag (each hashed
/// once, when the first file is asked for).
fn embedded_file(path: &str) -> Option<(&'static [u8], &'static str)> {
    static INDEX: OnceLock<HashMap<&'static str, (&'static [u8], String)>> = OnceLock::new();
    INDEX
        .get_or_init(|| {
            embedded::FILES
                .iter()
                .map(|&(path, bytes)| (path, (bytes, etag(bytes))))
                .collect()
        })
        .get(path)
        .map(|(bytes, tag)| (*bytes, tag.as_str()))
}

/// How many files the binary embeds (none when `web/dist` was missing at
/// build time).
pub fn embedded_files() -> usize {
    embedded::FILES.len()
}

/// The file at `path` below `dir`, refusing anything but plain names (no
/// `..`, no absolute paths), so nothing outside `dir` is served.
fn from_dir(dir: &Path, path: &str) -> Option<Vec<u8>> {
    let relative = Path::new(path);
    if !relative
        .components()
        .all(|c| matches!(c, Component::Normal(_)))
    {
        return None;
    }
    std::fs::read(dir.join(relative)).ok()
}

/// A strong validator: FNV-1a of the bytes.
fn etag(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("\"{hash:016x}\"")
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("webmanifest") => "application/manifest+json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_paths_are_read_from_a_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("index.html"), "hi").expect("write");
        assert_eq!(
            from_dir(dir.path(), "index.html").as_deref(),
            Some(&b"hi"[..])
        );
        for bad in ["../index.html", "/etc/passwd", "a/../../x", ""] {
            assert_eq!(from_dir(dir.path(), bad), None, "{bad}");
        }
    }

    #[test]
    fn types_follow_the_extension() {
        for (path, want) in [
            ("index.html", "text/html; charset=utf-8"),
            ("assets/index-abc.js", "text/javascript; charset=utf-8"),
            ("manifest.webmanifest", "application/manifest+json"),
            ("icons/icon-192.png", "image/png"),
            ("noext", "application/octet-stream"),
        ] {
            assert_eq!(content_type(path), want, "{path}");
        }
    }

    #[test]
    fn etags_differ_with_the_content() {
        assert_eq!(etag(b"a"), etag(b"a"));
        assert_ne!(etag(b"a"), etag(b"b"));
    }
}
