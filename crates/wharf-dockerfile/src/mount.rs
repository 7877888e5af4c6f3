//! `RUN --mount=...` specs (BuildKit's `parseMount`).
//!
//! At parse time BuildKit only checks the CSV syntax and that `from=` has no
//! variable; the full spec is interpreted at build time, after expanding each
//! value with the stage environment: that is [`Mount::parse`].

use crate::error::LexError;
use crate::suggest::with_suggestion;

/// Mount type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MountType {
    #[default]
    Bind,
    Cache,
    Tmpfs,
    Secret,
    Ssh,
}

impl MountType {
    /// Lowercase name as used in specs.
    pub fn as_str(&self) -> &'static str {
        match self {
            MountType::Bind => "bind",
            MountType::Cache => "cache",
            MountType::Tmpfs => "tmpfs",
            MountType::Secret => "secret",
            MountType::Ssh => "ssh",
        }
    }
}

/// Cache mount sharing mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheSharing {
    Shared,
    Private,
    Locked,
}

/// A parsed `--mount` spec.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Mount {
    pub mount_type: MountType,
    pub from: Option<String>,
    pub source: Option<String>,
    pub target: Option<String>,
    /// Explicit `ro`/`rw`, else read-only except for cache and tmpfs mounts.
    pub readonly: bool,
    /// tmpfs `size=` in bytes.
    pub size_limit: Option<i64>,
    /// Cache (or secret) `id=`.
    pub id: Option<String>,
    pub sharing: Option<CacheSharing>,
    /// Secret/ssh `required`.
    pub required: bool,
    /// Secret `env=` variable name.
    pub env: Option<String>,
    pub mode: Option<u32>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

/// Why a mount spec is invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MountError {
    /// Expanding a value failed.
    #[error(transparent)]
    Expand(#[from] LexError),
    /// The spec itself is invalid.
    #[error("{0}")]
    Invalid(String),
}

const MOUNT_TYPES: &[&str] = &["bind", "cache", "tmpfs", "secret", "ssh"];
const SHARING_MODES: &[&str] = &["shared", "private", "locked"];
const KEYS: &[&str] = &[
    "type",
    "from",
    "source",
    "target",
    "readonly",
    "id",
    "sharing",
    "required",
    "size",
    "mode",
    "uid",
    "gid",
    "src",
    "dst",
    "destination",
    "ro",
    "rw",
    "readwrite",
    "env",
];

/// Splits one CSV record (`"` quoting, `""` for a quote inside quotes).
fn csv_fields(record: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    if record.is_empty() {
        return Ok(fields);
    }
    let chars: Vec<char> = record.chars().collect();
    let mut i = 0;
    loop {
        let mut field = String::new();
        if chars.get(i) == Some(&'"') {
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err("extraneous or missing \" in quoted-field".to_string()),
                    Some('"') if chars.get(i + 1) == Some(&'"') => {
                        field.push('"');
                        i += 2;
                    }
                    Some('"') => {
                        i += 1;
                        break;
                    }
                    Some(&c) => {
                        field.push(c);
                        i += 1;
                    }
                }
            }
            if !matches!(chars.get(i), None | Some(',')) {
                return Err("extraneous or missing \" in quoted-field".to_string());
            }
        } else {
            while let Some(&c) = chars.get(i) {
                if c == ',' {
                    break;
                }
                if c == '"' {
                    return Err("bare \" in non-quoted-field".to_string());
                }
                field.push(c);
                i += 1;
            }
        }
        fields.push(field);
        if i >= chars.len() {
            return Ok(fields);
        }
        i += 1; // ','
        if i == chars.len() {
            fields.push(String::new());
            return Ok(fields);
        }
    }
}

/// Go's `strconv.ParseBool`.
fn parse_bool(value: &str) -> Option<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// docker/go-units `RAMInBytes`: `512m`, `1.5GiB`, `1024` (binary units).
fn ram_in_bytes(value: &str) -> Option<i64> {
    let num_len = value
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(value.len());
    let (num, suffix) = value.split_at(num_len);
    if num.is_empty() || !num.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let number: f64 = num.parse().ok()?;
    let suffix = suffix.strip_prefix(' ').unwrap_or(suffix);
    let mut rest = suffix.chars().peekable();
    let mut multiplier: f64 = 1.0;
    if let Some(&c) = rest.peek() {
        let power = match c.to_ascii_lowercase() {
            'k' => Some(1),
            'm' => Some(2),
            'g' => Some(3),
            't' => Some(4),
            'p' => Some(5),
            _ => None,
        };
        if let Some(p) = power {
            multiplier = 1024f64.powi(p);
            rest.next();
        }
    }
    if rest.peek().is_some_and(|c| c.eq_ignore_ascii_case(&'i')) {
        rest.next();
    }
    if rest.peek().is_some_and(|c| c.eq_ignore_ascii_case(&'b')) {
        rest.next();
    }
    if rest.next().is_some() {
        return None;
    }
    Some((number * multiplier) as i64)
}

