//! Agents run by the orchestrator through the `Hive` facade, on the
//! embedded default and on Redis + Postgres: capability routing, load
//! preference, tasks no agent can take, graceful shutdown, sessions,
//! restarts, tools, context, the errors a user meets first, and agents
//! registered by hand that run elsewhere and claim their work as
//! themselves (`Hive::claim_as_agent`).
//!
//! The distributed variants need `HIVE_TEST_REDIS_URL` and
//! `HIVE_TEST_DATABASE_URL` (set by `./scripts/test`); each test has a
//! Postgres schema and a queue of its own.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hive_core::agent::{
    agent_fn, tool_fn, AgentFilter, AgentId, AgentSpec, AgentStatus, OrchestratorConfig,
    RemoteClaim, SpawnOptions, Waiting,
};
use hive_core::broker::BrokerExt;
use hive_core::conformance::{service_url, unique_name};
use hive_core::context::NewEntry;
use hive_core::events::{EventFilter, Watch};
use hive_core::hive::HiveBuilder;
use hive_core::queue::{NewTask, QueueConfig, QueueExt, TaskFailure, TaskStatus};
use hive_core::session::NewSession;
use hive_core::{Error, Hive};
use serde_json::{json, Value};

use crate::pg_schema::TestSchema;

/// Where a test's hive keeps its state.
pub enum Place {
    Embedded(tempfile::TempDir),
    Distributed { redis: String, schema: TestSchema },
}

impl Place {
    fn embedded() -> Option<Place> {
        tempfile::tempdir().ok().map(Place::Embedded)
    }

    async fn distributed() -> Option<Place> {
        let redis = service_url("HIVE_TEST_REDIS_URL")?;
        let schema = TestSchema::create("fleet").await?;
        Some(Place::Distributed { redis, schema })
    }

    /// A builder on this place with fast heartbeats and polling, and no
    /// context engine (the context test adds it back).
    fn builder(&self, queue: &str) -> HiveBuilder {
        let b = Hive::builder()
            .queue_config(QueueConfig::named(queue))
            .orchestrator_config(OrchestratorConfig {
                liveness: hive_core::agent::Liveness::every(Duration::from_millis(200)),
                poll_interval: Duration::from_millis(20),
                reap_interval: Duration::from_millis(50),
                shutdown_grace: Duration::from_secs(5),
                ..OrchestratorConfig::default()
            })
            .without_context();
        match self {
            Place::Embedded(dir) => b.embedded(dir.path().join("hive.db")),
            Place::Distributed { redis, schema } => b.redis(redis).postgres(schema.url()),
        }
    }

    async fn hive(&self, queue: &str) -> Hive {
        self.builder(queue).build().await.expect("build hive")
    }

    async fn finish(self) {
        if let Place::Distributed { schema, .. } = self {
            schema.drop_schema().await;
        }
    }
}

/// Which agent ran each task, by task type.
type Log = Arc<Mutex<Vec<(String, String, Vec<String>)>>>;

fn logging_agent(name: &str, caps: &[&str], log: &Log) -> hive_core::agent::AgentFn {
    let log = log.clone();
    let me = name.to_string();
    agent_fn(name, caps.iter().copied(), move |task, _cx| {
        let log = log.clone();
        let me = me.clone();
        async move {
            log.lock().expect("log").push((
                task.task_type.clone(),
                me.clone(),
                task.capabilities.clone(),
            ));
            if let Some(ms) = task.payload["sleep_ms"].as_u64() {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            Ok(json!({ "by": me }))
        }
    })
}

async fn wait_all(hive: &Hive, ids: &[hive_core::queue::TaskId]) -> Vec<hive_core::queue::Task> {
    let mut done = Vec::new();
    for id in ids {
        done.push(
            hive.queue()
                .wait_until_final(*id, Duration::from_secs(30))
                .await
                .expect("task ends"),
        );
    }
    done
}

pub async fn capability_routing_never_picks_an_agent_lacking_one(place: &Place) {
    let p = unique_name("route");
    let hive = place.hive(&p).await;
    let log = Log::default();
    let agents = [
        (format!("{p}-x"), vec!["x"]),
        (format!("{p}-xy"), vec!["x", "y"]),
        (format!("{p}-y"), vec!["y"]),
    ];
    let mut held = BTreeMap::new();
    for (name, caps) in &agents {
        let h = hive
            .spawn_agent_with(
                logging_agent(name, caps, &log),
                SpawnOptions::default().concurrency(2),
            )
            .await
            .expect("spawn");
        held.insert(name.clone(), (h.id, caps.clone()));
    }
    let needs: [&[&str]; 4] = [&["x"], &["y"], &["x", "y"], &[]];
    let mut ids = Vec::new();
    for i in 0..24 {
        let need = needs[i % needs.len()];
        let t = hive
            .submit(
                NewTask::new(format!("t{i}"), json!({ "sleep_ms": 5 }))
                    .requires(need.iter().copied()),
            )
            .await
            .expect("submit");
        ids.push(t.id);
    }
    let done = wait_all(&hive, &ids).await;
    for task in &done {
        assert_eq!(task.status, TaskStatus::Completed, "{task:?}");
        let by = task
            .result
            .as_ref()
            .and_then(|r| r["by"].as_str())
            .expect("by");
        let (id, caps) = &held[by];
        assert!(
            task.capabilities.iter().all(|c| caps.contains(&c.as_str())),
            "{by} with {caps:?} ran {:?} needing {:?}",
            task.task_type,
            task.capabilities
        );
        assert_eq!(task.worker.as_deref(), Some(id.worker_id().as_str()));
    }
    let xy_only = done
        .iter()
        .filter(|t| t.capabilities.len() == 2)
        .all(|t| t.result.as_ref().map(|r| r["by"] == format!("{p}-xy")) == Some(true));
    assert!(
        xy_only,
        "tasks needing x and y ran only on the agent with both"
    );
    hive.shutdown().await;
}

pub async fn idle_agents_are_preferred_over_busy_ones(place: &Place) {
    let p = unique_name("load");
    let hive = place.hive(&p).await;
    let log = Log::default();
    // Same capabilities, two slots each; names fix the tie-break: "a" first.
    for name in [format!("{p}-a"), format!("{p}-b")] {
        hive.spawn_agent_with(
            logging_agent(&name, &["w"], &log),
            SpawnOptions::default().concurrency(2),
        )
        .await
        .expect("spawn");
    }
    let first = hive
        .submit(NewTask::new("long", json!({ "sleep_ms": 3000 })).requires(["w"]))
        .await
        .expect("submit");
    wait_for(|| log.lock().expect("log").len() == 1).await;
    // "a" is now running one task, "b" none: the next task goes to "b",
    // although "a" still has a free slot and sorts first by name.
    let second = hive
        .submit(NewTask::new("short", json!({})).requires(["w"]))
        .await
        .expect("submit");
    let done = wait_all(&hive, &[second.id]).await;
    let by = |t: &hive_core::queue::Task| t.result.as_ref().map(|r| r["by"].clone());
    assert_eq!(by(&done[0]), Some(json!(format!("{p}-b"))));
    let long = wait_all(&hive, &[first.id]).await;
    assert_eq!(by(&long[0]), Some(json!(format!("{p}-a"))));
    hive.shutdown().await;
}

pub async fn a_task_no_agent_can_take_stays_pending_and_says_why(place: &Place) {
    let p = unique_name("why");
    let hive = place.hive(&p).await;
    let log = Log::default();
    hive.spawn_agent(logging_agent(&format!("{p}-plain"), &["plain"], &log))
        .await
        .expect("spawn");
    let t = hive
        .submit(NewTask::new("solve", json!({})).requires(["quantum"]))
        .await
        .expect("submit");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        hive.queue().get(t.id).await.expect("get").status,
        TaskStatus::Pending
    );
    let why = hive.why_waiting(t.id).await.expect("why");
    assert_eq!(
        why,
        Waiting::NoCapableAgent {
            required: vec!["quantum".into()]
        }
    );
    assert!(why.to_string().contains("quantum"), "{why}");
    hive.spawn_agent(logging_agent(&format!("{p}-q"), &["quantum"], &log))
        .await
        .expect("spawn");
    let done = wait_all(&hive, &[t.id]).await;
    assert_eq!(done[0].status, TaskStatus::Completed);
    assert_eq!(
        hive.why_waiting(t.id).await.expect("why"),
        Waiting::NotWaiting(TaskStatus::Completed)
    );
    hive.shutdown().await;
}

