//! `hive events`: the event feed, a page of `GET /events` at a time; with
//! `--follow` it keeps polling for new events until interrupted, like
//! `tail -f`. Each page continues from the previous page's `next`, so
//! nothing is printed twice or skipped while the log retains it.

use std::time::Duration;

use super::output::{self, Out};
use super::{encode, exit};
use crate::client::{ApiClient, ClientError};

/// The flags of `hive events`.
#[derive(clap::Args, Debug)]
pub(crate) struct EventsArgs {
    /// Only these kinds, comma-separated patterns (task, task.*,
    /// agent.status, *).
    #[arg(long)]
    topics: Option<String>,
    /// Events after this number [default: 0, the oldest retained; with
    /// --follow and no --after, only new ones].
    #[arg(long)]
    after: Option<u64>,
    /// At most this many per page (1 to 1000).
    #[arg(long, default_value_t = 100)]
    limit: usize,
    /// Keeps reading new events until interrupted.
    #[arg(long, short = 'f')]
    follow: bool,
}

/// How often `--follow` asks for new events when it is caught up.
const POLL: Duration = Duration::from_millis(500);

pub(crate) async fn run(
    client: &ApiClient,
    out: &Out,
    args: EventsArgs,
) -> Result<i32, ClientError> {
    let topics = args
        .topics
        .as_deref()
        .map(|t| format!("&topics={}", encode(t)))
        .unwrap_or_default();
    let mut after = match (args.after, args.follow) {
        (Some(a), _) => a,
        (None, false) => 0,
        // Following without a start: from now on.
        (None, true) => {
            let head = client.get("/events?limit=1").await?;
            head.value["seq"].as_u64().unwrap_or(0)
        }
    };
    loop {
        let page = client
            .get(&format!(
                "/events?after={after}&limit={}{topics}",
                args.limit
            ))
            .await?;
        let next = page.value["next"].as_u64().unwrap_or(after);
        for e in page.value["events"].as_array().into_iter().flatten() {
            if out.json {
                // One event a line (JSON Lines): the server's event object.
                out.line(&e.to_string());
            } else {
                out.line(&format!(
                    "{:>6}  {}  {:<20}  {:<38}  {}",
                    output::text(&e["seq"]),
                    output::time(&e["at"]),
                    output::text(&e["kind"]),
                    output::text(&e["subject"]),
                    e["data"]
                ));
            }
        }
        let caught_up = next == after;
        after = next;
        if caught_up {
            if !args.follow {
                return Ok(exit::OK);
            }
            tokio::time::sleep(POLL).await;
        }
    }
}
