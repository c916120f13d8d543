//! The single writer of an embedded store: one task owns the write
//! connection and commits operations in groups. The queue and the broker
//! each run one; this is the loop they share, and [`Writer`] is what each
//! tells it about its own operations.
//!
//! SQLite allows one writer at a time; funnelling every write through one
//! task makes that explicit and buys two things. *Group commit*: the writer
//! takes every operation that is waiting, runs them in one transaction and
//! pays one fsync for all of them; callers hear back only after the commit,
//! so an acknowledged operation is durable. *Cancellation safety*: a caller
//! that drops its future cannot leave the connection inside a transaction.

use std::future::Future;
use std::sync::Arc;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};
use tokio::sync::{mpsc, oneshot, Notify};

use super::MIGRATOR;
use crate::error::{Error, Result};

/// Most operations committed in one transaction.
const MAX_GROUP: usize = 512;

/// Scheduling rounds the writer waits for more operations before a commit.
const GATHER_ROUNDS: usize = 2;

/// Operations that may wait for the writer before senders wait to send.
const INBOX: usize = 4096;

/// One operation for a backend's single writer task, with where to answer.
pub(crate) struct Job<Op, Reply> {
    pub op: Op,
    pub reply: oneshot::Sender<Result<Reply>>,
}

/// Hands `op` to a writer task and waits for its answer.
///
/// # Errors
/// What the operation answers; [`Error::Backend`] when the writer task has
/// stopped.
pub(crate) async fn call<Op, Reply>(jobs: &mpsc::Sender<Job<Op, Reply>>, op: Op) -> Result<Reply> {
    let (reply, rx) = oneshot::channel();
    jobs.send(Job { op, reply })
        .await
        .map_err(|_| Error::backend("sqlite", "the writer task has stopped"))?;
    rx.await
        .map_err(|_| Error::backend("sqlite", "the writer task stopped mid-operation"))?
}

/// The error for a writer that answered with the wrong kind of reply.
pub(crate) fn unexpected(op: &str) -> Error {
    Error::backend(
        "sqlite",
        format!("the writer answered {op} with the wrong kind of reply"),
    )
}

/// What one store's writer does with its operations. The loop ([`spawn`])
/// gathers a group, opens the transaction, commits it, answers every caller
/// and wakes waiters; the store says what its operations are and how they
/// run.
pub(crate) trait Writer: Send + 'static {
    /// One operation a caller hands the writer.
    type Op: Send + Sync + 'static;
    /// What an operation answers.
    type Reply: Send + 'static;

    /// True when the operation may give waiters something to take: after a
    /// commit that holds one, the writer wakes them.
    fn may_wake(op: &Self::Op) -> bool;

    /// True for reads (for in-memory databases, which have no read pool): a
    /// group of nothing but reads runs without a transaction.
    fn is_read(op: &Self::Op) -> bool;

    /// True for operations that may refuse (with a caller error) after they
    /// have written: [`Answers::run_each`] runs them inside a savepoint so
    /// the refusal rolls back alone. Every other operation checks before it
    /// writes. None by default.
    fn writes_before_it_can_refuse(_op: &Self::Op) -> bool {
        false
    }

    /// Runs one operation: inside the group's transaction, or on its own
    /// when the group is only reads.
    fn apply(
        &mut self,
        conn: &mut SqliteConnection,
        op: &Self::Op,
    ) -> impl Future<Output = Result<Self::Reply>> + Send;

    /// Runs a group inside the open transaction, answering each operation
    /// in `answers`: what goes better together first, the rest with
    /// [`Answers::run_each`]. `Err` only for storage failures, which roll
    /// the whole group back; a caller error answers that caller alone.
    fn write_group(
        &mut self,
        conn: &mut SqliteConnection,
        group: &[Job<Self::Op, Self::Reply>],
        answers: &mut Answers<Self::Reply>,
    ) -> impl Future<Output = Result<()>> + Send;

    /// Called after a rollback: memory the writer keeps between groups may
    /// describe rows that were never committed. Nothing by default.
    fn forget_uncommitted(&mut self) {}
}

/// The answers of one group, in the group's order, as the writer finds
/// them.
pub(crate) struct Answers<Reply>(Vec<Option<Result<Reply>>>);

impl<Reply> Answers<Reply> {
    fn new(n: usize) -> Self {
        Answers((0..n).map(|_| None).collect())
    }

    /// True once operation `i` of the group has its answer.
    fn is_answered(&self, i: usize) -> bool {
        self.0[i].is_some()
    }

    /// Gives operation `i` of the group its answer.
    pub fn set(&mut self, i: usize, answer: Result<Reply>) {
        self.0[i] = Some(answer);
    }

