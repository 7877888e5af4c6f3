//! Decoding one line of a json-file log.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{LogRecord, Stream};

/// The fields we use; docker may also write `attrs` (labels, tag), ignored.
#[derive(Deserialize)]
struct RawRecord<'a> {
    /// Omitted by docker when empty.
    #[serde(default)]
    log: String,
    #[serde(default, borrow)]
    stream: Cow<'a, str>,
    #[serde(borrow)]
    time: Cow<'a, str>,
    #[serde(default)]
    attrs: std::collections::BTreeMap<String, String>,
}

/// Decode one record (without or with its trailing `\n`).
pub(crate) fn decode_record(line: &[u8]) -> Result<LogRecord, String> {
    let raw: RawRecord = serde_json::from_slice(line).map_err(|e| e.to_string())?;
    let stream =
        Stream::from_name(&raw.stream).ok_or_else(|| format!("unknown stream {:?}", raw.stream))?;
    let time = DateTime::parse_from_rfc3339(&raw.time)
        .map_err(|e| format!("bad time {:?}: {e}", raw.time))?
        .with_timezone(&Utc);
    Ok(LogRecord {
        stream,
        time,
        line: raw.log.into_bytes(),
        attrs: raw.attrs,
    })
}
