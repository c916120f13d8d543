//! The broker conformance suite on the embedded SQLite backend, plus what is
//! particular to it: in-memory databases and a file shared by handles.

use std::sync::Arc;

use async_trait::async_trait;
use hive_core::broker::sqlite::SqliteBroker;
use hive_core::broker::{Broker, BrokerConfig};
use hive_core::conformance::broker::BrokerHarness;

/// A fresh database file per test; every `open` is a new handle on it.
struct Sqlite {
    dir: tempfile::TempDir,
}

impl Sqlite {
    fn new() -> Self {
        Sqlite {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }
}

#[async_trait]
impl BrokerHarness for Sqlite {
    async fn open(&self, config: BrokerConfig) -> Arc<dyn Broker> {
        let url = format!("sqlite://{}", self.dir.path().join("hive.db").display());
        Arc::new(
            SqliteBroker::open(&url, config)
                .await
                .expect("open sqlite broker"),
        )
    }
}

mod conformance {
    use super::Sqlite;

    hive_core::broker_conformance_tests!(Some(Sqlite::new()));
}

mod particular {
    use std::time::Duration;

    use hive_core::broker::{
        self, BrokerConfig, BrokerExt, Message, Subscriber, SubscriberOptions, SubscriptionSpec,
    };
    use serde_json::json;

    /// A direct message reaches its addressee only; a broadcast reaches
    /// every agent. Both through `SubscriptionSpec::agent`, on an
    /// in-memory database.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn direct_messages_reach_one_agent_and_broadcasts_all() {
        let b = broker::open("sqlite::memory:", BrokerConfig::default())
            .await
            .expect("open");
        let mut inboxes = Vec::new();
        for agent in ["planner", "coder"] {
            inboxes.push(
                Subscriber::new(
                    b.clone(),
                    SubscriptionSpec::agent(agent).expect("spec"),
                    SubscriberOptions::default(),
                )
                .await
                .expect("subscribe"),
            );
        }
        b.publish(
            Message::direct("coder", "task", json!({"fix": 1}))
                .expect("direct")
                .from_agent("planner"),
        )
        .await
        .expect("publish");
        b.publish(Message::broadcast("shutdown", json!({"in": "5m"})))
            .await
            .expect("publish");
        let mut kinds = Vec::new();
        for inbox in &mut inboxes {
            let mut mine = Vec::new();
            while let Some(d) = inbox
                .next_timeout(Duration::from_millis(300))
                .await
                .expect("next")
            {
                inbox.ack(&d).await.expect("ack");
                mine.push(d.message.kind.clone());
            }
            kinds.push(mine);
        }
        assert_eq!(
            kinds[0],
            ["shutdown"],
            "the planner hears only the broadcast"
        );
        assert_eq!(
            kinds[1],
            ["task", "shutdown"],
            "the coder hears both, in order"
        );
    }
}