    /// Runs each operation not yet answered, one by one in arrival order,
    /// except those `later` keeps for the writer to run together after
    /// this. A caller error answers its caller; a storage error is returned
    /// and rolls the group back.
    pub async fn run_each<W>(
        &mut self,
        writer: &mut W,
        conn: &mut SqliteConnection,
        group: &[Job<W::Op, Reply>],
        later: impl Fn(&W::Op) -> bool,
    ) -> Result<()>
    where
        W: Writer<Reply = Reply>,
    {
        for (i, job) in group.iter().enumerate() {
            if self.is_answered(i) || later(&job.op) {
                continue;
            }
            let result = if W::writes_before_it_can_refuse(&job.op) {
                in_savepoint(writer, conn, &job.op).await
            } else {
                writer.apply(conn, &job.op).await
            };
            if let Err(Error::Backend { source, .. }) = result {
                return Err(Error::backend("sqlite", source.to_string()));
            }
            self.set(i, result);
        }
        Ok(())
    }

    fn finish(self) -> Vec<Result<Reply>> {
        self.0
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::backend("sqlite", "operation was not run"))))
            .collect()
    }
}

/// Opens the writer's connection on the file and brings the schema up to
/// date.
///
/// # Errors
/// [`Error::NewerSchema`] for a file a newer build wrote (left as it
/// was); [`Error::Backend`] when the file cannot be opened or migrated.
pub(crate) async fn connect(options: &SqliteConnectOptions) -> Result<SqliteConnection> {
    let mut conn = options
        .connect()
        .await
        .map_err(|e| super::open_error(options, e))?;
    super::file::refuse_newer(&mut conn, options).await?;
    MIGRATOR
        .run_direct(&mut conn)
        .await
        .map_err(|e| super::open_error(options, e))?;
    Ok(conn)
}

/// Starts `writer`'s task on `conn`, waking `wake` after every commit that
/// may give waiters something; answers where to send it operations (see
/// [`call`]). The task ends when every sender is gone.
pub(crate) fn spawn<W: Writer>(
    conn: SqliteConnection,
    writer: W,
    wake: Arc<Notify>,
) -> mpsc::Sender<Job<W::Op, W::Reply>> {
    let (jobs, rx) = mpsc::channel(INBOX);
    tokio::spawn(run(conn, writer, rx, wake));
    jobs
}

/// Runs until every sender is gone.
async fn run<W: Writer>(
    mut conn: SqliteConnection,
    mut writer: W,
    mut jobs: mpsc::Receiver<Job<W::Op, W::Reply>>,
    wake: Arc<Notify>,
) {
    let mut group: Vec<Job<W::Op, W::Reply>> = Vec::with_capacity(MAX_GROUP);
    while jobs.recv_many(&mut group, MAX_GROUP).await > 0 {
        // Give callers that are about to send (typically workers that just
        // got their previous answer, publishers that just heard back) a
        // couple of scheduling rounds to join this group: bigger groups
        // share one fsync and fewer statements.
        for _ in 0..GATHER_ROUNDS {
            tokio::task::yield_now().await;
            while group.len() < MAX_GROUP {
                match jobs.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
        }
        let wakes = group.iter().any(|j| W::may_wake(&j.op));
        let results = run_group(&mut conn, &mut writer, &group).await;
        for (job, result) in group.drain(..).zip(results) {
            // The caller may have gone away; its operation still happened.
            let _ = job.reply.send(result);
        }
        if wakes {
            wake.notify_waiters();
        }
    }
    let _ = conn.close().await;
}

async fn run_group<W: Writer>(
    conn: &mut SqliteConnection,
    writer: &mut W,
    group: &[Job<W::Op, W::Reply>],
) -> Vec<Result<W::Reply>> {
    if group.iter().all(|j| W::is_read(&j.op)) {
        let mut out = Vec::with_capacity(group.len());
        for job in group {
            out.push(writer.apply(conn, &job.op).await);
        }
        return out;
    }
    if let Err(e) = sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
        return failed_group(group.len(), &e.to_string());
    }
    let mut answers = Answers::new(group.len());
    match writer.write_group(conn, group, &mut answers).await {
        Ok(()) => match sqlx::query("COMMIT").execute(&mut *conn).await {
            Ok(_) => answers.finish(),
            Err(e) => {
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                writer.forget_uncommitted();
                failed_group(group.len(), &e.to_string())
            }
        },
        Err(e) => {
            // Only a storage failure gets here, and it may have left an
            // operation half done: nothing of the group is committed.
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            writer.forget_uncommitted();
            failed_group(group.len(), &e.to_string())
        }
    }
}

fn failed_group<Reply>(n: usize, why: &str) -> Vec<Result<Reply>> {
    let msg = format!("storage failed, nothing of this operation was stored: {why}");
    (0..n)
        .map(|_| Err(Error::backend("sqlite", msg.clone())))
        .collect()
}

