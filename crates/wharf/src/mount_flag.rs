//! The docker CLI's client-side reading of `--mount`: a CSV line of
//! `key=value` fields. (Like docker 20.10's CLI, relative sources are
//! passed on as they are, for the engine to refuse.)

use std::collections::BTreeMap;

use wharf_engine::volumes::{BindOptions, DriverConfig, Mount, TmpfsOptions, VolumeOptions};
use wharf_format::parse_size;

/// Go's `strconv.ParseBool`.
fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// One CSV record the way Go's `encoding/csv` reads it (quotes around a
/// field allow commas; `""` inside quotes is a quote).
fn csv_fields(line: &str) -> Result<Vec<String>, String> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    let mut column = 0;
    loop {
        let mut field = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            column += 1;
            loop {
                match chars.next() {
                    Some('"') if chars.peek() == Some(&'"') => {
                        chars.next();
                        column += 2;
                        field.push('"');
                    }
                    Some('"') => {
                        column += 1;
                        break;
                    }
                    Some(c) => {
                        column += 1;
                        field.push(c);
                    }
                    None => {
                        return Err(format!(
                            "parse error on line 1, column {}: extraneous or missing \" in quoted-field",
                            column + 1
                        ))
                    }
                }
            }
            match chars.peek() {
                None | Some(',') => {}
                Some(_) => {
                    return Err(format!(
                    "parse error on line 1, column {}: extraneous or missing \" in quoted-field",
                    column + 1
                ))
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                column += 1;
                if c == '"' {
                    return Err(format!(
                        "parse error on line 1, column {column}: bare \" in non-quoted-field"
                    ));
                }
                field.push(c);
                chars.next();
            }
        }
        fields.push(field);
        match chars.next() {
            Some(',') => column += 1,
            _ => return Ok(fields),
        }
    }
}

