//! Version control for the self-modifier through `git2` (being written).