async fn in_savepoint<W: Writer>(
    writer: &mut W,
    conn: &mut SqliteConnection,
    op: &W::Op,
) -> Result<W::Reply> {
    control(conn, "SAVEPOINT op").await?;
    let result = writer.apply(conn, op).await;
    if result.is_err() {
        control(conn, "ROLLBACK TO op").await?;
    }
    control(conn, "RELEASE op").await?;
    result
}

/// A savepoint statement, which answers nothing.
///
/// # Errors
/// [`Error::Backend`] when SQLite refuses it.
pub(crate) async fn control(conn: &mut SqliteConnection, statement: &'static str) -> Result<()> {
    sqlx::query(statement)
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(|e| Error::backend("sqlite", e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A toy store: rows of one integer column.
    #[derive(Default)]
    struct Toy {
        forgotten: usize,
    }

    enum Op {
        Insert(i64),
        /// Inserts, then refuses as a caller error would.
        InsertThenRefuse(i64),
        /// A statement SQLite refuses: a storage failure.
        Break,
        Count,
    }

    impl Writer for Toy {
        type Op = Op;
        type Reply = i64;

        fn may_wake(op: &Op) -> bool {
            matches!(op, Op::Insert(_))
        }

        fn is_read(op: &Op) -> bool {
            matches!(op, Op::Count)
        }

        fn writes_before_it_can_refuse(op: &Op) -> bool {
            matches!(op, Op::InsertThenRefuse(_))
        }

        async fn apply(&mut self, conn: &mut SqliteConnection, op: &Op) -> Result<i64> {
            let db = |e| Error::backend("sqlite", e);
            match op {
                Op::Insert(x) | Op::InsertThenRefuse(x) => {
                    sqlx::query("INSERT INTO toy (x) VALUES (?)")
                        .bind(x)
                        .execute(&mut *conn)
                        .await
                        .map_err(db)?;
                    if matches!(op, Op::InsertThenRefuse(_)) {
                        return Err(Error::invalid("refused after writing"));
                    }
                    Ok(*x)
                }
                Op::Break => sqlx::query("INSERT INTO no_such_table VALUES (1)")
                    .execute(&mut *conn)
                    .await
                    .map(|_| 0)
                    .map_err(db),
                Op::Count => sqlx::query_scalar("SELECT count(*) FROM toy")
                    .fetch_one(&mut *conn)
                    .await
                    .map_err(db),
            }
        }

        async fn write_group(
            &mut self,
            conn: &mut SqliteConnection,
            group: &[Job<Op, i64>],
            answers: &mut Answers<i64>,
        ) -> Result<()> {
            answers.run_each(self, conn, group, |_| false).await
        }

        fn forget_uncommitted(&mut self) {
            self.forgotten += 1;
        }
    }

    fn group(ops: Vec<Op>) -> Vec<Job<Op, i64>> {
        ops.into_iter()
            .map(|op| Job {
                op,
                reply: oneshot::channel().0,
            })
            .collect()
    }

    async fn count(conn: &mut SqliteConnection, toy: &mut Toy) -> i64 {
        let mut answers = run_group(conn, toy, &group(vec![Op::Count])).await;
        answers.pop().expect("one answer").expect("count")
    }

    #[tokio::test]
    async fn a_refusal_rolls_back_alone_and_a_storage_failure_rolls_back_the_group() {
        let mut conn = SqliteConnection::connect("sqlite::memory:")
            .await
            .expect("memory");
        sqlx::query("CREATE TABLE toy (x INTEGER)")
            .execute(&mut conn)
            .await
            .expect("table");
        let mut toy = Toy::default();

        let answers = run_group(
            &mut conn,
            &mut toy,
            &group(vec![Op::Insert(1), Op::InsertThenRefuse(2), Op::Insert(3)]),
        )
        .await;
        assert!(matches!(answers[0], Ok(1)));
        assert!(matches!(answers[1], Err(Error::InvalidInput(_))));
        assert!(matches!(answers[2], Ok(3)));
        assert_eq!(
            count(&mut conn, &mut toy).await,
            2,
            "only the refusal rolled back"
        );
        assert_eq!(toy.forgotten, 0);

        let answers = run_group(&mut conn, &mut toy, &group(vec![Op::Insert(4), Op::Break])).await;
        for answer in &answers {
            let Err(Error::Backend { source, .. }) = answer else {
                panic!("every operation of a failed group fails");
            };
            assert!(source
                .to_string()
                .contains("nothing of this operation was stored"));
        }
        assert_eq!(
            count(&mut conn, &mut toy).await,
            2,
            "the whole group rolled back"
        );
        assert_eq!(
            toy.forgotten, 1,
            "the store forgot what it had not committed"
        );
    }
}
