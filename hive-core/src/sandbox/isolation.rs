//! Isolation for a [`super::ScrubbedCommand`]: namespaces and resource limits (being written).