pub async fn graceful_shutdown_leaves_no_task_leased(place: &Place) {
    let p = unique_name("drain");
    let hive = place
        .builder(&p)
        .orchestrator_config(OrchestratorConfig {
            shutdown_grace: Duration::from_millis(300),
            poll_interval: Duration::from_millis(20),
            ..OrchestratorConfig::default()
        })
        .build()
        .await
        .expect("build");
    let log = Log::default();
    hive.spawn_agent_with(
        logging_agent(&format!("{p}-a"), &["w"], &log),
        SpawnOptions::default().concurrency(3),
    )
    .await
    .expect("spawn");
    let mut ids = Vec::new();
    // Two quick tasks finish within the grace period; three hang past it.
    for ms in [10, 10, 60_000, 60_000, 60_000] {
        let t = hive
            .submit(NewTask::new("job", json!({ "sleep_ms": ms })).requires(["w"]))
            .await
            .expect("submit");
        ids.push(t.id);
    }
    wait_for(|| log.lock().expect("log").len() == 5).await;
    let queue = hive.queue().clone();
    let registry = hive.registry().clone();
    let report = hive.shutdown().await;
    assert_eq!(report.agents, 1);
    assert_eq!(report.tasks.completed, 2);
    assert_eq!(report.tasks.released, 3);
    let stats = queue.stats().await.expect("stats");
    assert_eq!(
        stats.get(TaskStatus::Assigned) + stats.get(TaskStatus::InProgress),
        0
    );
    assert_eq!(
        stats.get(TaskStatus::Pending),
        3,
        "the hung tasks are pending again"
    );
    let agents = registry.list(&AgentFilter::any()).await.expect("list");
    assert!(agents.iter().all(|a| a.status == AgentStatus::Stopped));
    assert_eq!(
        agents[0].metadata["concurrency"], 3,
        "the registry shows the concurrency the agent was spawned with"
    );
}

