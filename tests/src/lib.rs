//! Support code for the cross-crate tests.
