//! `--env-file`: docker's `opts.ParseEnvFile`, line by line, with its
//! errors naming the file and the line.
//!
//! A line is trimmed of leading white space; empty lines and `#` comments
//! are skipped; `NAME=value` is kept as is (the value untrimmed); `NAME`
//! alone is kept for the caller to look up in the host's environment. A
//! UTF-8 BOM at the start is dropped.

use std::path::Path;

/// Docker's `whiteSpaces`.
const WHITE_SPACES: &[char] = &[' ', '\t'];

/// Why an env file is refused; printed as docker's `invalid env file (PATH): ...`.
#[derive(Debug, thiserror::Error)]
pub enum EnvFileError {
    /// docker's words: `open FILE: no such file or directory`.
    #[error("open {0}: {why}", why = wharf_runtime::go_io_error(.1))]
    Open(String, #[source] std::io::Error),
    /// `bytes` as Go prints a `[]byte`: `[66 61 255]`.
    #[error("invalid env file ({file}): invalid utf8 bytes at line {line}: {bytes}")]
    Utf8 {
        file: String,
        line: usize,
        bytes: String,
    },
    #[error("invalid env file ({file}): variable '{name}' contains whitespaces")]
    Whitespace { file: String, name: String },
    #[error("invalid env file ({file}): no variable name on line '{text}'")]
    NoName { file: String, text: String },
    /// Docker passes these on and runc refuses them at start with a
    /// message that names neither the file nor the line; a process
    /// environment cannot hold a NUL byte.
    #[error("invalid env file ({file}): variable '{name}' contains a NUL byte at line {line}")]
    Nul {
        file: String,
        line: usize,
        name: String,
    },
}

/// The entries of env file `path`, in order.
pub fn read(path: &Path) -> Result<Vec<String>, EnvFileError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| EnvFileError::Open(file.clone(), e))?;
    parse(&file, &bytes)
}

fn parse(file: &str, bytes: &[u8]) -> Result<Vec<String>, EnvFileError> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let mut out = Vec::new();
    // Go's bufio.ScanLines: split at '\n', drop one '\r' before it, no
    // empty last line.
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    if bytes.is_empty() {
        return Ok(out);
    }
    for (i, raw) in body.split(|&b| b == b'\n').enumerate() {
        let line_no = i + 1;
        let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
        let Ok(text) = std::str::from_utf8(raw) else {
            return Err(EnvFileError::Utf8 {
                file: file.to_string(),
                line: line_no,
                bytes: format!(
                    "[{}]",
                    raw.iter().map(u8::to_string).collect::<Vec<_>>().join(" ")
                ),
            });
        };
        let line = text.trim_start();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (name, value) = match line.split_once('=') {
            Some((n, v)) => (n.trim_start_matches(WHITE_SPACES), Some(v)),
            None => (line.trim_start_matches(WHITE_SPACES), None),
        };
        if name.contains(WHITE_SPACES) {
            return Err(EnvFileError::Whitespace {
                file: file.to_string(),
                name: name.to_string(),
            });
        }
        if name.is_empty() {
            return Err(EnvFileError::NoName {
                file: file.to_string(),
                text: line.to_string(),
            });
        }
        if line.contains('\0') {
            return Err(EnvFileError::Nul {
                file: file.to_string(),
                line: line_no,
                name: name.replace('\0', "\\x00"),
            });
        }
        out.push(match value {
            Some(v) => format!("{name}={v}"),
            None => name.to_string(),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &[u8]) -> Vec<String> {
        parse("f.env", text).unwrap()
    }

    fn err(text: &[u8]) -> String {
        parse("f.env", text).unwrap_err().to_string()
    }

    #[test]
    fn lines_comments_and_names() {
        assert_eq!(
            ok(b"\xEF\xBB\xBFA=1\r\n  # note\n\n  B= two \nC\n"),
            ["A=1", "B= two ", "C"]
        );
        assert_eq!(ok(b""), Vec::<String>::new());
        assert_eq!(ok(b"A=1"), ["A=1"]);
    }

    /// docker 20.10's messages for the same files.
    #[test]
    fn errors_name_the_file() {
        assert_eq!(
            err(b"A=1\nB=\xff\n"),
            "invalid env file (f.env): invalid utf8 bytes at line 2: [66 61 255]"
        );
        assert_eq!(
            err(b"A=1\nB C=2\n"),
            "invalid env file (f.env): variable 'B C' contains whitespaces"
        );
        assert_eq!(
            err(b"=x\n"),
            "invalid env file (f.env): no variable name on line '=x'"
        );
        assert_eq!(
            err(b"A=1\nB=x\0y\nC=3\n"),
            "invalid env file (f.env): variable 'B' contains a NUL byte at line 2"
        );
        assert_eq!(
            err(b"A=1\n\nB\0C=2\n"),
            "invalid env file (f.env): variable 'B\\x00C' contains a NUL byte at line 3"
        );
    }
}
