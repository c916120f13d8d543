//! The self-modifier (being written).

pub mod git;
