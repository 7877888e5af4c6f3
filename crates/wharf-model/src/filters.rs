//! Docker's `--filter key=value` arguments (moby's `api/types/filters.Args`):
//! several values of one key OR together, different keys AND. The ways a
//! value is compared are Docker's own: exact, fuzzy (exact or prefix),
//! regular expression, and `key`/`key=value` against a map (labels).

use std::collections::BTreeMap;

use crate::ModelError;

/// Parsed `--filter` values, by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    args: BTreeMap<String, Vec<String>>,
}

impl Filters {
    /// Parse `key=value` arguments. A value without `=` is the docker
    /// CLI's usage error (its caller prints it as docker does).
    pub fn parse<S: AsRef<str>>(args: &[S]) -> Result<Filters, ModelError> {
        let mut f = Filters::default();
        for a in args {
            let a = a.as_ref();
            let (k, v) = a
                .split_once('=')
                .ok_or_else(|| ModelError::FilterFormat(a.to_string()))?;
            f.add(k.trim().to_ascii_lowercase(), v.trim());
        }
        Ok(f)
    }

    pub fn add(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let values = self.args.entry(key.into()).or_default();
        let value = value.into();
        if !values.contains(&value) {
            values.push(value);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.args.is_empty()
    }

    pub fn contains(&self, key: &str) -> bool {
        self.args.contains_key(key)
    }

    /// The values given for `key` (none when not given).
    pub fn get(&self, key: &str) -> &[String] {
        self.args.get(key).map(Vec::as_slice).unwrap_or_default()
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.args.keys().map(String::as_str)
    }

    /// The first key not in `accepted`, as Docker's `Invalid filter 'KEY'`.
    pub fn validate(&self, accepted: &[&str]) -> Result<(), ModelError> {
        match self.keys().find(|k| !accepted.contains(k)) {
            Some(k) => Err(ModelError::Invalid(format!("Invalid filter '{k}'"))),
            None => Ok(()),
        }
    }

    /// Docker's `ExactMatch`: no values for `key`, or one equal to `source`.
    pub fn exact_match(&self, key: &str, source: &str) -> bool {
        match self.args.get(key) {
            None => true,
            Some(vs) => vs.iter().any(|v| v == source),
        }
    }

    /// Docker's `FuzzyMatch`: no values, or one equal to or a prefix of `source`.
    pub fn fuzzy_match(&self, key: &str, source: &str) -> bool {
        match self.args.get(key) {
            None => true,
            Some(vs) => vs.iter().any(|v| source.starts_with(v.as_str())),
        }
    }

    /// Docker's `Match`: no values, or one that is a regular expression
    /// found in `source` (an invalid expression matches nothing, as in
    /// Docker, which ignores the error).
    pub fn regex_match(&self, key: &str, source: &str) -> bool {
        match self.args.get(key) {
            None => true,
            Some(vs) => vs
                .iter()
                .any(|v| regex::Regex::new(v).is_ok_and(|re| re.is_match(source))),
        }
    }

    /// Docker's `MatchKVList`: every value (`k` or `k=v`) is in `map`
    /// (`k=v`: with that value). Values AND here, unlike other keys.
    pub fn match_kv_list(&self, key: &str, map: &BTreeMap<String, String>) -> bool {
        let Some(vs) = self.args.get(key) else {
            return true;
        };
        vs.iter().all(|v| match v.split_once('=') {
            Some((k, want)) => map.get(k).is_some_and(|got| got == want),
            None => map.contains_key(v.as_str()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_or_keys_and() {
        let f = Filters::parse(&["name=a", "name=b", "status=running"]).unwrap();
        assert_eq!(f.get("name"), ["a", "b"]);
        assert!(f.exact_match("name", "b") && !f.exact_match("name", "c"));
        assert!(f.exact_match("other", "anything"));
        assert!(f.fuzzy_match("name", "abc"));
        assert!(!f.fuzzy_match("name", "cab"));
        assert!(Filters::parse(&["bad"]).is_err());
        assert_eq!(
            f.validate(&["name"]).unwrap_err().to_string(),
            "Invalid filter 'status'"
        );
    }

    #[test]
    fn regex_and_labels() {
        let f = Filters::parse(&["name=^we", "name=["]).unwrap();
        assert!(f.regex_match("name", "web1"));
        assert!(!f.regex_match("name", "aweb"));
        let labels: BTreeMap<String, String> = [
            ("app".to_string(), "x".to_string()),
            ("tier".into(), "".into()),
        ]
        .into();
        let l = Filters::parse(&["label=app=x", "label=tier"]).unwrap();
        assert!(l.match_kv_list("label", &labels));
        let l = Filters::parse(&["label=app=y"]).unwrap();
        assert!(!l.match_kv_list("label", &labels));
        let l = Filters::parse(&["label=tier="]).unwrap();
        assert!(l.match_kv_list("label", &labels));
    }
}
