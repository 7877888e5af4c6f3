//! Request and response plumbing shared by the handlers: bounded request
//! bodies, JSON read the way Go's decoder reads it (a `null` leaves the
//! field's default), query parameters with docker's boolean and filter
//! rules, and response bodies (whole, or streamed from a channel).

use std::collections::BTreeMap;
use std::io::Read;

use bytes::Bytes;
use http::{header, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Empty, Full, Limited, StreamBody};
use hyper::body::{Frame, Incoming};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::error::{ApiError, ApiResult};

pub type Body = UnsyncBoxBody<Bytes, std::io::Error>;
pub type Resp = Response<Body>;

/// The most a JSON request body may hold (docker has no limit; a
/// container's whole definition is a few KiB).
pub const JSON_LIMIT: usize = 4 << 20;

pub fn full(bytes: impl Into<Bytes>) -> Body {
    Full::new(bytes.into())
        .map_err(|never| match never {})
        .boxed_unsync()
}

pub fn empty() -> Body {
    Empty::new().map_err(|never| match never {}).boxed_unsync()
}

pub fn with_status(status: StatusCode, body: Body) -> Resp {
    let mut r = Response::new(body);
    *r.status_mut() = status;
    r
}

/// A JSON answer, as Go's encoder writes it (with a final newline).
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> Resp {
    match serde_json::to_vec(value) {
        Ok(mut v) => {
            v.push(b'\n');
            let mut r = with_status(status, full(v));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static("application/json"),
            );
            r
        }
        Err(e) => error_response(&ApiError::Task(e.to_string())),
    }
}

pub fn ok_json<T: Serialize>(value: &T) -> Resp {
    json(StatusCode::OK, value)
}

pub fn no_content() -> Resp {
    with_status(StatusCode::NO_CONTENT, empty())
}

/// Docker's error body: `{"message": "..."}`.
pub fn error_response(e: &ApiError) -> Resp {
    let status = e.status();
    if status.is_server_error() {
        tracing::warn!(error = %e, "request failed");
    } else {
        tracing::debug!(error = %e, "request refused");
    }
    json(status, &serde_json::json!({ "message": e.to_string() }))
}

/// The sending side of a streamed response body. Sends fail once the
/// client has gone (the body was dropped).
#[derive(Clone)]
pub struct Streamer {
    tx: mpsc::Sender<Bytes>,
}

impl Streamer {
    pub fn from_sender(tx: mpsc::Sender<Bytes>) -> Streamer {
        Streamer { tx }
    }

    pub async fn send(&self, data: impl Into<Bytes>) -> bool {
        self.tx.send(data.into()).await.is_ok()
    }

    /// From a blocking task. The registry client reports progress from
    /// inside its own runtime, where blocking on a future is refused: there
    /// a full channel (a slow client) is waited out in short sleeps.
    pub fn blocking_send(&self, data: impl Into<Bytes>) -> bool {
        let mut data = data.into();
        if tokio::runtime::Handle::try_current().is_err() {
            return self.tx.blocking_send(data).is_ok();
        }
        loop {
            match self.tx.try_send(data) {
                Ok(()) => return true,
                Err(mpsc::error::TrySendError::Closed(_)) => return false,
                Err(mpsc::error::TrySendError::Full(d)) => {
                    data = d;
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
            }
        }
    }

    /// Whether the client has gone.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }

    /// One JSON message (docker's progress streams).
    pub fn blocking_json<T: Serialize>(&self, value: &T) -> bool {
        self.blocking_send(json_line(value))
    }

    /// Resolves when the client has gone.
    pub async fn closed(&self) {
        self.tx.closed().await
    }
}

/// One message of a JSON message stream, with docker's line end.
pub fn json_line<T: Serialize>(value: &T) -> Bytes {
    let mut b = serde_json::to_vec(value).unwrap_or_default();
    b.extend_from_slice(b"\r\n");
    b.into()
}

/// A JSON message stream's error line (`errorDetail`, as docker's).
pub fn error_message(e: &dyn std::fmt::Display) -> Bytes {
    json_line(
        &serde_json::json!({"errorDetail": {"message": e.to_string()}, "error": e.to_string()}),
    )
}

/// A streamed response: the headers go out at once, the body as the
/// returned [`Streamer`] sends it; it ends when every sender is dropped.
pub fn streamed(status: StatusCode, content_type: &'static str) -> (Streamer, Resp) {
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, std::io::Error>(Frame::data(b)), rx))
    });
    let mut r = with_status(status, StreamBody::new(stream).boxed_unsync());
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    (Streamer { tx }, r)
}

/// The whole request body, refused past `limit` bytes.
pub async fn read_limited(body: Incoming, limit: usize) -> ApiResult<Bytes> {
    match Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e)
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(ApiError::TooLarge(limit))
        }
        Err(e) => Err(ApiError::BadRequest(format!(
            "reading the request body: {e}"
        ))),
    }
}

/// Read and drop what is left of a request body refused before it was
/// read, up to 256 KiB (Go's server does the same before it closes). The
/// kernel resets a Unix or TCP connection closed with unread bytes in it,
/// and the client's read of the answer already sent then fails: `docker
/// cp` into a missing path would print "connection reset" instead of the
/// error.
pub async fn discard(body: Incoming) {
    let _ = Limited::new(body, 256 * 1024).collect().await;
}

