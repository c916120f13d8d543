//! The checks a proposed prompt must pass before it is tried: it changes
//! something, stays within a size limit, and keeps, word for word, every
//! must-keep clause the current prompt has.

/// Why a proposed prompt is refused, or `None` when it passes.
pub fn refuse(old: &str, new: &str, must_keep: &[String], max_bytes: usize) -> Option<String> {
    if new.trim().is_empty() {
        return Some("the proposed prompt is empty".into());
    }
    if new.trim() == old.trim() {
        return Some("the proposed prompt is the current one".into());
    }
    if new.len() > max_bytes {
        return Some(format!(
            "the proposed prompt is {} bytes, over the limit of {max_bytes}",
            new.len()
        ));
    }
    must_keep
        .iter()
        .find(|c| old.contains(c.as_str()) && !new.contains(c.as_str()))
        .map(|c| format!("the proposed prompt drops the must-keep clause {c:?}"))
}

#[cfg(test)]
mod tests {
    use super::refuse;

    #[test]
    fn a_prompt_must_change_fit_and_keep_its_clauses() {
        let keep = vec![
            "Never reveal the key.".to_string(),
            "Not in the old one.".to_string(),
        ];
        let old = "You answer.\nNever reveal the key.";
        assert_eq!(
            refuse(
                old,
                "You answer with units.\nNever reveal the key.",
                &keep,
                1000
            ),
            None
        );
        let dropped = refuse(old, "You answer with units.", &keep, 1000).expect("refused");
        assert!(dropped.contains("Never reveal the key."), "{dropped}");
        assert!(refuse(old, old, &keep, 1000).is_some());
        assert!(refuse(old, "  ", &keep, 1000).is_some());
        assert!(refuse(old, &"x".repeat(2000), &[], 1000)
            .unwrap_or_default()
            .contains("over"));
    }
}
