//! Message history: a queryable record of what went through the broker
//! (being built).
