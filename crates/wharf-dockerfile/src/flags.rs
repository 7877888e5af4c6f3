//! Validation of instruction flags against the set each instruction accepts
//! (BuildKit's `BFlags`).

use crate::suggest::with_suggestion;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FlagType {
    /// `--link`, `--link=true`, `--link=false`.
    Bool,
    /// `--from=x`, once.
    String,
    /// `--exclude=x`, repeatable.
    Strings,
}

#[derive(Debug, Clone)]
enum Value {
    Bool(bool),
    String(String),
    Strings(Vec<String>),
}

/// Values of the flags that were given.
#[derive(Debug, Default)]
pub(crate) struct FlagValues {
    used: Vec<(String, Value)>,
}

impl FlagValues {
    fn get(&self, name: &str) -> Option<&Value> {
        self.used.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// `Some` when the bool flag was given.
    pub(crate) fn bool(&self, name: &str) -> Option<bool> {
        match self.get(name) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }

    /// `Some` when the string flag was given (possibly empty).
    pub(crate) fn string(&self, name: &str) -> Option<String> {
        match self.get(name) {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        }
    }

    /// The string flag's value when given and non-empty.
    pub(crate) fn non_empty(&self, name: &str) -> Option<String> {
        self.string(name).filter(|s| !s.is_empty())
    }

    /// All values of a repeatable flag.
    pub(crate) fn strings(&self, name: &str) -> Vec<String> {
        match self.get(name) {
            Some(Value::Strings(v)) => v.clone(),
            _ => Vec::new(),
        }
    }
}

/// Checks `raw` flags (`--name[=value]`) against `specs`.
pub(crate) fn parse_flags(
    raw: &[String],
    specs: &[(&str, FlagType)],
) -> Result<FlagValues, String> {
    let mut values = FlagValues::default();
    for arg in raw {
        if arg == "--" {
            break;
        }
        let Some(body) = arg.strip_prefix("--") else {
            return Err(format!("arg should start with -- : {arg}"));
        };
        let (name, value) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v)),
            None => (body, None),
        };
        let flag_name = format!("--{name}");
        let Some(&(_, typ)) = specs.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = specs.iter().map(|(n, _)| *n).collect();
            return Err(with_suggestion(
                format!("unknown flag: {flag_name}"),
                name,
                &names,
                true,
            ));
        };
        let existing = values.used.iter().position(|(n, _)| n == name);
        if existing.is_some() && typ != FlagType::Strings {
            return Err(format!("duplicate flag specified: {flag_name}"));
        }
        let parsed = match typ {
            FlagType::Bool => {
                if value == Some("") {
                    return Err(format!("missing a value on flag: {flag_name}"));
                }
                match value.map(str::to_lowercase).as_deref() {
                    None | Some("true") => Value::Bool(true),
                    Some("false") => Value::Bool(false),
                    Some(_) => {
                        return Err(format!(
                            "expecting boolean value for flag {flag_name}, not: {}",
                            value.unwrap_or_default()
                        ))
                    }
                }
            }
            FlagType::String => match value {
                Some(v) => Value::String(v.to_string()),
                None => return Err(format!("missing a value on flag: {flag_name}")),
            },
            FlagType::Strings => {
                let Some(v) = value else {
                    return Err(format!("missing a value on flag: {flag_name}"));
                };
                match existing {
                    Some(idx) => {
                        if let Value::Strings(list) = &mut values.used[idx].1 {
                            list.push(v.to_string());
                        }
                        continue;
                    }
                    None => Value::Strings(vec![v.to_string()]),
                }
            }
        };
        values.used.push((name.to_string(), parsed));
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[(&str, FlagType)] = &[
        ("from", FlagType::String),
        ("link", FlagType::Bool),
        ("exclude", FlagType::Strings),
    ];

    fn parse(raw: &[&str]) -> Result<FlagValues, String> {
        let raw: Vec<String> = raw.iter().map(|s| s.to_string()).collect();
        parse_flags(&raw, SPECS)
    }

    #[test]
    fn values() {
        let v = parse(&["--from=a", "--link", "--exclude=x", "--exclude=y"]).unwrap();
        assert_eq!(v.string("from").as_deref(), Some("a"));
        assert_eq!(v.bool("link"), Some(true));
        assert_eq!(v.strings("exclude"), ["x", "y"]);
        let v = parse(&["--link=FALSE", "--from="]).unwrap();
        assert_eq!(v.bool("link"), Some(false));
        assert_eq!(v.string("from").as_deref(), Some(""));
        assert_eq!(v.non_empty("from"), None);
    }

    #[test]
    fn errors() {
        assert_eq!(parse(&["--xyz"]).unwrap_err(), "unknown flag: --xyz");
        assert_eq!(
            parse(&["--fromm=x"]).unwrap_err(),
            "unknown flag: --fromm (did you mean from?)"
        );
        assert_eq!(
            parse(&["--from=a", "--from=b"]).unwrap_err(),
            "duplicate flag specified: --from"
        );
        assert_eq!(
            parse(&["--from"]).unwrap_err(),
            "missing a value on flag: --from"
        );
        assert_eq!(
            parse(&["--link="]).unwrap_err(),
            "missing a value on flag: --link"
        );
        assert_eq!(
            parse(&["--link=yes"]).unwrap_err(),
            "expecting boolean value for flag --link, not: yes"
        );
        assert_eq!(parse(&["-x"]).unwrap_err(), "arg should start with -- : -x");
    }
}
