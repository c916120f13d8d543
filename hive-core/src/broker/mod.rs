//! The message broker's shared model: topics, subscription patterns and
//! messages.
//!
//! What is here is complete and shared by every broker backend: the topic
//! grammar (`agent.*.inbox`, `events.>`), matching, and the message with
//! its size check. The `Broker` trait, its conformance suite and its
//! backends (embedded and Redis streams) are the rest of issue 3.

mod message;
mod topic;

pub use message::{Message, MessageId, DEFAULT_MAX_MESSAGE_BYTES};
pub use topic::{Topic, TopicPattern, MAX_TOKENS, MAX_TOPIC_LEN};
