//! Small string helpers docker's formatters use for IDs and long cells.

/// Docker's `stringid.TruncateID`: drops an algorithm prefix such as
/// `sha256:` and keeps the first 12 characters.
///
/// ```
/// assert_eq!(wharf_format::truncate_id("sha256:0d3b1f5d8b6a4c2f9e1d"), "0d3b1f5d8b6a");
/// ```
pub fn truncate_id(id: &str) -> &str {
    const SHORT_LEN: usize = 12;
    let id = match id.find(':') {
        Some(i) => &id[i + 1..],
        None => id,
    };
    match id.char_indices().nth(SHORT_LEN) {
        Some((end, _)) => &id[..end],
        None => id,
    }
}

/// Docker's `formatter.Ellipsis`: if `s` has more than `max` characters,
/// keeps the first `max - 1` and appends `…` (a `max` of 1 keeps just the
/// first character, 0 gives the empty string).
///
/// Widths are counted in characters; docker counts East Asian wide
/// characters as two columns, which is not done here.
pub fn ellipsis(s: &str, max: usize) -> String {
    match max {
        0 => String::new(),
        1 => s.chars().take(1).collect(),
        _ if s.chars().count() <= max => s.to_string(),
        _ => {
            let mut out: String = s.chars().take(max - 1).collect();
            out.push('…');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_ids() {
        let full = "sha256:0d3b1f5d8b6a4c2f9e1d7b8a6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c7d";
        assert_eq!(truncate_id(full), "0d3b1f5d8b6a");
        assert_eq!(truncate_id(&full[7..]), "0d3b1f5d8b6a");
        assert_eq!(truncate_id("abc"), "abc");
        assert_eq!(truncate_id(""), "");
        assert_eq!(truncate_id("sha512:1234567890abcdef"), "1234567890ab");
    }

    #[test]
    fn ellipses() {
        assert_eq!(ellipsis("hello world", 5), "hell…");
        assert_eq!(ellipsis("hello", 5), "hello");
        assert_eq!(ellipsis("hello", 10), "hello");
        assert_eq!(ellipsis("héllo wörld", 6), "héllo…");
        assert_eq!(ellipsis("hello", 1), "h");
        assert_eq!(ellipsis("hello", 0), "");
        assert_eq!(ellipsis("", 1), "");
    }
}
