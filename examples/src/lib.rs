//! Shared nothing: the example programs live in `examples/`.
