//! Reading the shapes every Redis reply is made of — arrays, text,
//! integers, tagged replies, flat field/value arrays — once for every
//! backend; each backend reads its own shapes (task hashes, stream entries,
//! refusals) on top of these.
//!
//! Replies are untrusted input in the sense that a corrupt key or another
//! program writing to our keys can put anything there: every shape is
//! checked and a surprise is an [`Error::Backend`], never a panic.

use fred::types::Value;

use super::BACKEND;
use crate::error::Error;

/// A reply without the shape its command or script promises; `what` names
/// it (`"the list script"`, `"CLIENT ID"`).
pub(crate) fn malformed(what: &str, got: &Value) -> Error {
    Error::backend(BACKEND, format!("unexpected reply from {what}: {got:?}"))
}

/// The elements of an array reply (nil reads as empty).
pub(crate) fn array(v: Value) -> Vec<Value> {
    match v {
        Value::Null => Vec::new(),
        other => other.into_array(),
    }
}

/// A text element; nil and non-text elements read as `None`.
pub(crate) fn text(v: &Value) -> Option<String> {
    v.as_string()
}

/// An integer element, whether Redis sent it as an integer or as text.
pub(crate) fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(i) => Some(*i),
        other => other.as_str().and_then(|s| s.parse().ok()),
    }
}

/// The tag (first element) of a tagged reply such as `{'ok', …}`.
pub(crate) fn tag(items: &[Value]) -> String {
    items.first().and_then(text).unwrap_or_default()
}

/// The elements of a flat `field, value, …` array (HGETALL inside a
/// script, a stream entry's fields) as pairs. A pair with a non-text
/// element is skipped, as is an odd last element: callers that must refuse
/// an odd count check it first.
pub(crate) fn pairs(items: Vec<Value>) -> impl Iterator<Item = (String, String)> {
    let mut it = items.into_iter();
    std::iter::from_fn(move || it.next().zip(it.next())).filter_map(|(k, v)| text(&k).zip(text(&v)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn elements_read_leniently_and_surprises_name_what_was_read() {
        assert!(array(Value::Null).is_empty());
        assert_eq!(array(Value::from("x")), vec![Value::from("x")]);
        assert_eq!(int(&Value::Integer(7)), Some(7));
        assert_eq!(int(&Value::from("8")), Some(8));
        assert_eq!(int(&Value::from("eight")), None);
        assert_eq!(text(&Value::Null), None);
        assert_eq!(tag(&[Value::from("ok"), Value::Integer(1)]), "ok");
        assert_eq!(tag(&[]), "");
        let e = malformed("the list script", &Value::Null).to_string();
        assert!(e.contains("unexpected reply from the list script"), "{e}");
    }

    #[test]
    fn pairs_skip_what_is_not_text_and_an_odd_tail() {
        let flat = vec![
            Value::from("a"),
            Value::from("1"),
            Value::from("b"),
            Value::Null,
            Value::from("c"),
            Value::Integer(3),
            Value::from("tail"),
        ];
        let read: Vec<(String, String)> = pairs(flat).collect();
        assert_eq!(
            read,
            [("a".into(), "1".into()), ("c".into(), "3".into())],
            "integers read as text; nil does not"
        );
    }
}