pub async fn sessions_record_conversations(place: &Place) {
    let p = unique_name("talk");
    let hive = place.hive(&p).await;
    let (ping, pong) = (format!("{p}-ping"), format!("{p}-pong"));
    let session = hive
        .create_session(NewSession::new(format!("{p} chat")).agents([ping.clone(), pong.clone()]))
        .await
        .expect("session");
    let sid = session.id;
    let to = pong.clone();
    hive.spawn_agent(agent_fn(&ping, ["ping"], move |task, cx| {
        let to = to.clone();
        async move {
            cx.in_session(sid)
                .send_message(&to, "ping", task.payload.clone())
                .await
                .map_err(|e| hive_core::queue::TaskFailure::retryable(e.to_string()))?;
            Ok(json!("sent"))
        }
    }))
    .await
    .expect("spawn ping");
    let back = ping.clone();
    hive.spawn_agent(
        agent_fn(&pong, ["pong"], |_t, _cx| async move { Ok(Value::Null) }).on_message(
            move |delivery, cx| {
                let back = back.clone();
                async move {
                    // The session travels with the message: this reply is
                    // recorded in it without the handler naming it.
                    assert!(cx.session().is_some());
                    cx.send_message(&back, "pong", json!({ "got": delivery.message.payload }))
                        .await
                        .map(|_| ())
                        .map_err(|e| hive_core::queue::TaskFailure::retryable(e.to_string()))
                }
            },
        ),
    )
    .await
    .expect("spawn pong");
    let t = hive
        .submit(NewTask::new("start", json!({ "n": 1 })).requires(["ping"]))
        .await
        .expect("submit");
    wait_all(&hive, &[t.id]).await;
    let sessions = hive.sessions().clone();
    let mut entries = Vec::new();
    for _ in 0..200 {
        entries = sessions
            .conversation(sid, 0, 100)
            .await
            .expect("conversation");
        if entries.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(entries.len(), 2, "{entries:?}");
    assert_eq!(
        (
            entries[0].from_agent.as_str(),
            entries[0].to_agent.as_deref()
        ),
        (ping.as_str(), Some(pong.as_str()))
    );
    assert_eq!(entries[0].content["payload"], json!({ "n": 1 }));
    assert_eq!(
        (
            entries[1].from_agent.as_str(),
            entries[1].to_agent.as_deref()
        ),
        (pong.as_str(), Some(ping.as_str()))
    );
    assert_eq!(entries[1].content["payload"]["got"], json!({ "n": 1 }));
    let closed = sessions.close(sid).await.expect("close");
    assert_eq!(sessions.get(sid).await.expect("get"), closed);
    assert_eq!(
        sessions
            .conversation(sid, 0, 100)
            .await
            .expect("read back")
            .len(),
        2
    );
    hive.shutdown().await;
}

pub async fn bad_input_gets_clear_errors(place: &Place) {
    let p = unique_name("bad");
    let hive = place.hive(&p).await;
    let noop = |name: &str, caps: &[&str]| {
        agent_fn(name, caps.iter().copied(), |_t, _cx| async move {
            Ok(Value::Null)
        })
    };
    let none: &[&str] = &[];
    let e = hive.spawn_agent(noop(&format!("{p}-none"), none)).await;
    assert!(
        matches!(&e, Err(Error::InvalidInput(m)) if m.contains("capabilit")),
        "{e:?}"
    );
    hive.spawn_agent(noop(&format!("{p}-a"), &["w"]))
        .await
        .expect("spawn");
    let e = hive.spawn_agent(noop(&format!("{p}-a"), &["w"])).await;
    assert!(
        matches!(&e, Err(Error::Conflict(m)) if m.contains(&format!("{p}-a"))),
        "{e:?}"
    );
    let e = hive
        .spawn_agent_with(
            noop(&format!("{p}-zero"), &["w"]),
            SpawnOptions::default().concurrency(0),
        )
        .await;
    assert!(
        matches!(&e, Err(Error::InvalidInput(m)) if m.contains("concurrency")),
        "{e:?}"
    );
    let unknown = hive_core::agent::AgentId::new();
    let e = hive.orchestrator().terminate(unknown).await;
    assert!(
        matches!(&e, Err(Error::NotFound { id, .. }) if id == &unknown.to_string()),
        "{e:?}"
    );
    let e = hive
        .create_session(NewSession::new("dup").agents([format!("{p}-a"), format!("{p}-a")]))
        .await;
    assert!(
        matches!(&e, Err(Error::InvalidInput(m)) if m.contains("duplicate agent name")),
        "{e:?}"
    );
    let e = hive.why_waiting(hive_core::queue::TaskId::new()).await;
    assert!(matches!(e, Err(Error::NotFound { .. })), "{e:?}");
    // Postgres alone has no broker: refused before anything is opened.
    let e = Hive::builder()
        .postgres("postgres://127.0.0.1:1/none")
        .build()
        .await;
    assert!(
        matches!(&e, Err(Error::Setup(hive_core::Setup::BrokerMissing))),
        "{e:?}"
    );
    hive.shutdown().await;
}

pub async fn terminate_and_restart(place: &Place) {
    let p = unique_name("life");
    let hive = place.hive(&p).await;
    let log = Log::default();
    let name = format!("{p}-a");
    let first = hive
        .spawn_agent(logging_agent(&name, &["w"], &log))
        .await
        .expect("spawn");
    // Declared dead while this process still runs it (a stall, a
    // partition): its restart policy registers it again under a new id.
    hive.registry()
        .set_status(first.id, AgentStatus::Dead)
        .await
        .expect("mark dead");
    wait_for(|| {
        hive.orchestrator()
            .local()
            .iter()
            .any(|h| h.name == name && h.id != first.id)
    })
    .await;
    let second = hive.orchestrator().local()[0].clone();
    let t = hive
        .submit(NewTask::new("after", json!({})).requires(["w"]))
        .await
        .expect("submit");
    let done = wait_all(&hive, &[t.id]).await;
    assert_eq!(
        done[0].worker.as_deref(),
        Some(second.id.worker_id().as_str())
    );
    // Terminated: stopped in the registry, gone from this process, and a
    // second terminate is a conflict.
    let record = hive
        .orchestrator()
        .terminate(second.id)
        .await
        .expect("terminate");
    assert_eq!(record.status, AgentStatus::Stopped);
    assert!(hive.orchestrator().local().is_empty());
    let e = hive.orchestrator().terminate(second.id).await;
    assert!(matches!(e, Err(Error::Conflict(_))), "{e:?}");
    // With the policy Never, a death is final.
    let third = hive
        .spawn_agent_with(
            logging_agent(&name, &["w"], &log),
            SpawnOptions::default().restart(hive_core::agent::RestartPolicy::Never),
        )
        .await
        .expect("spawn again");
    hive.registry()
        .set_status(third.id, AgentStatus::Dead)
        .await
        .expect("mark dead");
    wait_for(|| hive.orchestrator().local().is_empty()).await;
    hive.shutdown().await;
}

pub async fn agents_use_tools_and_context(place: &Place) {
    let p = unique_name("tools");
    let hive = place
        .builder(&p)
        .embedder(Arc::new(
            hive_core::context::OfflineEmbedder::new().expect("embedder"),
        ))
        .build()
        .await
        .expect("build");
    let add = tool_fn(
        "add",
        "adds a and b",
        json!({"type": "object", "required": ["a", "b"]}),
        |args, _cx| async move {
            Ok(json!(
                args["a"].as_i64().unwrap_or(0) + args["b"].as_i64().unwrap_or(0)
            ))
        },
    );
    let agent = agent_fn(&format!("{p}-a"), ["calc"], |task, cx| async move {
        let fail = |e: Error| hive_core::queue::TaskFailure::permanent(e.to_string());
        let sum = cx
            .execute_tool("add", json!({"a": 2, "b": 3}))
            .await
            .map_err(fail)?;
        let missing = cx.execute_tool("add", json!({"a": 2})).await;
        let unknown = cx.execute_tool("mul", json!({})).await;
        cx.store_context(NewEntry::text(
            task.payload["fact"].as_str().unwrap_or_default(),
        ))
        .await
        .map_err(fail)?;
        let found = cx
            .search_context("what colour is the sky", 1)
            .await
            .map_err(fail)?;
        Ok(json!({
            "sum": sum,
            "missing": missing.err().map(|e| e.to_string()),
            "unknown": unknown.err().map(|e| e.to_string()),
            "found": found.first().map(|f| f.entry.content.clone()),
            "owner": found.first().and_then(|f| f.entry.agent.clone()),
        }))
    })
    .tool(add);
    hive.spawn_agent(agent).await.expect("spawn");
    let t = hive
        .submit(
            NewTask::new("calc", json!({"fact": "The sky is blue on a clear day."}))
                .requires(["calc"]),
        )
        .await
        .expect("submit");
    let done = wait_all(&hive, &[t.id]).await;
    let r = done[0].result.clone().expect("result");
    assert_eq!(r["sum"], json!(5));
    assert!(
        r["missing"]
            .as_str()
            .is_some_and(|m| m.contains("missing required argument(s) b")),
        "{r}"
    );
    assert!(
        r["unknown"]
            .as_str()
            .is_some_and(|m| m.contains("mul") && m.contains("add")),
        "{r}"
    );
    assert_eq!(r["found"], json!("The sky is blue on a clear day."));
    assert_eq!(r["owner"], json!(format!("{p}-a")));
    hive.shutdown().await;
}

pub async fn another_process_can_terminate_but_not_restart(place: &Place) {
    let p = unique_name("remote");
    // Two hives on one store stand for two processes.
    let here = place.hive(&p).await;
    let there = place.hive(&p).await;
    let log = Log::default();
    let a = here
        .spawn_agent(logging_agent(&format!("{p}-a"), &["w"], &log))
        .await
        .expect("spawn");
    let listed = there
        .orchestrator()
        .list(&AgentFilter::live())
        .await
        .expect("list");
    assert!(listed.iter().any(|r| r.id == a.id), "the fleet is shared");
    let e = there.orchestrator().restart(a.id).await;
    assert!(matches!(e, Err(Error::NotSupported { .. })), "{e:?}");
    let stopped = there
        .orchestrator()
        .terminate(a.id)
        .await
        .expect("terminate");
    assert_eq!(stopped.status, AgentStatus::Stopped);
    // Its own process notices at its next heartbeat and stops running it,
    // without restarting it (terminated is not dead).
    wait_for(|| here.orchestrator().local().is_empty()).await;
    let t = here
        .submit(NewTask::new("orphan", json!({})).requires(["w"]))
        .await
        .expect("submit");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        here.why_waiting(t.id).await.expect("why"),
        Waiting::NoCapableAgent {
            required: vec!["w".into()]
        }
    );
    there.shutdown().await;
    here.shutdown().await;
}

