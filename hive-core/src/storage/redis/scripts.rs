//! How the Redis backends declare, load and run their Lua scripts.
//!
//! Every state change is one script, so it is atomic on the server and a
//! dropped call either happened or did not. A backend declares its set with
//! [`script_set!`]: each operation's file in the backend's `lua/` folder,
//! prefixed with its `lua/shared.lua` (Redis scripts cannot import one
//! another). [`load`] hashes them into Redis up front, so the first calls
//! need no NOSCRIPT round trip; [`run`] runs one with EVALSHA, and when the
//! server has forgotten it (a restart without persistence of the script
//! cache, `SCRIPT FLUSH`) fred's `evalsha_with_reload` loads it again and
//! retries once.

use fred::prelude::Client;
use fred::types::scripts::Script;
use fred::types::{Key, Value};

use super::redis_err;
use crate::error::Result;

/// Declares a backend's scripts: a struct with one [`Script`] per
/// operation, its `all()` (to [`load`] them up front), and a static that
/// hashes them once per process. Each script is `lua/shared.lua` followed
/// by `lua/<file>`, both found next to the file that invokes the macro.
///
/// ```text
/// script_set! {
///     /// Every script, hashed once per process.
///     pub(super) static SCRIPTS: Scripts {
///         submit: "submit.lua",
///         claim: "claim.lua",
///     }
/// }
/// ```
macro_rules! script_set {
    (
        $(#[$doc:meta])*
        $vis:vis static $statik:ident: $set:ident {
            $($name:ident: $file:literal),+ $(,)?
        }
    ) => {
        $(#[$doc])*
        $vis struct $set {
            $(pub $name: ::fred::types::scripts::Script,)+
        }

        impl $set {
            /// All of them, to load them up front.
            pub fn all(&self) -> impl Iterator<Item = &::fred::types::scripts::Script> {
                [$(&self.$name),+].into_iter()
            }
        }

        $vis static $statik: ::std::sync::LazyLock<$set> = ::std::sync::LazyLock::new(|| $set {
            // `include_str!` resolves paths from the file that invoked the
            // macro: each backend's own `lua/` folder.
            $($name: ::fred::types::scripts::Script::from_lua(concat!(
                include_str!("lua/shared.lua"),
                include_str!(concat!("lua/", $file))
            )),)+
        });
    };
}
pub(crate) use script_set;

/// Loads `scripts` into the Redis `client` talks to. Scripts are
/// server-wide: one connection loads them for all.
///
/// # Errors
/// [`Error::Backend`](crate::error::Error::Backend) when Redis refuses or
/// cannot be reached.
pub(crate) async fn load<'a>(
    client: &Client,
    scripts: impl IntoIterator<Item = &'a Script>,
) -> Result<()> {
    futures::future::try_join_all(scripts.into_iter().map(|script| script.load(client)))
        .await
        .map_err(redis_err)?;
    Ok(())
}

/// Runs `script` on `client` with `keys`, and `prefix` (the backend's key
/// prefix, which every script reads as ARGV[1]) followed by `args`, loading
/// it again if Redis has forgotten it. Pass a client checked with
/// [`live`](super::live), so a call fails at once while Redis is away.
///
/// # Errors
/// [`Error::Backend`](crate::error::Error::Backend) when the call fails; a
/// call in flight when the connection drops is not resent (a script that
/// ran but whose answer was lost must not run twice).
pub(crate) async fn run(
    client: &Client,
    script: &Script,
    prefix: Value,
    keys: Vec<Key>,
    args: Vec<Value>,
) -> Result<Value> {
    let mut argv = Vec::with_capacity(args.len() + 1);
    argv.push(prefix);
    argv.extend(args);
    script
        .evalsha_with_reload(client, keys, argv)
        .await
        .map_err(redis_err)
}
