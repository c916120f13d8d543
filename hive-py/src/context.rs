//! Context search answers as Python sees them.

use hive_core::context::Found as CoreFound;
use pyo3::prelude::*;

use crate::json;

/// One search hit: the entry's id and text, how similar it is to the query
/// and its rank score (similarity weighed with importance and recency).
#[pyclass(frozen, module = "agent_hive._native")]
pub struct Found {
    found: CoreFound,
}

impl Found {
    pub fn new(found: CoreFound) -> Self {
        Found { found }
    }
}

#[pymethods]
impl Found {
    #[getter]
    fn id(&self) -> String {
        self.found.entry.id.to_string()
    }
    #[getter]
    fn content(&self) -> &str {
        &self.found.entry.content
    }
    #[getter]
    fn kind(&self) -> String {
        self.found.entry.kind.to_string()
    }
    #[getter]
    fn similarity(&self) -> f32 {
        self.found.similarity
    }
    #[getter]
    fn score(&self) -> f32 {
        self.found.score
    }
    #[getter]
    fn importance(&self) -> f32 {
        self.found.entry.importance
    }
    #[getter]
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json::to_py(py, &self.found.entry.metadata)
    }

    fn __repr__(&self) -> String {
        format!(
            "Found(id='{}', similarity={:.3}, content={:?})",
            self.found.entry.id, self.found.similarity, self.found.entry.content
        )
    }
}