pub async fn restart_gives_a_new_id_and_keeps_working(place: &Place) {
    let p = unique_name("restart");
    let hive = place.hive(&p).await;
    let log = Log::default();
    let old = hive
        .spawn_agent(logging_agent(&format!("{p}-a"), &["w"], &log))
        .await
        .expect("spawn");
    let new = hive.orchestrator().restart(old.id).await.expect("restart");
    assert_ne!(new.id, old.id);
    assert_eq!(new.name, old.name);
    assert_eq!(
        hive.registry().get(old.id).await.expect("old").status,
        AgentStatus::Stopped
    );
    let t = hive
        .submit(NewTask::new("after", json!({})).requires(["w"]))
        .await
        .expect("submit");
    let done = wait_all(&hive, &[t.id]).await;
    assert_eq!(done[0].worker.as_deref(), Some(new.id.worker_id().as_str()));
    let e = hive
        .orchestrator()
        .restart(hive_core::agent::AgentId::new())
        .await;
    assert!(matches!(e, Err(Error::NotFound { .. })), "{e:?}");
    hive.shutdown().await;
}

pub async fn failed_message_handling_is_redelivered(place: &Place) {
    let p = unique_name("inbox");
    let hive = place.hive(&p).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let name = format!("{p}-moody");
    hive.spawn_agent(
        agent_fn(&name, ["w"], |_t, _cx| async move { Ok(Value::Null) }).on_message(
            move |delivery, cx| {
                let log = log.clone();
                async move {
                    assert!(cx.session().is_none() && cx.lease().is_none());
                    log.lock().expect("log").push(delivery.deliveries);
                    if delivery.deliveries == 1 {
                        Err(hive_core::queue::TaskFailure::retryable("not now"))
                    } else {
                        Ok(())
                    }
                }
            },
        ),
    )
    .await
    .expect("spawn");
    hive.broker()
        .publish_batch(vec![hive_core::broker::Message::direct(
            &name,
            "hello",
            json!({}),
        )
        .expect("message")])
        .await
        .expect("publish");
    for _ in 0..400 {
        if seen.lock().expect("log").len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(*seen.lock().expect("log"), vec![1, 2]);
    // Without a context engine, context calls say so.
    let t = hive
        .spawn_agent(agent_fn(
            &format!("{p}-ctx"),
            ["ctx"],
            |_t, cx| async move {
                let e = cx.store_context(NewEntry::text("x")).await;
                let f = cx.search_context("x", 1).await;
                Ok(json!([
                    matches!(e, Err(Error::NotSupported { .. })),
                    matches!(f, Err(Error::NotSupported { .. })),
                    cx.tool_names().is_empty(),
                ]))
            },
        ))
        .await;
    t.expect("spawn");
    let task = hive
        .submit(NewTask::new("ctx", json!({})).requires(["ctx"]))
        .await
        .expect("submit");
    let done = wait_all(&hive, &[task.id]).await;
    assert_eq!(done[0].result, Some(json!([true, true, true])));
    hive.shutdown().await;
}

/// An agent written by hand, relying on every default of the trait.
struct Doubler {
    name: String,
    stopped: Arc<Mutex<bool>>,
}

#[async_trait::async_trait]
impl hive_core::agent::Agent for Doubler {
    fn spec(&self) -> hive_core::agent::AgentSpec {
        hive_core::agent::AgentSpec::new(&self.name, "doubler", ["double"])
            .metadata(json!({ "version": 1 }))
    }

    async fn process_task(
        &self,
        task: hive_core::queue::Task,
        cx: hive_core::agent::AgentContext,
    ) -> Result<Value, hive_core::queue::TaskFailure> {
        assert_eq!(cx.agent_name(), self.name);
        assert_eq!(cx.attempt(), 1);
        assert!(cx.lease().is_some() && !cx.cancelled().is_cancelled());
        Ok(json!(task.payload.as_i64().unwrap_or(0) * 2))
    }

    async fn shutdown(&self) {
        *self.stopped.lock().expect("flag") = true;
    }
}

pub async fn a_hand_written_agent_runs_with_the_defaults(place: &Place) {
    let p = unique_name("hand");
    let hive = place.hive(&p).await;
    let stopped = Arc::new(Mutex::new(false));
    let h = hive
        .spawn_agent(Doubler {
            name: format!("{p}-d"),
            stopped: stopped.clone(),
        })
        .await
        .expect("spawn");
    let record = hive.orchestrator().get(h.id).await.expect("record");
    assert_eq!(
        (record.kind.as_str(), record.metadata.clone()),
        ("doubler", json!({ "version": 1, "concurrency": 1 })),
        "the agent's own metadata, and the concurrency it runs with"
    );
    let t = hive
        .submit(NewTask::new("double", json!(21)).requires(["double"]))
        .await
        .expect("submit");
    let done = wait_all(&hive, &[t.id]).await;
    assert_eq!(done[0].result, Some(json!(42)));
    let kinded = agent_fn(&format!("{p}-k"), ["k"], |_t, _cx| async move {
        Ok(Value::Null)
    })
    .kind("tester")
    .metadata(json!({ "team": "qa" }));
    assert!(format!("{kinded:?}").contains("tester"));
    let k = hive.spawn_agent(kinded).await.expect("spawn kinded");
    assert_eq!(
        hive.orchestrator().get(k.id).await.expect("record").kind,
        "tester"
    );
    let report = hive.shutdown().await;
    assert_eq!(report.agents, 2);
    assert!(
        *stopped.lock().expect("flag"),
        "shutdown ran the agent's own shutdown"
    );
}

/// Everything a hive does shows in its event feed, in order: the agent
/// registering, the task's life, a session, a message, and the agent
/// stopping at shutdown — after which subscriptions end.
pub async fn the_event_feed_tells_the_whole_story(place: &Place) {
    let p = unique_name("feed");
    let hive = place.hive(&p).await;
    let mut all = hive
        .events()
        .subscribe(EventFilter::all(), None)
        .await
        .expect("subscribe");
    let agent = hive
        .spawn_agent(agent_fn(
            &format!("{p}-echo"),
            ["echo"],
            |t, _cx| async move { Ok(t.payload) },
        ))
        .await
        .expect("spawn");
    const TP: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let task = hive
        .submit(
            NewTask::new("echo", json!({ "n": 1 }))
                .requires(["echo"])
                .traceparent(TP),
        )
        .await
        .expect("submit");
    hive.queue()
        .wait_until_final(task.id, Duration::from_secs(10))
        .await
        .expect("done");
    // Submitted and read back in one call: announced as any submit is.
    let later = hive
        .submit_and_get(
            NewTask::new("echo", json!({ "n": 2 }))
                .requires(["echo"])
                .delay(Duration::from_secs(3600)),
        )
        .await
        .expect("submit_and_get");
    let session = hive
        .create_session(NewSession::new(format!("{p} s")).agents([format!("{p}-echo")]))
        .await
        .expect("session");
    let topic = hive_core::broker::Topic::new(format!("{p}.news")).expect("topic");
    hive.broker()
        .publish(hive_core::broker::Message::new(topic, "note", json!({})))
        .await
        .expect("publish");
    hive.shutdown().await;

    let mut story = Vec::new();
    let mut last = 0;
    while let Some(watch) = tokio::time::timeout(Duration::from_secs(10), all.next())
        .await
        .expect("the feed ends after shutdown")
    {
        let Watch::Event(e) = watch else {
            panic!("no lag or resync expected: {watch:?}");
        };
        assert_eq!(e.seq, last + 1, "numbered without gaps");
        last = e.seq;
        story.push((e.kind.clone(), e.subject.clone(), e.data.clone()));
    }
    let position = |kind: &str, subject: &str| {
        story
            .iter()
            .position(|(k, s, _)| k == kind && s == subject)
            .unwrap_or_else(|| panic!("no {kind} for {subject} in {story:#?}"))
    };
    let (a, t) = (agent.id.to_string(), task.id.to_string());
    let registered = position("agent.registered", &a);
    let submitted = position("task.submitted", &t);
    let claimed = position("task.claimed", &t);
    let completed = position("task.completed", &t);
    assert!(registered < claimed && submitted < claimed && claimed < completed);
    assert_eq!(story[submitted].2["type"], "echo");
    // The caller's trace context shows in the task's events.
    for at in [submitted, claimed] {
        assert_eq!(story[at].2["traceparent"], TP, "{:?}", story[at]);
        assert_eq!(story[at].2["trace_id"], "0af7651916cd43dd8448eb211c80319c");
    }
    let read_back = &story[position("task.submitted", &later.task.id.to_string())].2;
    assert_eq!(
        (
            &read_back["type"],
            &read_back["status"],
            &read_back["capabilities"]
        ),
        (&json!("echo"), &json!("delayed"), &json!(["echo"]))
    );
    assert!(read_back.get("traceparent").is_none(), "{read_back}");
    assert_eq!(
        story[claimed].2["worker"],
        json!(agent.id.worker_id().as_str())
    );
    position("session.created", &session.id.to_string());
    let published = story
        .iter()
        .find(|(k, _, _)| k == "message.published")
        .expect("a message event");
    assert_eq!(published.2["kind"], "note");
    let stopped = story
        .iter()
        .rposition(|(k, s, d)| k == "agent.status" && s == &a && d["status"] == "stopped");
    assert!(stopped.is_some_and(|i| i > completed), "{story:#?}");
}

/// A hive for agents registered by hand: they send no heartbeats here, so
/// the liveness is the default (dead after two minutes) rather than the
/// fast one, which would declare them dead while a test still runs.
async fn remote_hive(place: &Place, queue: &str) -> Hive {
    place
        .builder(queue)
        .orchestrator_config(OrchestratorConfig::default())
        .build()
        .await
        .expect("build hive")
}

/// Registers an agent that runs elsewhere, with capabilities `caps`.
async fn register_remote(hive: &Hive, name: &str, caps: &[&str]) -> AgentId {
    hive.registry()
        .register(AgentSpec::new(name, "remote", caps.iter().copied()))
        .await
        .expect("register")
        .id
}

pub async fn a_remote_agent_claims_its_work_as_itself(place: &Place) {
    let p = unique_name("claim");
    let hive = remote_hive(place, &p).await;
    let id = register_remote(&hive, &format!("{p}-r"), &["r"]).await;
    let other = hive
        .submit(NewTask::new("other", json!({})).requires(["elsewhere"]))
        .await
        .expect("submit");
    let mine = hive
        .submit(NewTask::new("mine", json!({ "n": 1 })).requires(["r"]))
        .await
        .expect("submit");
    let lease = Duration::from_secs(60);
    let before = chrono::Utc::now();
    let leases = hive
        .claim_as_agent(id, RemoteClaim::default().max(5).lease(lease))
        .await
        .expect("claim");
    assert_eq!(
        leases.len(),
        1,
        "only what its capabilities allow: {leases:?}"
    );
    let got = &leases[0];
    assert_eq!(got.task.id, mine.id);
    assert_eq!(got.task.status, TaskStatus::Assigned);
    assert_eq!(got.task.worker.as_deref(), Some(id.worker_id().as_str()));
    assert!(
        got.expires_at >= before + chrono::Duration::seconds(59),
        "the lease asked for: {got:?}"
    );
    hive.queue()
        .complete(got.key(), json!("done"))
        .await
        .expect("complete");
    let done = hive.queue().get(mine.id).await.expect("get");
    assert_eq!(
        (done.status, done.worker.as_deref()),
        (TaskStatus::Completed, Some(id.worker_id().as_str()))
    );
    assert_eq!(
        hive.queue().get(other.id).await.expect("get").status,
        TaskStatus::Pending
    );
    let again = hive
        .claim_as_agent(id, RemoteClaim::default())
        .await
        .expect("claim");
    assert!(again.is_empty(), "nothing left it can take: {again:?}");
    hive.shutdown().await;
}

/// The issue's remote agent registered for `fails`: with no task type named
/// it takes an `echo` task that requires nothing (routing is by
/// capability), and a release hands it straight back; naming the type it
/// takes, it never sees `echo`. The attempts it made name it.
pub async fn a_remote_agent_claims_only_the_types_it_names(place: &Place) {
    let p = unique_name("types");
    let hive = remote_hive(place, &p).await;
    let name = format!("{p}-fails");
    let id = register_remote(&hive, &name, &["fails"]).await;
    let echo = hive
        .submit(NewTask::new("echo", json!({})))
        .await
        .expect("submit");
    let untyped = hive
        .claim_as_agent(id, RemoteClaim::default())
        .await
        .expect("claim");
    assert_eq!(untyped.len(), 1, "routing is by capability, not by type");
    assert_eq!(untyped[0].task.id, echo.id);
    hive.queue()
        .release(untyped[0].key())
        .await
        .expect("release");
    let fails = hive
        .submit(NewTask::new("fails", json!({})))
        .await
        .expect("submit");
    for _ in 0..10 {
        let got = hive
            .claim_as_agent(id, RemoteClaim::default().task_types(["fails"]))
            .await
            .expect("claim");
        assert!(
            got.iter().all(|l| l.task.task_type == "fails"),
            "only the type it names: {got:?}"
        );
        for lease in got {
            hive.queue()
                .fail(lease.key(), TaskFailure::permanent("it always fails"))
                .await
                .expect("fail");
        }
    }
    assert_eq!(
        hive.queue().get(echo.id).await.expect("get").status,
        TaskStatus::Pending,
        "echo waits for someone who takes it"
    );
    let attempts = hive.task_attempts(fails.id).await.expect("attempts");
    assert_eq!(attempts.len(), 1, "{attempts:?}");
    assert_eq!(attempts[0].agent_name.as_deref(), Some(name.as_str()));
    assert_eq!(attempts[0].attempt.worker, id.worker_id().as_str());
    assert_eq!(
        attempts[0].attempt.error.as_deref(),
        Some("it always fails")
    );
    assert_eq!(
        hive.agent_name(id.worker_id().as_str())
            .await
            .expect("name"),
        Some(name)
    );
    assert_eq!(
        hive.agent_name("worker-1").await.expect("name"),
        None,
        "a plain worker has no agent name"
    );
    assert!(
        hive.task_attempts(echo.id)
            .await
            .expect("attempts")
            .is_empty(),
        "a released attempt leaves no history"
    );
    hive.shutdown().await;
}

/// An agent spawned for some task types takes only those; an agent with
/// the same capabilities and no type named still gets the rest (the
/// dispatch round does not skip it because the typed one found nothing).
pub async fn an_agent_spawned_for_some_types_takes_only_those(place: &Place) {
    let p = unique_name("typed");
    let hive = place.hive(&p).await;
    let log = Log::default();
    let cap = format!("{p}-c");
    let (typed, any) = (format!("{p}-a-typed"), format!("{p}-b-any"));
    let only = format!("{p}-only");
    hive.spawn_agent_with(
        logging_agent(&typed, &[cap.as_str()], &log),
        SpawnOptions::default().task_types([only.clone()]),
    )
    .await
    .expect("spawn");
    hive.spawn_agent_with(
        logging_agent(&any, &[cap.as_str()], &log),
        SpawnOptions::default(),
    )
    .await
    .expect("spawn");
    let mut ids = Vec::new();
    for i in 0..6 {
        let ty = if i % 2 == 0 {
            only.clone()
        } else {
            format!("{p}-other")
        };
        let t = hive
            .submit(NewTask::new(ty, json!({})).requires([cap.as_str()]))
            .await
            .expect("submit");
        ids.push(t.id);
    }
    let done = wait_all(&hive, &ids).await;
    assert!(done.iter().all(|t| t.status == TaskStatus::Completed));
    let log = log.lock().expect("log").clone();
    assert_eq!(log.len(), 6, "{log:?}");
    for (ty, by, _) in &log {
        if by == &typed {
            assert_eq!(ty, &only, "the typed agent ran only its type: {log:?}");
        }
    }
    assert!(
        log.iter().any(|(ty, by, _)| by == &any && ty != &only),
        "the untyped agent took the other type: {log:?}"
    );
    hive.shutdown().await;
}

pub async fn ended_or_unknown_agents_and_empty_claims_are_refused(place: &Place) {
    let p = unique_name("refuse");
    let hive = remote_hive(place, &p).await;
    let t = hive
        .submit(NewTask::new("job", json!({})).requires(["r"]))
        .await
        .expect("submit");
    let dead = register_remote(&hive, &format!("{p}-dead"), &["r"]).await;
    hive.registry()
        .set_status(dead, AgentStatus::Dead)
        .await
        .expect("mark dead");
    let stopped = register_remote(&hive, &format!("{p}-stopped"), &["r"]).await;
    hive.orchestrator()
        .terminate(stopped)
        .await
        .expect("terminate");
    for (id, status) in [(dead, "dead"), (stopped, "stopped")] {
        let e = hive.claim_as_agent(id, RemoteClaim::default()).await;
        let said = format!("agent {id} is {status}: register it again to take work");
        assert!(matches!(&e, Err(Error::Conflict(m)) if m == &said), "{e:?}");
    }
    let unknown = AgentId::new();
    let e = hive.claim_as_agent(unknown, RemoteClaim::default()).await;
    assert!(
        matches!(&e, Err(Error::NotFound { id, .. }) if id == &unknown.to_string()),
        "{e:?}"
    );
    let live = register_remote(&hive, &format!("{p}-live"), &["r"]).await;
    let e = hive
        .claim_as_agent(live, RemoteClaim::default().max(0))
        .await;
    assert!(
        matches!(&e, Err(Error::InvalidInput(m)) if m.contains("max")),
        "{e:?}"
    );
    assert_eq!(
        hive.queue().get(t.id).await.expect("get").status,
        TaskStatus::Pending,
        "no refused claim took the task"
    );
    hive.shutdown().await;
}

pub async fn a_long_poll_answers_when_work_comes_or_empty_at_the_deadline(place: &Place) {
    let p = unique_name("poll");
    let hive = Arc::new(remote_hive(place, &p).await);
    let id = register_remote(&hive, &format!("{p}-r"), &["r"]).await;
    let wait = Duration::from_millis(300);
    let started = std::time::Instant::now();
    let none = hive
        .claim_as_agent(id, RemoteClaim::default().wait(wait))
        .await
        .expect("claim");
    assert!(none.is_empty(), "{none:?}");
    assert!(
        started.elapsed() >= wait,
        "empty only at the deadline: {:?}",
        started.elapsed()
    );
    let submitter = hive.clone();
    let late = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        submitter
            .submit(NewTask::new("late", json!({})).requires(["r"]))
            .await
            .expect("submit")
            .id
    });
    let started = std::time::Instant::now();
    let leases = hive
        .claim_as_agent(id, RemoteClaim::default().wait(Duration::from_secs(20)))
        .await
        .expect("claim");
    let took = started.elapsed();
    let late = late.await.expect("the submitter");
    assert_eq!(leases.len(), 1, "{leases:?}");
    assert_eq!(leases[0].task.id, late);
    assert!(
        took < Duration::from_secs(10),
        "answered when the work came, not at the deadline: {took:?}"
    );
    hive.shutdown().await;
}

