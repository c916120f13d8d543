//! Experiments on agents' prompts, models and settings, decided on live
//! task outcomes with statistics that stay valid however often they are
//! looked at (issue 21, being built).
//!
//! - [`stats`]: the always-valid confidence sequence for a difference of
//!   means, the running moments it reads, and the naive z-interval it is
//!   compared with.

pub mod stats;