/// Remove `null` members of objects, at any depth: Go's decoder leaves a
/// field at its zero value for `null`, which is what serde's `default`
/// gives a missing one (docker-py sends `null` for every unset field).
fn drop_nulls(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.retain(|_, x| !x.is_null());
            m.values_mut().for_each(drop_nulls);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// A JSON body as `T`; malformed JSON or a field of the wrong type is 400.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> ApiResult<T> {
    let mut v: serde_json::Value = serde_json::from_slice(bytes)
        .map_err(|e| ApiError::BadRequest(format!("invalid JSON: {e}")))?;
    drop_nulls(&mut v);
    serde_json::from_value(v).map_err(|e| ApiError::BadRequest(format!("invalid JSON: {e}")))
}

/// A JSON body, where an empty one means `T::default()`.
pub async fn json_body<T: DeserializeOwned + Default>(body: Incoming) -> ApiResult<T> {
    let bytes = read_limited(body, JSON_LIMIT).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    parse_json(&bytes)
}

/// A request body read from a blocking task (tar streams: load, import,
/// build contexts, archive uploads), bounded in memory by the channel.
pub struct BodyReader {
    rx: mpsc::Receiver<std::io::Result<Bytes>>,
    current: Bytes,
}

impl BodyReader {
    /// Start pulling `body`; must be called inside the runtime.
    pub fn new(mut body: Incoming) -> BodyReader {
        let (tx, rx) = mpsc::channel(8);
        tokio::spawn(async move {
            loop {
                let item = match body.frame().await {
                    None => break,
                    Some(Ok(f)) => match f.into_data() {
                        Ok(d) if d.is_empty() => continue,
                        Ok(d) => Ok(d),
                        Err(_) => continue,
                    },
                    Some(Err(e)) => Err(std::io::Error::other(e)),
                };
                let failed = item.is_err();
                if tx.send(item).await.is_err() || failed {
                    break;
                }
            }
        });
        BodyReader {
            rx,
            current: Bytes::new(),
        }
    }
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.rx.blocking_recv() {
                None => return Ok(0),
                Some(Ok(b)) => self.current = b,
                Some(Err(e)) => return Err(e),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        let _ = self.current.split_to(n);
        Ok(n)
    }
}

/// The query string's parameters.
#[derive(Debug, Default, Clone)]
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(q: Option<&str>) -> Query {
        Query {
            pairs: form_urlencoded::parse(q.unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated key (`t=a&t=b`).
    pub fn all(&self, key: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// docker's `BoolValue`: anything but empty, 0, no, false, none.
    pub fn bool(&self, key: &str) -> bool {
        let v = self
            .get(key)
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        !matches!(v.as_str(), "" | "0" | "no" | "false" | "none")
    }

    /// A boolean that defaults to true when missing.
    pub fn bool_or(&self, key: &str, default: bool) -> bool {
        match self.get(key) {
            None => default,
            Some(_) => self.bool(key),
        }
    }

    pub fn int<T: std::str::FromStr>(&self, key: &str) -> ApiResult<Option<T>> {
        match self.get(key).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| ApiError::BadRequest(format!("invalid value for {key}: {v:?}"))),
        }
    }

    /// `filters`: docker's JSON, `{"key":{"value":true}}` or the older
    /// `{"key":["value"]}`.
    pub fn filters(&self) -> ApiResult<BTreeMap<String, Vec<String>>> {
        let raw = self.get("filters").unwrap_or_default();
        if raw.trim().is_empty() {
            return Ok(BTreeMap::new());
        }
        let v: serde_json::Value = serde_json::from_str(raw)
            .map_err(|e| ApiError::BadRequest(format!("invalid filters: {e}")))?;
        let serde_json::Value::Object(m) = v else {
            return Err(ApiError::BadRequest(
                "invalid filters: not a JSON object".into(),
            ));
        };
        let mut out = BTreeMap::new();
        for (k, v) in m {
            let values: Vec<String> = match v {
                serde_json::Value::Object(vals) => vals
                    .into_iter()
                    .filter(|(_, on)| on.as_bool().unwrap_or(false))
                    .map(|(val, _)| val)
                    .collect(),
                serde_json::Value::Array(vals) => vals
                    .into_iter()
                    .map(|x| match x {
                        serde_json::Value::String(s) => Ok(s),
                        other => Err(ApiError::BadRequest(format!(
                            "invalid filters: {k}: {other} is not a string"
                        ))),
                    })
                    .collect::<ApiResult<_>>()?,
                other => {
                    return Err(ApiError::BadRequest(format!(
                        "invalid filters: {k}: {other} is not a list or set"
                    )))
                }
            };
            out.insert(k, values);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_read_both_forms() {
        let q = Query::parse(Some(
            "filters=%7B%22name%22%3A%7B%22x%22%3Atrue%7D%2C%22status%22%3A%5B%22running%22%5D%7D",
        ));
        let f = q.filters().unwrap();
        assert_eq!(f["name"], ["x"]);
        assert_eq!(f["status"], ["running"]);
        assert!(Query::parse(Some("filters=%7Bbad")).filters().is_err());
        assert!(Query::parse(Some("filters=%5B1%5D")).filters().is_err());
    }

    #[test]
    fn booleans_follow_docker() {
        let q = Query::parse(Some("a=1&b=0&c=True&d=&e=no"));
        assert!(q.bool("a") && !q.bool("b") && q.bool("c") && !q.bool("d") && !q.bool("e"));
        assert!(q.bool_or("missing", true) && !q.bool_or("b", true));
    }

    #[test]
    fn nulls_read_as_defaults() {
        #[derive(serde::Deserialize, Default)]
        #[serde(default)]
        struct T {
            a: String,
            b: Vec<String>,
        }
        let t: T = parse_json(br#"{"a":null,"b":null}"#).unwrap();
        assert!(t.a.is_empty() && t.b.is_empty());
        assert!(parse_json::<T>(br#"{"a":5}"#).is_err());
        assert!(parse_json::<T>(b"{bad").is_err());
    }
}
