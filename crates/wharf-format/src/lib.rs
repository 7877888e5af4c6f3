//! wharf-format: the exact text the docker CLI prints.
//!
//! - [`Template`]: Go's `text/template` language as used by `--format`
//!   (`{{.Field}}`, pipelines, `if`/`range`/`with`, variables, trim markers),
//!   executed over `serde_json::Value`, with Go's builtins and docker's
//!   functions (`json`, `join`, `split`, `upper`, `lower`, `title`, `pad`,
//!   `truncate`). Values print as Go's `fmt` prints them (`[a b]`,
//!   `map[k:v]`, `<no value>`), and errors read like Go's
//!   (`template: :1: unexpected "}" in operand`).
//! - [`ListFormat`], [`parse_list_format`], [`render_list`]: docker's list
//!   formatter — default tables, `table ...` with a header row, `json`, raw
//!   templates — aligned by [`TabWriter`], a port of Go's `text/tabwriter`.
//!   [`write_list`] and [`Template::render_to`] stream into a writer:
//!   `--format` output is bounded in memory (ranges iterate lazily, values
//!   made by functions are capped, printf widths follow Go's limits).
//! - [`units`]: go-units sizes and durations ([`human_size`] `2.03MB`,
//!   [`bytes_size`] `1.5KiB`, [`human_duration`] `About an hour`,
//!   [`parse_size`] for `--memory 64m`), and docker's ID helpers
//!   ([`truncate_id`], [`ellipsis`]).
//!
//! ```
//! use serde_json::json;
//! use wharf_format::{parse_list_format, render_list};
//!
//! let fmt = parse_list_format(None, "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}").unwrap();
//! let items = [json!({"Repository": "busybox", "Tag": "latest", "ID": "0d3b1f5d8b6a"})];
//! let out = render_list(&fmt, &items, &[("Repository", "REPOSITORY"), ("Tag", "TAG"), ("ID", "IMAGE ID")]).unwrap();
//! assert_eq!(out, "REPOSITORY   TAG       IMAGE ID\nbusybox      latest    0d3b1f5d8b6a\n");
//! ```

mod error;
mod gofmt;
mod gojson;
pub mod output;
mod table;
mod tabwriter;
mod template;
mod text;
pub mod units;

pub use error::FormatError;
pub use output::HeldOutput;
pub use table::{parse_list_format, render_list, unescape_cli, write_list, ListFormat};
pub use tabwriter::TabWriter;
pub use template::Template;
pub use text::{ellipsis, truncate_id};
pub use units::{
    bytes_size, human_duration, human_size, human_size_with_precision, parse_human_size,
    parse_size, since,
};

/// Go's JSON encoding as docker's `{{json}}` produces it (compact, keys in
/// map order, Go's float format, no HTML escaping), for callers that print
/// JSON outside templates.
pub fn to_go_json(value: &serde_json::Value) -> String {
    gojson::to_string(value)
}
