//! `wharf events` / `wharf system events`: docker's lines, templates and
//! JSON, streamed until interrupted (or `--until`).

use std::io::Write;
use std::process::ExitCode;

use serde_json::{json, Value};
use wharf_engine::events::EventsQuery;
use wharf_engine::Engine;
use wharf_format::{unescape_cli, Template};
use wharf_model::Event;

use crate::cli::EventsArgs;
use crate::exit::fail_with;

/// docker's human line: `TIME TYPE ACTION ID (k=v, ...)`, the time in
/// zone `tz` (docker: the local one) with nine fraction digits and `Z`
/// for offset zero (`jsonmessage.RFC3339NanoFixed`).
fn line<Tz: chrono::TimeZone>(e: &Event, tz: &Tz) -> String
where
    Tz::Offset: std::fmt::Display,
{
    let t = chrono::DateTime::from_timestamp_nanos(e.time_nano).with_timezone(tz);
    let mut s = format!(
        "{} {} {} {}",
        t.format("%Y-%m-%dT%H:%M:%S%.9f%:z")
            .to_string()
            .replace("+00:00", "Z"),
        e.typ,
        e.action,
        e.actor_id
    );
    if !e.attributes.is_empty() {
        let attrs: Vec<String> = e
            .attributes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        s.push_str(&format!(" ({})", attrs.join(", ")));
    }
    s
}

/// The event as a template sees it: Go's `events.Message` by field name
/// (`.Status`, `.ID`, `.Actor.Attributes.name`, `.TimeNano` ...).
fn template_data(e: &Event) -> Value {
    let m = e.message();
    let s = |k: &str| m.get(k).cloned().unwrap_or_else(|| Value::from(""));
    json!({
        "Status": s("status"),
        "ID": s("id"),
        "From": s("from"),
        "Type": m["Type"],
        "Action": m["Action"],
        "Actor": m["Actor"],
        "Scope": m["scope"],
        "Time": m["time"],
        "TimeNano": m["timeNano"],
    })
}

/// A `--since`/`--until` value in nanoseconds since the epoch.
fn time_flag(flag: &'static str, value: Option<&str>) -> anyhow::Result<Option<i64>> {
    let Some(v) = value else {
        return Ok(None);
    };
    match wharf_runtime::logs::parse_time_flag(flag, v, chrono::Utc::now()) {
        Ok(t) => Ok(t.timestamp_nanos_opt()),
        Err(wharf_runtime::logs::LogError::InvalidTime { reason, .. }) => {
            eprintln!("{reason}");
            Err(fail_with("", 1))
        }
        Err(e) => Err(e.into()),
    }
}

pub fn events(engine: &Engine, a: EventsArgs) -> anyhow::Result<ExitCode> {
    let filters = super::parse_filters(&a.filter, "events")?;
    let query = EventsQuery {
        since: time_flag("since", a.since.as_deref())?,
        until: time_flag("until", a.until.as_deref())?,
        filters,
    };
    // `json` prints docker's message; so does `{{json .}}`, whose dot is
    // the message with its JSON field names in docker.
    let format = a.format.as_deref().map(unescape_cli);
    let raw_json = matches!(
        format.as_deref().map(str::trim),
        Some("json") | Some("{{json .}}")
    );
    let template = match format.as_deref() {
        Some(f) if !raw_json && !f.is_empty() => Some(Template::parse(f)?),
        _ => None,
    };
    let mut out = std::io::stdout().lock();
    let mut failed: Option<anyhow::Error> = None;
    engine.events(&query, &mut |e| {
        let written = if raw_json {
            writeln!(out, "{}", e.message())
        } else if let Some(t) = &template {
            match t.render(&template_data(e)) {
                Ok(text) => writeln!(out, "{text}"),
                Err(err) => {
                    failed = Some(err.into());
                    return false;
                }
            }
        } else {
            writeln!(out, "{}", line(e, &chrono::Local))
        };
        match written.and_then(|_| out.flush()) {
            Ok(()) => true,
            Err(err) => {
                failed = Some(err.into());
                false
            }
        }
    })?;
    match failed {
        Some(e) => Err(e),
        None => Ok(ExitCode::SUCCESS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_like_dockers() {
        let e = Event {
            typ: wharf_model::EventType::Container,
            action: "die".into(),
            actor_id: "3a6e".into(),
            attributes: [
                ("exitCode".to_string(), "137".to_string()),
                ("image".into(), "he-bb".into()),
                ("name".into(), "he3".into()),
            ]
            .into(),
            time_nano: 1_796_541_539_113_733_830,
        };
        assert_eq!(
            line(&e, &chrono::Utc),
            "2026-12-06T07:18:59.113733830Z container die 3a6e (exitCode=137, image=he-bb, name=he3)"
        );
        let d = template_data(&e);
        assert_eq!(d["Status"], "die");
        assert_eq!(d["Actor"]["Attributes"]["name"], "he3");
        let v = Event::new(wharf_model::EventType::Volume, "create", "v");
        assert_eq!(template_data(&v)["Status"], "");
    }
}
