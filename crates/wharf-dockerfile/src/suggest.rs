//! "did you mean ...?" suggestions for unknown instructions and flags.

/// Levenshtein distance over characters.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Adapts the case of `suggestion` to the way `orig` was written.
fn match_case(suggestion: &str, orig: &str) -> String {
    if orig == orig.to_lowercase() {
        suggestion.to_lowercase()
    } else if orig == orig.to_uppercase() {
        suggestion.to_uppercase()
    } else {
        suggestion.to_string()
    }
}

/// The closest option within distance 2, if `value` is not itself an option.
pub(crate) fn suggest(value: &str, options: &[&str], case_sensitive: bool) -> Option<String> {
    let needle = if case_sensitive {
        value.to_string()
    } else {
        value.to_lowercase()
    };
    let mut best = None;
    let mut min = 3;
    for option in options {
        let option = if case_sensitive {
            option.to_string()
        } else {
            option.to_lowercase()
        };
        if option == needle {
            return None;
        }
        let d = distance(&needle, &option);
        if d < min {
            min = d;
            best = Some(if case_sensitive {
                option
            } else {
                match_case(&option, value)
            });
        }
    }
    best
}

/// `message` with ` (did you mean X?)` appended when a suggestion exists.
pub(crate) fn with_suggestion(
    message: String,
    value: &str,
    options: &[&str],
    case_sensitive: bool,
) -> String {
    match suggest(value, options, case_sensitive) {
        Some(s) => format!("{message} (did you mean {s}?)"),
        None => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions() {
        let opts = ["COPY", "CMD", "RUN"];
        assert_eq!(suggest("COPPY", &opts, false).as_deref(), Some("COPY"));
        assert_eq!(suggest("coppy", &opts, false).as_deref(), Some("copy"));
        assert_eq!(suggest("Coppy", &opts, false).as_deref(), Some("copy"));
        assert_eq!(suggest("xyzzy", &opts, false), None);
        assert_eq!(
            suggest("chmode", &["chmod", "chown"], true).as_deref(),
            Some("chmod")
        );
        assert_eq!(distance("kitten", "sitting"), 3);
    }
}
