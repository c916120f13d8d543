//! Messages from Python: the `Message` snapshot and durable subscriptions,
//! blocking (`for message in subscription`) and asyncio (`async for`).
//!
//! A subscription waits in short slices so that it notices its hive being
//! closed (iteration then ends).
//! A message is acknowledged as it is handed to Python.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use hive_core::broker::{Delivery, Subscriber};
use pyo3::exceptions::{PyStopAsyncIteration, PyStopIteration};
use pyo3::prelude::*;

use crate::core::Core;
use crate::errors::{ClosedError, IntoPy};
use crate::json;
use crate::runtime::{awaitable, block_on};

/// How long one wait lasts before closure (and signals) are checked.
const SLICE: Duration = Duration::from_millis(200);

/// A message as a subscription delivered it.
#[pyclass(frozen, module = "agent_hive._native")]
pub struct Message {
    delivery: Delivery,
}

#[pymethods]
impl Message {
    #[getter]
    fn id(&self) -> String {
        self.delivery.message.id.to_string()
    }
    #[getter]
    fn topic(&self) -> &str {
        self.delivery.message.topic.as_str()
    }
    #[getter]
    fn kind(&self) -> &str {
        &self.delivery.message.kind
    }
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json::to_py(py, &self.delivery.message.payload)
    }
    /// Its position in its topic.
    #[getter]
    fn offset(&self) -> u64 {
        self.delivery.receipt.offset.0
    }
    /// The sending agent, if an agent sent it.
    #[getter]
    fn sender(&self) -> Option<&str> {
        self.delivery.message.from.as_deref()
    }
    #[getter]
    fn headers(&self) -> std::collections::BTreeMap<String, String> {
        self.delivery.message.headers.clone()
    }
    #[getter]
    fn published_at(&self) -> DateTime<Utc> {
        self.delivery.published_at
    }

    fn __repr__(&self) -> String {
        format!(
            "Message(topic='{}', kind='{}', offset={})",
            self.delivery.message.topic, self.delivery.message.kind, self.delivery.receipt.offset.0
        )
    }
}

/// One durable subscription, shared by its frontend object.
pub struct SubscriptionCore {
    core: Arc<Core>,
    subscriber: tokio::sync::Mutex<Option<Subscriber>>,
}

impl SubscriptionCore {
    /// A subscription of the hive `core`.
    pub fn new(core: Arc<Core>, subscriber: Subscriber) -> Self {
        SubscriptionCore {
            core,
            subscriber: tokio::sync::Mutex::new(Some(subscriber)),
        }
    }

    /// Waits up to `wait` for one message and acknowledges it.
    /// `ClosedError` once the subscription or its hive is closed.
    async fn next_within(&self, wait: Duration) -> PyResult<Option<Message>> {
        if self.core.is_closed() {
            return Err(ClosedError::new_err("the hive is closed"));
        }
        let mut guard = self.subscriber.lock().await;
        let subscriber = guard
            .as_mut()
            .ok_or_else(|| ClosedError::new_err("the subscription is closed"))?;
        let Some(delivery) = subscriber.next_timeout(wait).await.py_err()? else {
            return Ok(None);
        };
        subscriber.ack(&delivery).await.py_err()?;
        Ok(Some(Message { delivery }))
    }

    /// The next message, or `None` after `timeout` (`None`: no limit).
    async fn next(self: Arc<Self>, timeout: Option<Duration>) -> PyResult<Option<Message>> {
        let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
        loop {
            let wait = match deadline {
                Some(d) => d
                    .saturating_duration_since(tokio::time::Instant::now())
                    .min(SLICE),
                None => SLICE,
            };
            if let Some(m) = self.next_within(wait).await? {
                return Ok(Some(m));
            }
            if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
                return Ok(None);
            }
        }
    }

    async fn close(&self) {
        self.subscriber.lock().await.take();
    }
}

fn timeout(seconds: Option<f64>) -> PyResult<Option<Duration>> {
    seconds
        .map(|s| crate::task::seconds("timeout", s))
        .transpose()
}

/// A blocking subscription: iterate it, or call `next(timeout)`.
#[pyclass(frozen, module = "agent_hive._native")]
pub struct Subscription {
    inner: Arc<SubscriptionCore>,
}

impl Subscription {
    pub fn new(inner: Arc<SubscriptionCore>) -> Self {
        Subscription { inner }
    }

    /// Waits for the next message (`block_on` lets Ctrl-C through).
    fn wait(&self, py: Python<'_>, limit: Option<Duration>) -> PyResult<Option<Message>> {
        block_on(py, Arc::clone(&self.inner).next(limit))
    }
}

#[pymethods]
impl Subscription {
    /// The next message, or `None` after `timeout` seconds.
    #[pyo3(signature = (timeout=None))]
    fn next(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<Option<Message>> {
        let limit = self::timeout(timeout)?;
        self.wait(py, limit)
    }

    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Message> {
        match self.wait(py, None) {
            Ok(Some(m)) => Ok(m),
            Ok(None) => Err(PyStopIteration::new_err(())),
            Err(e) if e.is_instance_of::<ClosedError>(py) => Err(PyStopIteration::new_err(())),
            Err(e) => Err(e),
        }
    }

    /// Ends this subscription here (it stays durable: subscribing again by
    /// name resumes it).
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let inner = Arc::clone(&self.inner);
        block_on(py, async move {
            inner.close().await;
            Ok(())
        })
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __exit__(
        &self,
        py: Python<'_>,
        _exc_type: Option<Bound<'_, PyAny>>,
        _exc: Option<Bound<'_, PyAny>>,
        _tb: Option<Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        self.close(py)
    }
}

/// An asyncio subscription: `async for`, or `await next(timeout)`.
#[pyclass(frozen, module = "agent_hive._native")]
pub struct AsyncSubscription {
    inner: Arc<SubscriptionCore>,
}

impl AsyncSubscription {
    pub fn new(inner: Arc<SubscriptionCore>) -> Self {
        AsyncSubscription { inner }
    }
}

#[pymethods]
impl AsyncSubscription {
    /// The next message, or `None` after `timeout` seconds.
    #[pyo3(signature = (timeout=None))]
    fn next<'py>(&self, py: Python<'py>, timeout: Option<f64>) -> PyResult<Bound<'py, PyAny>> {
        let limit = self::timeout(timeout)?;
        awaitable(py, Arc::clone(&self.inner).next(limit))
    }

    fn __aiter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __anext__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let inner = Arc::clone(&self.inner);
        awaitable(py, async move {
            match inner.next(None).await {
                Ok(Some(m)) => Ok(m),
                Ok(None) => Err(PyStopAsyncIteration::new_err(())),
                Err(e) => Python::attach(|py| {
                    if e.is_instance_of::<ClosedError>(py) {
                        Err(PyStopAsyncIteration::new_err(()))
                    } else {
                        Err(e)
                    }
                }),
            }
        })
    }

    /// Ends this subscription here.
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let inner = Arc::clone(&self.inner);
        awaitable(py, async move {
            inner.close().await;
            Ok(())
        })
    }

    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let me = slf.unbind();
        awaitable(py, async move { Ok(me) })
    }

    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _exc_type: Option<Bound<'py, PyAny>>,
        _exc: Option<Bound<'py, PyAny>>,
        _tb: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.close(py)
    }
}
