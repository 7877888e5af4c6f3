//! History entries as BuildKit writes them: `created_by` strings (Go's
//! `%v`/`%q` renderings of the instruction's values) and the timestamp
//! rules of its image exporter.

use std::collections::BTreeMap;

use wharf_oci::config::{EmptyObject, HealthConfig};
use wharf_oci::History;

pub const COMMENT: &str = "buildkit.dockerfile.v0";

/// Go's `%q` of a string slice: `["npm" "start"]`.
pub fn go_quoted_list(items: &[String]) -> String {
    let q: Vec<String> = items
        .iter()
        .map(|s| serde_json::to_string(s).unwrap_or_default())
        .collect();
    format!("[{}]", q.join(" "))
}

/// Go's `%v` of a string slice: `[/bin/sh -c]`.
pub fn go_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

/// Go's `%v` of a `map[string]struct{}`: `map[53/udp:{} 80/tcp:{}]`.
pub fn go_set(set: &BTreeMap<String, EmptyObject>) -> String {
    let items: Vec<String> = set.keys().map(|k| format!("{k}:{{}}")).collect();
    format!("map[{}]", items.join(" "))
}

fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let d = std::time::Duration::from_nanos(ns as u64);
    let secs = d.as_secs_f64();
    if secs >= 60.0 {
        let m = (secs / 60.0).floor();
        let s = secs - m * 60.0;
        if s == 0.0 {
            format!("{m}m0s")
        } else {
            format!("{m}m{s}s")
        }
    } else if secs >= 1.0 {
        format!("{secs}s")
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// Docker 20.10's `%v` of a `*HealthConfig`:
/// `&{["CMD-SHELL" "echo ok"] "5s" "0s" "0s" '\x00'}`.
pub fn go_healthcheck(h: &HealthConfig) -> String {
    let test = go_quoted_list(h.test.as_deref().unwrap_or(&[]));
    let retries = match h.retries {
        0 => "'\\x00'".to_string(),
        r => match char::from_u32(r as u32) {
            Some(c) if !c.is_control() => format!("'{c}'"),
            _ => format!("'\\x{:02x}'", r),
        },
    };
    format!(
        "&{{{test} {:?} {:?} {:?} {retries}}}",
        go_duration(h.interval),
        go_duration(h.timeout),
        go_duration(h.start_period)
    )
}

/// A history entry of this build; `created` is filled in by [`normalize`]
/// for entries without a layer.
pub fn entry(created_by: String, created: Option<String>, empty_layer: bool) -> History {
    History {
        created,
        author: None,
        created_by: Some(created_by),
        comment: Some(COMMENT.into()),
        empty_layer,
    }
}

/// BuildKit's exporter: an entry without a time gets the time of the first
/// new layer when it comes before any (so it is not stamped with a base
/// image's time), otherwise that of the last layer before it. `first_new`
/// is the index of the first entry this build added.
pub fn normalize(history: &mut [History], first_new: usize, build_time: &str) {
    let first_layer_time = history[first_new..]
        .iter()
        .find_map(|h| h.created.clone())
        .unwrap_or_else(|| build_time.to_string());
    let mut current = first_layer_time;
    for h in &mut history[first_new..] {
        match &h.created {
            Some(t) => current = t.clone(),
            None => h.created = Some(current.clone()),
        }
    }
}

/// `SOURCE_DATE_EPOCH`: history times later than `epoch` become it (a
/// base image's older ones stay), as BuildKit's exporter clamps them.
pub fn clamp(history: &mut [History], epoch: i64) {
    let Some(limit) = chrono::DateTime::from_timestamp(epoch, 0) else {
        return;
    };
    let stamp = wharf_oci::config::format_time(limit);
    for h in history {
        let later = match h
            .created
            .as_deref()
            .map(chrono::DateTime::parse_from_rfc3339)
        {
            Some(Ok(t)) => t > limit,
            _ => true,
        };
        if later {
            h.created = Some(stamp.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_renderings() {
        let l = vec!["npm".to_string(), "start".to_string()];
        assert_eq!(go_quoted_list(&l), "[\"npm\" \"start\"]");
        assert_eq!(go_list(&l), "[npm start]");
        let mut s = BTreeMap::new();
        s.insert("80/tcp".to_string(), EmptyObject {});
        s.insert("53/udp".to_string(), EmptyObject {});
        assert_eq!(go_set(&s), "map[53/udp:{} 80/tcp:{}]");
        let h = HealthConfig {
            test: Some(vec!["CMD-SHELL".into(), "echo ok".into()]),
            interval: 5_000_000_000,
            ..Default::default()
        };
        assert_eq!(
            go_healthcheck(&h),
            "&{[\"CMD-SHELL\" \"echo ok\"] \"5s\" \"0s\" \"0s\" '\\x00'}"
        );
    }

    #[test]
    fn timestamps_like_buildkit() {
        let mut h = vec![
            History {
                created: Some("base".into()),
                ..Default::default()
            },
            entry("ARG V=2".into(), None, true),
            entry("RUN x".into(), Some("t1".into()), false),
            entry("USER x".into(), None, true),
            entry("RUN y".into(), Some("t2".into()), false),
        ];
        normalize(&mut h, 1, "now");
        let times: Vec<_> = h.iter().map(|e| e.created.clone().unwrap()).collect();
        assert_eq!(times, ["base", "t1", "t1", "t1", "t2"]);
    }

    #[test]
    fn epoch_clamps_later_times_only() {
        let at = |t: &str| History {
            created: Some(t.into()),
            ..Default::default()
        };
        let mut h = vec![at("2001-01-01T00:00:00Z"), at("2030-05-06T07:08:09.5Z")];
        clamp(&mut h, 1_700_000_000);
        let times: Vec<_> = h.iter().map(|e| e.created.clone().unwrap()).collect();
        assert_eq!(times, ["2001-01-01T00:00:00Z", "2023-11-14T22:13:20Z"]);
    }
}