/// Parse-time check: CSV syntax and no variables in `from=`.
pub(crate) fn check_mount_syntax(spec: &str) -> Result<(), String> {
    let fields = csv_fields(spec).map_err(|e| format!("failed to parse csv mounts: {e}"))?;
    for field in fields {
        if let Some((key, value)) = field.split_once('=') {
            if key.eq_ignore_ascii_case("from") {
                if let Some(idx) = value.find('$') {
                    if idx != value.len() - 1 {
                        return Err(
                            "'from' doesn't support variable expansion, define alias stage instead"
                                .to_string(),
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

impl Mount {
    /// Parses a `--mount` value, passing every `key=value` value through
    /// `expand` first (e.g. `|w| lexer.process_word(w, env)`).
    pub fn parse(
        spec: &str,
        expand: &mut dyn FnMut(&str) -> Result<String, LexError>,
    ) -> Result<Mount, MountError> {
        let invalid = |msg: String| MountError::Invalid(msg);
        let fields =
            csv_fields(spec).map_err(|e| invalid(format!("failed to parse csv mounts: {e}")))?;
        let mut m = Mount::default();
        let mut ro_auto = true;
        let secret_or_ssh = |m: &Mount| matches!(m.mount_type, MountType::Secret | MountType::Ssh);
        let unexpected = |key: &str, m: &Mount| {
            invalid(format!(
                "unexpected key '{key}' for mount type '{}'",
                m.mount_type.as_str()
            ))
        };

        for field in &fields {
            let Some((key, raw_value)) = field.split_once('=') else {
                match field.to_lowercase().as_str() {
                    "readonly" | "ro" => {
                        m.readonly = true;
                        ro_auto = false;
                    }
                    "readwrite" | "rw" => {
                        m.readonly = false;
                        ro_auto = false;
                    }
                    "required" if secret_or_ssh(&m) => m.required = true,
                    "required" => return Err(unexpected("required", &m)),
                    _ => {
                        return Err(invalid(format!(
                            "invalid field '{field}' must be a key=value pair"
                        )))
                    }
                }
                continue;
            };
            let key = key.to_lowercase();
            let value = expand(raw_value)?;
            let bad_value = || invalid(format!("invalid value for {key}: {value}"));
            match key.as_str() {
                "type" => {
                    m.mount_type = match value.to_lowercase().as_str() {
                        "bind" => MountType::Bind,
                        "cache" => MountType::Cache,
                        "tmpfs" => MountType::Tmpfs,
                        "secret" => MountType::Secret,
                        "ssh" => MountType::Ssh,
                        _ => {
                            return Err(invalid(with_suggestion(
                                format!("unsupported mount type {value:?}"),
                                &value,
                                MOUNT_TYPES,
                                true,
                            )))
                        }
                    }
                }
                "from" => m.from = Some(value),
                "source" | "src" => m.source = Some(value),
                "target" | "dst" | "destination" => m.target = Some(value),
                "readonly" | "ro" => {
                    m.readonly = parse_bool(&value).ok_or_else(bad_value)?;
                    ro_auto = false;
                }
                "readwrite" | "rw" => {
                    m.readonly = !parse_bool(&value).ok_or_else(bad_value)?;
                    ro_auto = false;
                }
                "required" if secret_or_ssh(&m) => {
                    m.required = parse_bool(&value).ok_or_else(bad_value)?;
                }
                "required" => return Err(unexpected(&key, &m)),
                "size" if m.mount_type == MountType::Tmpfs => {
                    m.size_limit = Some(ram_in_bytes(&value).ok_or_else(bad_value)?);
                }
                "size" => return Err(unexpected(&key, &m)),
                "id" => m.id = Some(value),
                "sharing" => {
                    m.sharing = Some(match value.to_lowercase().as_str() {
                        "shared" => CacheSharing::Shared,
                        "private" => CacheSharing::Private,
                        "locked" => CacheSharing::Locked,
                        _ => {
                            return Err(invalid(with_suggestion(
                                format!("unsupported sharing value {value:?}"),
                                &value,
                                SHARING_MODES,
                                true,
                            )))
                        }
                    })
                }
                "mode" => {
                    m.mode = Some(
                        u32::from_str_radix(&value, 8)
                            .map_err(|_| invalid(format!("invalid value {value} for mode")))?,
                    )
                }
                "uid" => {
                    m.uid = Some(
                        value
                            .parse()
                            .map_err(|_| invalid(format!("invalid value {value} for uid")))?,
                    )
                }
                "gid" => {
                    m.gid = Some(
                        value
                            .parse()
                            .map_err(|_| invalid(format!("invalid value {value} for gid")))?,
                    )
                }
                "env" => m.env = Some(value),
                _ => {
                    return Err(invalid(with_suggestion(
                        format!("unexpected key '{key}' in '{field}'"),
                        &key,
                        KEYS,
                        true,
                    )))
                }
            }
        }

        let t = m.mount_type;
        if !matches!(t, MountType::Secret | MountType::Ssh | MountType::Cache) {
            for (set, what) in [(m.mode, "mode"), (m.uid, "uid"), (m.gid, "gid")] {
                if set.is_some() {
                    return Err(invalid(format!(
                        "{what} not allowed for {:?} type mounts",
                        t.as_str()
                    )));
                }
            }
        }
        if ro_auto {
            m.readonly = !matches!(t, MountType::Cache | MountType::Tmpfs);
        }
        let set = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.is_empty());
        if t == MountType::Secret {
            if set(&m.from) {
                return Err(invalid("secret mount should not have a from".to_string()));
            }
            if m.sharing.is_some() {
                return Err(invalid(
                    "secret mount should not define sharing".to_string(),
                ));
            }
            if !set(&m.source) && !set(&m.target) && !set(&m.id) {
                return Err(invalid(
                    "invalid secret mount. one of source, target required".to_string(),
                ));
            }
            if set(&m.source) && set(&m.id) {
                return Err(invalid("both source and id can't be set".to_string()));
            }
        }
        if m.sharing.is_some() && t != MountType::Cache {
            return Err(invalid(format!(
                "invalid cache sharing set for {} mount",
                t.as_str()
            )));
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(spec: &str) -> Result<Mount, MountError> {
        Mount::parse(spec, &mut |w: &str| Ok(w.to_string()))
    }

    #[test]
    fn csv() {
        assert_eq!(csv_fields("a,b=c").unwrap(), ["a", "b=c"]);
        assert_eq!(csv_fields("\"a,b\",c").unwrap(), ["a,b", "c"]);
        assert_eq!(csv_fields("\"a\"\"b\"").unwrap(), ["a\"b"]);
        assert_eq!(csv_fields("a,").unwrap(), ["a", ""]);
        assert!(csv_fields("a\"b").is_err());
        assert!(csv_fields("\"ab").is_err());
    }

    #[test]
    fn cache_mount() {
        let m = parse("type=cache,target=/root/.cache,sharing=locked,id=go").unwrap();
        assert_eq!(m.mount_type, MountType::Cache);
        assert_eq!(m.target.as_deref(), Some("/root/.cache"));
        assert_eq!(m.sharing, Some(CacheSharing::Locked));
        assert_eq!(m.id.as_deref(), Some("go"));
        assert!(!m.readonly);
    }

    #[test]
    fn bind_defaults_readonly() {
        let m = parse("target=/src,from=build,source=/out").unwrap();
        assert_eq!(m.mount_type, MountType::Bind);
        assert!(m.readonly);
        let m = parse("target=/src,rw").unwrap();
        assert!(!m.readonly);
    }

    #[test]
    fn tmpfs_and_secret() {
        let m = parse("type=tmpfs,target=/t,size=64m").unwrap();
        assert_eq!(m.size_limit, Some(64 * 1024 * 1024));
        let m = parse("type=secret,id=tok,required,env=TOKEN,mode=0400,uid=1").unwrap();
        assert!(m.required);
        assert_eq!(m.mode, Some(0o400));
        assert_eq!(m.env.as_deref(), Some("TOKEN"));
    }

    #[test]
    fn errors() {
        let err = |s: &str| parse(s).unwrap_err().to_string();
        assert_eq!(
            err("type=cahce"),
            "unsupported mount type \"cahce\" (did you mean cache?)"
        );
        assert_eq!(
            err("target"),
            "invalid field 'target' must be a key=value pair"
        );
        assert_eq!(
            err("type=bind,mode=0700"),
            "mode not allowed for \"bind\" type mounts"
        );
        assert_eq!(
            err("type=secret"),
            "invalid secret mount. one of source, target required"
        );
        assert_eq!(
            err("type=bind,sharing=shared"),
            "invalid cache sharing set for bind mount"
        );
        assert_eq!(err("xyz=bar"), "unexpected key 'xyz' in 'xyz=bar'");
        assert_eq!(
            err("foo=bar"),
            "unexpected key 'foo' in 'foo=bar' (did you mean from?)"
        );
        assert_eq!(
            err("type=bind,required"),
            "unexpected key 'required' for mount type 'bind'"
        );
        assert_eq!(
            err("type=bind,size=1g"),
            "unexpected key 'size' for mount type 'bind'"
        );
    }

    #[test]
    fn syntax_check() {
        assert!(check_mount_syntax("type=bind,from=$X").is_err());
        assert!(check_mount_syntax("type=bind,from=x$").is_ok());
        assert!(check_mount_syntax("type=cache,target=$HOME").is_ok());
    }

    #[test]
    fn ram() {
        assert_eq!(ram_in_bytes("1024"), Some(1024));
        assert_eq!(ram_in_bytes("1k"), Some(1024));
        assert_eq!(ram_in_bytes("1.5GiB"), Some(1610612736));
        assert_eq!(ram_in_bytes("2 MB"), Some(2 * 1024 * 1024));
        assert_eq!(ram_in_bytes("x"), None);
        assert_eq!(ram_in_bytes("1q"), None);
    }
}
