//! Go's `path.Match` (docker uses it for `reference=` filters, COPY source
//! globs and `.dockerignore` patterns).

/// Whether `name` matches shell pattern `pattern` (`*`, `?`, `[...]`, `\`),
/// where wildcards never match `/`.
pub fn path_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Dynamic programming over (pattern position, name position), from the
    // ends: plain backtracking is exponential in the number of `*`
    // (`*a*a*a*a*b` against `aaaa…` never returned; found by fuzzing).
    // at[i * w + j]: does p[i..] match n[j..]?
    let w = n.len() + 1;
    let mut at = vec![false; (p.len() + 1) * w];
    at[p.len() * w + n.len()] = true;
    for i in (0..p.len()).rev() {
        let class = (p[i] == '[').then(|| class_end(&p[i..])).flatten();
        for j in (0..=n.len()).rev() {
            let next = n.get(j).copied();
            let hit = match p[i] {
                '*' => at[(i + 1) * w + j] || (next.is_some_and(|c| c != '/') && at[i * w + j + 1]),
                '?' => next.is_some_and(|c| c != '/') && at[(i + 1) * w + j + 1],
                '[' => match (next, class) {
                    (Some(c), Some(end)) if c != '/' && class_matches(&p[i + 1..i + end], c) => {
                        at[(i + end + 1) * w + j + 1]
                    }
                    _ => false,
                },
                '\\' if i + 1 < p.len() => next == Some(p[i + 1]) && at[(i + 2) * w + j + 1],
                c => next == Some(c) && at[(i + 1) * w + j + 1],
            };
            at[i * w + j] = hit;
        }
    }
    at[0]
}

fn class_end(p: &[char]) -> Option<usize> {
    let mut i = 1;
    if p.get(i) == Some(&'^') {
        i += 1;
    }
    if p.get(i) == Some(&']') {
        i += 1;
    }
    while i < p.len() {
        if p[i] == ']' {
            return Some(i);
        }
        i += 1;
    }
    None
}

fn class_matches(class: &[char], c: char) -> bool {
    let (negate, class) = match class.first() {
        Some('^') => (true, &class[1..]),
        _ => (false, class),
    };
    let mut i = 0;
    let mut hit = false;
    while i < class.len() {
        if i + 2 < class.len() && class[i + 1] == '-' {
            hit |= class[i] <= c && c <= class[i + 2];
            i += 3;
        } else {
            hit |= class[i] == c;
            i += 1;
        }
    }
    hit != negate
}

#[cfg(test)]
mod tests {
    use super::path_match;

    #[test]
    fn matches_like_go() {
        assert!(path_match("busy*", "busybox"));
        assert!(!path_match("*", "me/app"));
        assert!(path_match("*/*", "me/app"));
        assert!(path_match("busybox:l?cal", "busybox:local"));
        assert!(path_match("[a-c]*", "busybox"));
        assert!(!path_match("[^a-c]*", "busybox"));
        assert!(path_match("me/*:1.*", "me/bb:1.0"));
        assert!(!path_match("bb", "busybox"));
    }

    /// Many stars against a long name that almost matches: exponential
    /// with backtracking, instant now.
    #[test]
    fn many_stars_are_linear() {
        let pattern = format!("{}b", "*a".repeat(40));
        assert!(!path_match(&pattern, &"a".repeat(200)));
        assert!(path_match(&pattern, &format!("{}b", "a".repeat(200))));
        assert!(!path_match("*a*", "b/a"), "* never crosses /");
        assert!(path_match("a\\*b", "a*b"));
        assert!(path_match("x\\", "x\\"), "a trailing backslash is literal");
    }
}
