//! Go's `path.Match` (docker uses it for `reference=` filters, COPY source
//! globs and `.dockerignore` patterns).

/// Whether `name` matches shell pattern `pattern` (`*`, `?`, `[...]`, `\`),
/// where wildcards never match `/`.
pub fn path_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    match_from(&p, &n)
}

fn match_from(p: &[char], n: &[char]) -> bool {
    match p.first() {
        None => n.is_empty(),
        Some('*') => (0..=n.len())
            .take_while(|&i| i == 0 || n[i - 1] != '/')
            .any(|i| match_from(&p[1..], &n[i..])),
        Some('?') => !n.is_empty() && n[0] != '/' && match_from(&p[1..], &n[1..]),
        Some('[') => match (n.first(), class_end(p)) {
            (Some(&c), Some(end)) if c != '/' && class_matches(&p[1..end], c) => {
                match_from(&p[end + 1..], &n[1..])
            }
            _ => false,
        },
        Some('\\') if p.len() > 1 => n.first() == Some(&p[1]) && match_from(&p[2..], &n[1..]),
        Some(&c) => n.first() == Some(&c) && match_from(&p[1..], &n[1..]),
    }
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
}