async fn wait_for(mut done: impl FnMut() -> bool) {
    for _ in 0..400 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("condition not met within 10 s");
}

/// Every task an agent finishes yields an outcome, and the metrics over
/// them agree with a direct count over the stored tasks: 2,000 tasks, one
/// agent dead-lettering a tenth of its tasks and reporting usage, cost
/// and a prompt version, the other failing a quarter of its first
/// attempts (retried).
pub async fn outcomes_and_metrics_agree_with_the_tasks(place: &Place) {
    use hive_core::outcome::{GroupBy, OutcomeFilter, OutcomeStatus};
    use hive_core::queue::{TaskFilter, TaskId, MAX_LIST_LIMIT};

    const EACH: u64 = 1000;
    let p = unique_name("outcomes");
    let hive = place.hive(&p).await;
    let (ty_a, ty_b) = (format!("{p}-a"), format!("{p}-b"));
    hive.spawn_agent_with(
        agent_fn(&format!("{p}-alpha"), ["oa"], |t, _cx| async move {
            let n = t.payload["n"].as_u64().unwrap_or(0);
            if n % 10 == 0 {
                return Err(TaskFailure::permanent("a tenth fail for good"));
            }
            Ok(json!({
                "answer": n,
                "prompt_version": "v1",
                "usage": {"input_tokens": n, "output_tokens": 2},
                "cost_usd": n as f64 / 1000.0,
            }))
        }),
        SpawnOptions::default().concurrency(8),
    )
    .await
    .expect("spawn alpha");
    hive.spawn_agent_with(
        agent_fn(&format!("{p}-beta"), ["ob"], |t, cx| async move {
            let n = t.payload["n"].as_u64().unwrap_or(0);
            if n % 4 == 0 && cx.attempt() == 1 {
                return Err(TaskFailure::retryable("a quarter fail once"));
            }
            Ok(json!({"answer": n, "prompt_version": "v2"}))
        }),
        SpawnOptions::default().concurrency(8),
    )
    .await
    .expect("spawn beta");
    let mut batch = Vec::new();
    for n in 0..EACH {
        batch.push(
            NewTask::new(&ty_a, json!({ "n": n }))
                .requires(["oa"])
                .max_attempts(3),
        );
        batch.push(
            NewTask::new(&ty_b, json!({ "n": n }))
                .requires(["ob"])
                .max_attempts(3),
        );
    }
    let ids: Vec<TaskId> = batch.iter().map(NewTask::id).collect();
    hive.queue().submit_batch(batch).await.expect("submit");
    for id in &ids {
        hive.queue()
            .wait_until_final(*id, Duration::from_secs(60))
            .await
            .expect("each task ends");
    }

    // The direct count, over the stored tasks: per agent, how many ended
    // how, and the attempts beyond the first.
    let mut direct: BTreeMap<String, (u64, u64, u64, u64)> = BTreeMap::new();
    for ty in [&ty_a, &ty_b] {
        let mut after = None;
        loop {
            let mut filter = TaskFilter::new().task_type(ty).limit(MAX_LIST_LIMIT);
            if let Some(a) = after {
                filter = filter.after(a);
            }
            let page = hive.queue().list(&filter).await.expect("list");
            for t in &page {
                let worker = t.worker.as_deref().expect("an agent ran it");
                let name = hive
                    .agent_name(worker)
                    .await
                    .expect("name")
                    .expect("an agent");
                let e = direct.entry(name).or_default();
                e.0 += 1;
                match t.status {
                    TaskStatus::Completed => e.1 += 1,
                    TaskStatus::DeadLettered => e.2 += 1,
                    other => panic!("task {} ended {other:?}", t.id),
                }
                e.3 += u64::from(t.attempts) - 1;
            }
            match page.last() {
                Some(last) if page.len() == MAX_LIST_LIMIT => after = Some(last.id),
                _ => break,
            }
        }
    }
    let mine = OutcomeFilter::new();
    let by_agent = hive.metrics(&mine, GroupBy::Agent).await.expect("metrics");
    let ours: Vec<_> = by_agent
        .iter()
        .filter(|m| m.key.as_deref().is_some_and(|k| k.starts_with(&p)))
        .collect();
    assert_eq!(ours.len(), 2, "{by_agent:#?}");
    for m in &ours {
        let d = direct[m.key.as_deref().expect("key")];
        assert_eq!(
            (m.tasks, m.succeeded, m.dead_lettered, m.retries),
            d,
            "{m:?} against the tasks"
        );
    }
    let (alpha, beta) = (ours[0], ours[1]);
    assert_eq!(
        (alpha.tasks, alpha.succeeded, alpha.dead_lettered),
        (EACH, 900, 100)
    );
    assert_eq!((beta.tasks, beta.succeeded), (EACH, EACH));
    // A quarter failed once; a lease that ran out on a busy machine may
    // add an attempt (the tasks say so too, above).
    assert!(beta.retries >= EACH / 4, "{beta:?}");
    let spent: u64 = (0..EACH).filter(|n| n % 10 != 0).sum();
    assert_eq!(alpha.input_tokens, spent);
    assert_eq!(alpha.output_tokens, 2 * 900);
    assert!(
        (alpha.cost_usd - spent as f64 / 1000.0).abs() < 1e-6,
        "{alpha:?}"
    );
    assert!((alpha.success_rate - 0.9).abs() < 1e-12);
    assert!(alpha.p50_run_ms <= alpha.p95_run_ms);

    let by_version = hive
        .metrics(&mine.clone().task_type(&ty_a), GroupBy::PromptVersion)
        .await
        .expect("metrics");
    let counts: Vec<(Option<&str>, u64)> = by_version
        .iter()
        .map(|m| (m.key.as_deref(), m.tasks))
        .collect();
    assert_eq!(counts, vec![(None, 100), (Some("v1"), 900)]);

    let failed = hive
        .list_outcomes(&mine.clone().task_type(&ty_a), 1000)
        .await
        .expect("list")
        .into_iter()
        .find(|o| o.status == OutcomeStatus::DeadLettered)
        .expect("a dead-lettered outcome");
    assert_eq!(failed.agent.as_deref(), Some(format!("{p}-alpha").as_str()));
    assert_eq!(
        (failed.attempts, failed.prompt_version.as_deref()),
        (1, None)
    );
    hive.shutdown().await;
}

