//! The short syntax of service volumes (`./src:/src:ro`, `data:/data`,
//! `/tmp`), parsed as compose-go's `format.ParseVolume`.

use serde_json::{json, Map, Value};

use crate::error::{invalid, Result};

/// A parsed short volume spec.
#[derive(Debug, Default, Clone)]
pub struct VolumeSpec {
    pub kind: &'static str,
    pub source: String,
    pub target: String,
    pub read_only: bool,
    pub nocopy: bool,
    pub selinux: String,
    pub propagation: String,
    /// Whether the bind / volume sub-objects are present.
    pub bind: bool,
    pub volume: bool,
}

impl VolumeSpec {
    /// The long syntax, as Compose's canonical form writes it.
    pub fn to_long(&self) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), json!(self.kind));
        if !self.source.is_empty() {
            m.insert("source".into(), json!(self.source));
        }
        if !self.target.is_empty() {
            m.insert("target".into(), json!(self.target));
        }
        if self.read_only {
            m.insert("read_only".into(), json!(true));
        }
        if self.bind {
            let mut b = Map::new();
            if !self.selinux.is_empty() {
                b.insert("selinux".into(), json!(self.selinux));
            }
            if !self.propagation.is_empty() {
                b.insert("propagation".into(), json!(self.propagation));
            }
            if self.kind == "bind" {
                b.insert("create_host_path".into(), json!(true));
            }
            m.insert("bind".into(), Value::Object(b));
        }
        if self.volume {
            let mut v = Map::new();
            if self.nocopy {
                v.insert("nocopy".into(), json!(true));
            }
            m.insert("volume".into(), Value::Object(v));
        }
        Value::Object(m)
    }
}

fn is_windows_drive(buf: &[char], c: char) -> bool {
    c == ':' && buf.len() == 1 && buf[0].is_alphabetic()
}

fn is_file_path(source: &str) -> bool {
    let mut chars = source.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if matches!(first, '.' | '/' | '~') || source.starts_with("\\\\") {
        return true;
    }
    chars.next().is_some_and(|c| is_windows_drive(&[first], c))
}

pub fn parse_volume(spec: &str) -> Result<VolumeSpec> {
    let mut v = VolumeSpec::default();
    match spec.len() {
        0 => return Err(invalid("invalid empty volume spec")),
        1 | 2 => {
            v.target = spec.to_string();
            v.kind = "volume";
            return Ok(v);
        }
        _ => {}
    }
    let bytes = spec.as_bytes();
    let mut buf: Vec<char> = Vec::new();
    let mut in_var = 0;
    let chars: Vec<(usize, char)> = spec.char_indices().chain([(spec.len(), '\0')]).collect();
    for (i, c) in chars {
        if c == '$' && i + 1 < spec.len() && bytes[i + 1] == b'{' {
            in_var += 1;
            buf.push(c);
            continue;
        }
        if c == '}' && in_var > 0 {
            in_var -= 1;
            buf.push(c);
            continue;
        }
        if is_windows_drive(&buf, c) {
            buf.push(c);
        } else if (c == ':' || c == '\0') && in_var == 0 {
            if let Err(e) = populate(c, &buf, &mut v) {
                return Err(invalid(format!("invalid spec: {spec}: {e}")));
            }
            buf.clear();
        } else {
            buf.push(c);
        }
    }
    if is_file_path(&v.source) {
        v.kind = "bind";
        v.bind = true;
    } else {
        v.kind = "volume";
        v.volume = true;
    }
    Ok(v)
}

fn populate(c: char, buf: &[char], v: &mut VolumeSpec) -> Result<(), &'static str> {
    let s: String = buf.iter().collect();
    if buf.is_empty() {
        return Err("empty section between colons");
    }
    if v.source.is_empty() && c == '\0' {
        v.target = s;
        return Ok(());
    }
    if v.source.is_empty() {
        v.source = s;
        return Ok(());
    }
    if v.target.is_empty() {
        v.target = s;
        return Ok(());
    }
    if c == ':' {
        return Err("too many colons");
    }
    for opt in s.split(',') {
        match opt {
            "ro" => v.read_only = true,
            "rw" => v.read_only = false,
            "nocopy" => {
                v.volume = true;
                v.nocopy = true;
            }
            "rprivate" | "private" | "rshared" | "shared" | "rslave" | "slave" => {
                v.bind = true;
                v.propagation = opt.to_string();
            }
            "z" | "Z" => {
                v.bind = true;
                v.selinux = opt.to_string();
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_syntax() {
        let v = parse_volume("./src:/src:ro,z").unwrap();
        assert_eq!(
            v.to_long(),
            json!({"type": "bind", "source": "./src", "target": "/src", "read_only": true, "bind": {"selinux": "z", "create_host_path": true}})
        );
        let v = parse_volume("data:/data:nocopy").unwrap();
        assert_eq!(
            v.to_long(),
            json!({"type": "volume", "source": "data", "target": "/data", "volume": {"nocopy": true}})
        );
        let v = parse_volume("/tmp").unwrap();
        assert_eq!(
            v.to_long(),
            json!({"type": "volume", "target": "/tmp", "volume": {}})
        );
        assert_eq!(
            parse_volume("vol:/b:ro:x").unwrap_err().to_string(),
            "invalid spec: vol:/b:ro:x: too many colons"
        );
    }
}
