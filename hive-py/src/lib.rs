//! Python bindings for Agent Hive (PyO3). For now the module only reports
//! its version; the Python issue adds the runtime API.

use pyo3::prelude::*;

/// The `_native` extension module of the `hive` Python package.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
