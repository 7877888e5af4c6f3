//! `--since`/`--until` parsing.

use chrono::FixedOffset;

use super::t;
use crate::logs::timearg::parse_in;
use crate::logs::{parse_time_arg, parse_time_flag, LogError};

const NOW: &str = "2026-11-22T05:00:21.75Z";

fn utc(s: &str) -> String {
    at(s, 0)
}

/// Parse with the local zone `east` seconds east of UTC.
fn at(s: &str, east: i32) -> String {
    let zone = FixedOffset::east_opt(east).unwrap();
    match parse_in("since", s, t(NOW), zone) {
        Ok(v) => v.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn relative_durations_count_back_from_now_in_whole_seconds() {
    assert_eq!(utc("10m"), "2026-11-22T04:50:21Z");
    assert_eq!(utc("1h30m"), "2026-11-22T03:30:21Z");
    assert_eq!(utc("42s"), "2026-11-22T04:59:39Z");
    assert_eq!(utc("1.5h"), "2026-11-22T03:30:21Z");
    assert_eq!(utc("500ms"), "2026-11-22T05:00:21Z");
    assert_eq!(utc("0s"), "2026-11-22T05:00:21Z");
    assert_eq!(utc("-1h"), "2026-11-22T06:00:21Z");
    assert_eq!(utc("2h45m30.5s"), "2026-11-22T02:14:51Z");
}

#[test]
fn rfc3339_and_shorter_forms() {
    assert_eq!(utc("2013-01-02T13:23:37Z"), "2013-01-02T13:23:37Z");
    assert_eq!(
        utc("2013-01-02T13:23:37.123456789Z"),
        "2013-01-02T13:23:37.123456789Z"
    );
    assert_eq!(
        utc("2013-01-02T13:23:37.5+02:00"),
        "2013-01-02T11:23:37.500Z"
    );
    assert_eq!(utc("2013-01-02T13:23:37-07:00"), "2013-01-02T20:23:37Z");
    assert_eq!(utc("2013-01-02T13:23Z"), "2013-01-02T13:23:00Z");
    assert_eq!(utc("2013-01-02T13"), "2013-01-02T13:00:00Z");
    // No zone: the local one.
    assert_eq!(at("2013-01-02T13:23:37", 2 * 3600), "2013-01-02T11:23:37Z");
    assert_eq!(
        at("2013-01-02T13:23:37.25", -3600),
        "2013-01-02T14:23:37.250Z"
    );
    assert_eq!(at("2013-01-02T13:23:37Z", 2 * 3600), "2013-01-02T13:23:37Z");
}

#[test]
fn dates() {
    assert_eq!(utc("2006-01-02"), "2006-01-02T00:00:00Z");
    assert_eq!(at("2006-01-02", 3600), "2006-01-01T23:00:00Z");
    assert_eq!(utc("2006-01-02Z"), "2006-01-02T00:00:00Z");
    assert_eq!(utc("2006-01-02+01:00"), "2006-01-01T23:00:00Z");
}

#[test]
fn unix_timestamps() {
    assert_eq!(utc("1136073600"), "2006-01-01T00:00:00Z");
    assert_eq!(
        utc("1136073600.000000001"),
        "2006-01-01T00:00:00.000000001Z"
    );
    assert_eq!(utc("1136073600.5"), "2006-01-01T00:00:00.500Z");
    assert_eq!(utc("0"), "1970-01-01T00:00:00Z");
    // Like docker: a number without a unit is not a duration but seconds.
    assert_eq!(utc("10"), "1970-01-01T00:00:10Z");
}

#[test]
fn garbage_is_docker_s_error() {
    assert_eq!(
        utc("garbage"),
        r#"error: invalid value for "since": failed to parse value as time or duration: "garbage""#
    );
    for bad in [
        "",
        "1136073600.",
        "1136073600.x",
        "10x",
        "1h30",
        ".s",
        "2013-01-02T",
        "2013-01-02T13:23:37.Z",
    ] {
        assert!(
            utc(bad).starts_with("error: invalid value for \"since\": "),
            "{bad}: {}",
            utc(bad)
        );
    }
    assert!(utc("2013-13-02")
        .starts_with(r#"error: invalid value for "since": parsing time "2013-13-02""#));
    assert!(utc("2013-01-02 13:23").contains("parsing time"));
    let e = parse_time_arg("soon", t(NOW)).unwrap_err();
    assert_eq!(e.kind(), wharf_oci::ErrorKind::InvalidArgument);
    assert!(matches!(e, LogError::InvalidTime { flag: "since", .. }));
    let e = parse_time_flag("until", "soon", t(NOW)).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"invalid value for "until": failed to parse value as time or duration: "soon""#
    );
}

#[test]
fn public_entry_points_agree_on_zoned_values() {
    assert_eq!(
        parse_time_arg("10m", t(NOW)).unwrap(),
        t("2026-11-22T04:50:21Z")
    );
    assert_eq!(
        parse_time_flag("until", "2013-01-02T13:23:37Z", t(NOW)).unwrap(),
        t("2013-01-02T13:23:37Z")
    );
}
