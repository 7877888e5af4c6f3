//! Paths in the compose tree (`services.app.ports.[]`) and compose-go's
//! pattern matching on them (`*` matches one segment of any name).

/// A path being walked: one segment per mapping key or `[]` per list item.
#[derive(Debug, Default, Clone)]
pub struct Path(Vec<String>);

impl Path {
    pub fn new() -> Path {
        Path(Vec::new())
    }

    pub fn from_dotted(s: &str) -> Path {
        Path(s.split('.').map(str::to_string).collect())
    }

    pub fn push(&mut self, seg: &str) {
        self.0.push(seg.to_string());
    }

    pub fn pop(&mut self) {
        self.0.pop();
    }

    pub fn dotted(&self) -> String {
        self.0.join(".")
    }
}

/// Whether `path` matches `pattern` (dot-separated, `*` any one segment).
/// Called for every node against every rule: the depth rejects most
/// patterns at once, and the last segments, compared first, most others.
pub fn matches(path: &Path, pattern: &str) -> bool {
    pattern.bytes().filter(|&b| b == b'.').count() + 1 == path.0.len()
        && pattern
            .rsplit('.')
            .zip(path.0.iter().rev())
            .all(|(p, seg)| p == "*" || p == seg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        let p = Path::from_dotted("services.app.ports.[]");
        assert!(matches(&p, "services.*.ports.*"));
        assert!(matches(&p, "services.*.ports.[]"));
        assert!(!matches(&p, "services.*.ports"));
        assert!(!matches(&p, "services.*.ports.[].target"));
        assert!(!matches(&p, "services.*.volumes.*"));
        assert!(!matches(&Path::new(), ""));
    }
}
