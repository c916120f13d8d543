//! Cross-origin requests from browsers. Off unless origins are configured:
//! a server that names none sends no CORS headers at all, so a page on
//! another origin cannot read its answers. With origins, tower-http's
//! `CorsLayer` answers preflights (`OPTIONS`) itself, before the token is
//! checked, because a browser never sends `Authorization` on a preflight.

use std::fmt;

use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::hygiene::REQUEST_ID;

/// Which browser origins may call the API.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CorsOrigins {
    /// No CORS headers (the default).
    #[default]
    Off,
    /// Any origin (`*`).
    Any,
    /// Exactly these origins, e.g. `https://app.example.com`.
    List(Vec<HeaderValue>),
}

impl CorsOrigins {
    /// Reads a list of origins: empty is [`CorsOrigins::Off`], `*` alone is
    /// [`CorsOrigins::Any`], anything else must be `scheme://host[:port]`
    /// as a browser sends it in `Origin` (no path, no trailing slash).
    ///
    /// # Errors
    ///
    /// Names the first origin that is not one, or a `*` among others.
    pub fn from_list<'a>(origins: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let origins: Vec<&str> = origins
            .into_iter()
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .collect();
        match origins.as_slice() {
            [] => Ok(CorsOrigins::Off),
            ["*"] => Ok(CorsOrigins::Any),
            _ => origins
                .iter()
                .map(|o| origin(o))
                .collect::<Result<_, _>>()
                .map(CorsOrigins::List),
        }
    }

    /// Reads a comma-separated list (the flag and environment form).
    ///
    /// # Errors
    ///
    /// As [`CorsOrigins::from_list`].
    pub fn parse(list: &str) -> Result<Self, String> {
        Self::from_list(list.split(','))
    }

    /// The layer that applies it; `None` when off.
    pub(crate) fn layer(&self) -> Option<CorsLayer> {
        let allow = match self {
            CorsOrigins::Off => return None,
            CorsOrigins::Any => AllowOrigin::any(),
            CorsOrigins::List(origins) => AllowOrigin::list(origins.iter().cloned()),
        };
        let request_id = HeaderName::from_static(REQUEST_ID);
        Some(
            CorsLayer::new()
                .allow_origin(allow)
                .allow_methods([Method::GET, Method::POST, Method::DELETE])
                .allow_headers([AUTHORIZATION, CONTENT_TYPE, request_id.clone()])
                // So a page can show the id of a failed request.
                .expose_headers([request_id]),
        )
    }
}

impl fmt::Display for CorsOrigins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CorsOrigins::Off => f.write_str("off"),
            CorsOrigins::Any => f.write_str("*"),
            CorsOrigins::List(origins) => {
                let names: Vec<&str> = origins.iter().filter_map(|o| o.to_str().ok()).collect();
                f.write_str(&names.join(","))
            }
        }
    }
}

/// One origin, checked for the shape browsers send.
fn origin(text: &str) -> Result<HeaderValue, String> {
    let refuse = |why: &str| Err(format!("{text:?} is not an origin: {why}"));
    if text == "*" {
        return refuse("`*` allows every origin and cannot be combined with others");
    }
    let Some((scheme, host)) = text.split_once("://") else {
        return refuse("expected scheme://host[:port], e.g. https://app.example.com");
    };
    if scheme != "http" && scheme != "https" {
        return refuse("the scheme must be http or https");
    }
    if host.is_empty() || host.contains(['/', '?', '#', '*']) {
        return refuse("expected scheme://host[:port] with no path or trailing slash");
    }
    HeaderValue::from_str(text).or_else(|_| refuse("it is not a valid header value"))
}

#[cfg(test)]
mod tests {
    use super::CorsOrigins;

    #[test]
    fn lists_read_as_off_any_or_exact_origins() {
        assert_eq!(CorsOrigins::parse(""), Ok(CorsOrigins::Off));
        assert_eq!(CorsOrigins::parse(" * "), Ok(CorsOrigins::Any));
        let two = CorsOrigins::parse("https://a.example, http://localhost:5173").expect("two");
        assert_eq!(two.to_string(), "https://a.example,http://localhost:5173");
    }

    #[test]
    fn what_is_not_an_origin_is_refused_by_name() {
        for (list, why) in [
            ("https://a.example/", "no path or trailing slash"),
            ("a.example", "scheme://host"),
            ("ftp://a.example", "http or https"),
            ("https://a.example,*", "cannot be combined"),
            ("https://", "no path"),
        ] {
            let err = CorsOrigins::parse(list).expect_err(list);
            assert!(err.contains(why), "{list}: {err}");
        }
    }
}