/// `--mount type=...,source=...,target=...,...` into docker's mount struct.
/// The error is the cause only; the caller names the flag.
pub fn parse_mount_flag(value: &str) -> Result<Mount, String> {
    let mut m = Mount {
        kind: "volume".into(),
        ..Default::default()
    };
    let mut volume: Option<VolumeOptions> = None;
    let mut bind: Option<BindOptions> = None;
    let mut tmpfs: Option<TmpfsOptions> = None;
    let set_on_map = |map: &mut BTreeMap<String, String>, v: &str| {
        let (k, v) = v.split_once('=').unwrap_or((v, ""));
        if !k.is_empty() {
            map.insert(k.to_string(), v.to_string());
        }
    };
    for field in csv_fields(value)? {
        let (key, val) = match field.split_once('=') {
            Some((k, v)) => (k.to_ascii_lowercase(), v.to_string()),
            None => {
                match field.to_ascii_lowercase().as_str() {
                    "readonly" | "ro" => m.read_only = true,
                    "volume-nocopy" => volume.get_or_insert_with(Default::default).no_copy = true,
                    "bind-nonrecursive" => {
                        bind.get_or_insert_with(Default::default).non_recursive = true
                    }
                    _ => return Err(format!("invalid field '{field}' must be a key=value pair")),
                }
                continue;
            }
        };
        let bad_value = || format!("invalid value for {key}: {val}");
        match key.as_str() {
            "type" => m.kind = val.to_ascii_lowercase(),
            "source" | "src" => m.source = val.clone(),
            "target" | "dst" | "destination" => m.target = val.clone(),
            "readonly" | "ro" => m.read_only = parse_bool(&val).ok_or_else(bad_value)?,
            "consistency" => m.consistency = val.to_ascii_lowercase(),
            "bind-propagation" => {
                bind.get_or_insert_with(Default::default).propagation = val.to_ascii_lowercase()
            }
            "bind-nonrecursive" => {
                bind.get_or_insert_with(Default::default).non_recursive =
                    parse_bool(&val).ok_or_else(bad_value)?
            }
            "volume-driver" => {
                volume
                    .get_or_insert_with(Default::default)
                    .driver_config
                    .get_or_insert_with(DriverConfig::default)
                    .name = val.clone()
            }
            "volume-opt" => set_on_map(
                &mut volume
                    .get_or_insert_with(Default::default)
                    .driver_config
                    .get_or_insert_with(DriverConfig::default)
                    .options,
                &val,
            ),
            "volume-label" => set_on_map(
                &mut volume.get_or_insert_with(Default::default).labels,
                &val,
            ),
            "volume-nocopy" => {
                volume.get_or_insert_with(Default::default).no_copy =
                    parse_bool(&val).ok_or_else(bad_value)?
            }
            "tmpfs-size" => {
                tmpfs.get_or_insert_with(Default::default).size_bytes =
                    parse_size(&val).map_err(|_| bad_value())?
            }
            "tmpfs-mode" => {
                tmpfs.get_or_insert_with(Default::default).mode =
                    u32::from_str_radix(&val, 8).map_err(|_| bad_value())?
            }
            _ => return Err(format!("unexpected key '{key}' in '{field}'")),
        }
    }
    if m.kind.is_empty() {
        return Err("type is required".into());
    }
    if m.target.is_empty() {
        return Err("target is required".into());
    }
    if volume.is_some() && m.kind != "volume" {
        return Err(format!(
            "cannot mix 'volume-*' options with mount type '{}'",
            m.kind
        ));
    }
    if bind.is_some() && m.kind != "bind" {
        return Err(format!(
            "cannot mix 'bind-*' options with mount type '{}'",
            m.kind
        ));
    }
    if tmpfs.is_some() && m.kind != "tmpfs" {
        return Err(format!(
            "cannot mix 'tmpfs-*' options with mount type '{}'",
            m.kind
        ));
    }
    if let Some(v) = &mut volume {
        // The docker CLI always sends a (maybe empty) DriverConfig.
        v.driver_config.get_or_insert_with(DriverConfig::default);
    }
    m.volume_options = volume;
    m.bind_options = bind;
    m.tmpfs_options = tmpfs;
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_fields() {
        let m = parse_mount_flag("type=bind,src=/tmp,dst=/x,readonly,bind-propagation=rshared")
            .unwrap();
        assert_eq!(m.kind, "bind");
        assert_eq!(m.source, "/tmp");
        assert_eq!(m.target, "/x");
        assert!(m.read_only);
        assert_eq!(m.bind_options.unwrap().propagation, "rshared");

        let m = parse_mount_flag("target=/data,source=v1,volume-nocopy,volume-label=a=b").unwrap();
        assert_eq!(m.kind, "volume");
        let v = m.volume_options.unwrap();
        assert!(v.no_copy);
        assert_eq!(v.labels["a"], "b");

        let m =
            parse_mount_flag("type=tmpfs,destination=/t,tmpfs-size=1m,tmpfs-mode=0700").unwrap();
        assert_eq!(
            m.tmpfs_options,
            Some(TmpfsOptions {
                size_bytes: 1 << 20,
                mode: 0o700
            })
        );
        let m = parse_mount_flag("\"type=bind\",\"src=/a,b\",dst=/x").unwrap();
        assert_eq!(m.source, "/a,b");
    }

    #[test]
    fn mount_errors_say_what_docker_says() {
        let e = |s: &str| parse_mount_flag(s).unwrap_err();
        assert_eq!(e("type=volume"), "target is required");
        assert_eq!(
            e("target=/x,bogus=1"),
            "unexpected key 'bogus' in 'bogus=1'"
        );
        assert_eq!(
            e("type=tmpfs,target=/x,tmpfs-size=abc"),
            "invalid value for tmpfs-size: abc"
        );
        assert_eq!(
            e("type=tmpfs,target=/x,tmpfs-mode=999"),
            "invalid value for tmpfs-mode: 999"
        );
        assert_eq!(
            e("type=bind,src=/tmp,target=/x,volume-nocopy"),
            "cannot mix 'volume-*' options with mount type 'bind'"
        );
        assert_eq!(
            e("type=volume,target=/x,bind-propagation=shared"),
            "cannot mix 'bind-*' options with mount type 'volume'"
        );
        assert_eq!(
            e("type=volume,target=/x,readonly=maybe"),
            "invalid value for readonly: maybe"
        );
        assert_eq!(
            e("type=volume,target"),
            "invalid field 'target' must be a key=value pair"
        );
        assert_eq!(
            e("type=volume,target=/x,\"a"),
            "parse error on line 1, column 25: extraneous or missing \" in quoted-field"
        );
    }
}
