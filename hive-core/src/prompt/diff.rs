//! A line diff of two prompt versions, for people deciding whether to
//! move a label: the longest common subsequence of their lines, as kept,
//! removed and added lines in order.

use serde::{Deserialize, Serialize};

/// The most lines either side may have for a diff (the table is
/// `lines × lines`).
pub const MAX_DIFF_LINES: usize = 5_000;

/// One line of a diff.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", content = "line", rename_all = "snake_case")]
pub enum DiffLine {
    /// In both.
    Same(String),
    /// Only in the older.
    Removed(String),
    /// Only in the newer.
    Added(String),
}

/// The lines of `old` and `new` as kept, removed and added, in order; a
/// side over [`MAX_DIFF_LINES`] lines is answered as all removed, then all
/// added.
pub fn diff(old: &str, new: &str) -> Vec<DiffLine> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    if a.len() > MAX_DIFF_LINES || b.len() > MAX_DIFF_LINES {
        return a
            .iter()
            .map(|l| DiffLine::Removed((*l).to_string()))
            .chain(b.iter().map(|l| DiffLine::Added((*l).to_string())))
            .collect();
    }
    // lcs[i][j]: the longest common subsequence of a[i..] and b[j..].
    let mut lcs = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::new();
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            out.push(DiffLine::Same(a[i].to_string()));
            i += 1;
            j += 1;
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            out.push(DiffLine::Removed(a[i].to_string()));
            i += 1;
        } else {
            out.push(DiffLine::Added(b[j].to_string()));
            j += 1;
        }
    }
    out.extend(a[i..].iter().map(|l| DiffLine::Removed((*l).to_string())));
    out.extend(b[j..].iter().map(|l| DiffLine::Added((*l).to_string())));
    out
}

/// The diff in the unified style people read: `  ` kept, `- ` removed,
/// `+ ` added, one line each.
pub fn render(lines: &[DiffLine]) -> String {
    let mut s = String::new();
    for l in lines {
        let (mark, text) = match l {
            DiffLine::Same(t) => ("  ", t),
            DiffLine::Removed(t) => ("- ", t),
            DiffLine::Added(t) => ("+ ", t),
        };
        s.push_str(mark);
        s.push_str(text);
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_diff_keeps_common_lines_and_marks_the_rest() {
        let old = "You are brief.\nCite sources.\nNever guess.";
        let new = "You are brief.\nCite two sources.\nNever guess.\nSay when unsure.";
        let d = diff(old, new);
        assert_eq!(
            d,
            vec![
                DiffLine::Same("You are brief.".into()),
                DiffLine::Removed("Cite sources.".into()),
                DiffLine::Added("Cite two sources.".into()),
                DiffLine::Same("Never guess.".into()),
                DiffLine::Added("Say when unsure.".into()),
            ]
        );
        assert_eq!(
            render(&d),
            "  You are brief.\n- Cite sources.\n+ Cite two sources.\n  Never guess.\n+ Say when unsure.\n"
        );
        assert!(diff("same", "same")
            .iter()
            .all(|l| matches!(l, DiffLine::Same(_))));
        assert_eq!(diff("", "x"), vec![DiffLine::Added("x".into())]);
        let long = "l\n".repeat(MAX_DIFF_LINES + 1);
        assert!(diff(&long, "x").len() > MAX_DIFF_LINES);
    }
}