macro_rules! fleet_tests {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(place) = super::Place::embedded() else { return };
                    super::$name(&place).await;
                    place.finish().await;
                }
            )*
        }
        mod distributed {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(place) = super::Place::distributed().await else { return };
                    super::$name(&place).await;
                    place.finish().await;
                }
            )*
        }
    };
}

fleet_tests!(
    outcomes_and_metrics_agree_with_the_tasks,
    capability_routing_never_picks_an_agent_lacking_one,
    idle_agents_are_preferred_over_busy_ones,
    a_task_no_agent_can_take_stays_pending_and_says_why,
    graceful_shutdown_leaves_no_task_leased,
    sessions_record_conversations,
    bad_input_gets_clear_errors,
    terminate_and_restart,
    agents_use_tools_and_context,
    another_process_can_terminate_but_not_restart,
    restart_gives_a_new_id_and_keeps_working,
    failed_message_handling_is_redelivered,
    a_hand_written_agent_runs_with_the_defaults,
    the_event_feed_tells_the_whole_story,
    a_remote_agent_claims_its_work_as_itself,
    a_remote_agent_claims_only_the_types_it_names,
    an_agent_spawned_for_some_types_takes_only_those,
    ended_or_unknown_agents_and_empty_claims_are_refused,
    a_long_poll_answers_when_work_comes_or_empty_at_the_deadline,
);
