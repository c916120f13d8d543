//! The one Tokio runtime every hive of the process runs on, and the two
//! ways Python waits for it.
//!
//! - [`block_on`]: the blocking API. The GIL is released while Rust waits,
//!   so Python agents (which need the GIL) keep running meanwhile, and
//!   taken back now and then for Ctrl-C.
//! - [`awaitable`]: the asyncio API. The future runs on the same runtime
//!   and resolves an `asyncio.Future` on the caller's event loop.
//!
//! Runtime threads that take the GIL are counted ([`InFlight`]) so that
//! the exit hook can wait for them ([`quiesce`]) before Python finalises.

use std::future::Future;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::IntoPyObjectExt;

/// The shared runtime (pyo3-async-runtimes' multi-threaded one).
pub fn runtime() -> &'static tokio::runtime::Runtime {
    pyo3_async_runtimes::tokio::get_runtime()
}

/// How often a blocking call looks up from Rust to let Python handle
/// signals (Ctrl-C).
const SIGNAL_CHECK: Duration = Duration::from_millis(100);

/// Runs `fut` to the end with the GIL released. Every
/// [`SIGNAL_CHECK`] it takes the GIL back to run Python's signal handlers:
/// Ctrl-C raises `KeyboardInterrupt` and drops the operation.
pub fn block_on<F, T>(py: Python<'_>, fut: F) -> PyResult<T>
where
    F: Future<Output = PyResult<T>> + Send,
    T: Send,
{
    let mut fut = std::pin::pin!(fut);
    loop {
        let step = py.detach(|| {
            runtime().block_on(async { tokio::time::timeout(SIGNAL_CHECK, &mut fut).await })
        });
        match step {
            Ok(done) => return done,
            Err(_elapsed) => py.check_signals()?,
        }
    }
}

/// `fut` as a Python awaitable: an `asyncio.Future` of the running loop,
/// resolved from the runtime when `fut` ends. Cancelling the Python future
/// drops `fut` (aborts its task).
///
/// The result is handed over on a blocking thread that takes the GIL, and
/// that thread counts as [`InFlight`] until it has let go of the GIL again:
/// [`quiesce`] waits for it at exit. (pyo3-async-runtimes' own
/// `future_into_py` hands over the same way but uncounted, and a thread
/// that still holds the GIL when the interpreter finalises aborts it.)
pub fn awaitable<'py, F, T>(py: Python<'py>, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = PyResult<T>> + Send + 'static,
    T: for<'a> IntoPyObject<'a> + Send + 'static,
{
    let event_loop = py.import("asyncio")?.call_method0("get_running_loop")?;
    let py_future = event_loop.call_method0("create_future")?;
    let target = Outcome {
        event_loop: event_loop.unbind(),
        future: py_future.clone().unbind(),
    };
    let in_flight = InFlight::enter();
    let task = runtime().spawn(async move {
        let result = fut.await;
        // The task may be aborted up to here; from here on the handover runs
        // to its end on its own thread.
        let _ = tokio::task::spawn_blocking(move || {
            Python::attach(|py| target.deliver(py, result));
            drop(in_flight);
        })
        .await;
    });
    py_future.call_method1(
        "add_done_callback",
        (AbortOnCancel {
            task: task.abort_handle(),
        },),
    )?;
    Ok(py_future)
}

/// Where an awaitable's outcome goes.
struct Outcome {
    event_loop: Py<PyAny>,
    future: Py<PyAny>,
}

impl Outcome {
    /// Schedules setting the future's result (or exception) on its loop. A
    /// loop closed meanwhile has nobody left to tell: the outcome is dropped.
    fn deliver<T>(self, py: Python<'_>, result: PyResult<T>)
    where
        T: for<'a> IntoPyObject<'a>,
    {
        let (ok, value) = match result.and_then(|v| v.into_py_any(py)) {
            Ok(value) => (true, value),
            Err(err) => (false, err.into_value(py).into_any()),
        };
        let resolve = Resolve { ok, value };
        let _ = self
            .event_loop
            .bind(py)
            .call_method1("call_soon_threadsafe", (resolve, self.future.bind(py)));
    }
}

/// Run on the loop: sets the future's outcome unless it was cancelled.
#[pyclass(frozen)]
struct Resolve {
    ok: bool,
    value: Py<PyAny>,
}

#[pymethods]
impl Resolve {
    fn __call__(&self, future: &Bound<'_, PyAny>) -> PyResult<()> {
        if future.call_method0("cancelled")?.is_truthy()? {
            return Ok(());
        }
        let method = if self.ok {
            "set_result"
        } else {
            "set_exception"
        };
        future.call_method1(method, (self.value.bind(future.py()),))?;
        Ok(())
    }
}

/// The Python future's done-callback: a cancelled future aborts the task.
#[pyclass(frozen)]
struct AbortOnCancel {
    task: tokio::task::AbortHandle,
}

#[pymethods]
impl AbortOnCancel {
    fn __call__(&self, future: &Bound<'_, PyAny>) -> PyResult<()> {
        if future.call_method0("cancelled")?.is_truthy()? {
            self.task.abort();
        }
        Ok(())
    }
}

/// How many runtime threads are in, or on their way to, a call that takes
/// the GIL: awaitables not yet handed over, agent calls not yet returned.
static IN_FLIGHT: (Mutex<usize>, Condvar) = (Mutex::new(0), Condvar::new());

/// One runtime thread's GIL work, counted while it lives.
pub struct InFlight(());

impl InFlight {
    /// Counts one more.
    pub fn enter() -> InFlight {
        let (count, _) = &IN_FLIGHT;
        *count.lock().unwrap_or_else(PoisonError::into_inner) += 1;
        InFlight(())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let (count, done) = &IN_FLIGHT;
        let mut n = count.lock().unwrap_or_else(PoisonError::into_inner);
        *n = n.saturating_sub(1);
        if *n == 0 {
            done.notify_all();
        }
    }
}

/// Waits, with the GIL released, until no runtime thread is in GIL work,
/// or `limit` passed. Run at exit after the hives are closed, before
/// Python finalises: a runtime thread that takes the GIL after that point
/// kills the process (CPython 3.11 ends such a thread mid-call).
pub fn quiesce(py: Python<'_>, limit: Duration) {
    py.detach(|| {
        let (count, done) = &IN_FLIGHT;
        let n = count.lock().unwrap_or_else(PoisonError::into_inner);
        let _ = done.wait_timeout_while(n, limit, |n| *n > 0);
    });
}
