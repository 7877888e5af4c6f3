//! json-file logs (in progress).
