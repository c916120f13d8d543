//! Routing rules: topic patterns to agents or capabilities (being built).
