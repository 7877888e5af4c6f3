//! `--format` for list commands (`docker images`, `ps`, `volume ls` ...),
//! following docker/cli's `formatter.Context`.

use std::io::Write;

use serde_json::{Map, Value};

use crate::output::{into_string, Capped, HeldOutput, MAX_TABLE_BYTES};
use crate::tabwriter::TabWriter;
use crate::{FormatError, Template};

/// What `--format` means for a list command, like docker's formatter:
/// `""` or `"table"` → the command's default table; `"table <tmpl>"` → a
/// table with a header row; `"json"` → `{{json .}}` per line; anything else →
/// the raw template per item, no header.
#[derive(Debug, Clone)]
pub enum ListFormat {
    /// Rows aligned by a tab writer, preceded by a header row if the flag
    /// is true.
    Table(Template, bool),
    /// One rendering of the template per item, each followed by a newline.
    Raw(Template),
}

/// Docker's `formatter.JSONFormat`.
const JSON_FORMAT: &str = "{{json .}}";

/// Docker's table prefix (`formatter.TableFormatKey`).
const TABLE_KEY: &str = "table";

/// Interprets the user's `--format` (`None` if not given) for a list
/// command whose default table is `default_table` (with or without its
/// `table ` prefix, e.g. `"table {{.ID}}\t{{.Name}}"`).
///
/// As docker does, the `table` prefix and surrounding spaces are removed
/// and the two-character sequences `\t` and `\n` typed on the command line
/// become a tab and a newline.
pub fn parse_list_format(
    user: Option<&str>,
    default_table: &str,
) -> Result<ListFormat, FormatError> {
    let format = match user {
        Some(f) if !f.is_empty() && f != TABLE_KEY => f,
        _ => {
            let body = default_table
                .strip_prefix(TABLE_KEY)
                .unwrap_or(default_table);
            return Ok(ListFormat::Table(Template::parse(&prepare(body))?, true));
        }
    };
    if format == "json" {
        return Ok(ListFormat::Raw(Template::parse(JSON_FORMAT)?));
    }
    match format.strip_prefix(TABLE_KEY) {
        Some(body) => Ok(ListFormat::Table(Template::parse(&prepare(body))?, true)),
        None => Ok(ListFormat::Raw(Template::parse(&prepare(format))?)),
    }
}

/// Docker's `preFormat`: trim spaces, then expand `\t` and `\n`.
fn prepare(format: &str) -> String {
    unescape_cli(format.trim_matches(' '))
}

/// Replaces the two-character sequences `\t` and `\n` (as typed in a shell)
/// with a tab and a newline, like docker's `strings.NewReplacer`.
pub fn unescape_cli(format: &str) -> String {
    format.replace("\\t", "\t").replace("\\n", "\n")
}

/// Renders `items` (JSON objects whose keys are the template's fields, such
/// as `{"ID": .., "Repository": ..}`) the way a docker list command prints
/// them.
///
/// `headers` maps field names to column titles (`("ID", "IMAGE ID")`,
/// `("CreatedSince", "CREATED")`); a field without an entry is titled with
/// its name upper-cased. In table mode the header row and every item row are
/// each followed by a newline and the whole text is aligned by docker's tab
/// writer (minwidth 10, padding 3); with no items only the header is printed.
///
/// Each item's top-level keys are sorted before rendering: docker's list
/// contexts marshal as Go maps, so `{{json .}}` prints keys in sorted order.
pub fn render_list(
    fmt: &ListFormat,
    items: &[Value],
    headers: &[(&str, &str)],
) -> Result<String, FormatError> {
    let mut out = Vec::new();
    write_list(fmt, items, headers, &mut out)?;
    Ok(into_string(out))
}

/// [`render_list`] into a writer. Output is held back (nothing is written
/// if a template fails) until it outgrows [`crate::output::HOLD_BYTES`],
/// then streamed. A table is aligned only once all its rows are known, so
/// its text may not exceed [`crate::output::MAX_TABLE_BYTES`]
/// ([`FormatError::TooLarge`]).
pub fn write_list(
    fmt: &ListFormat,
    items: &[Value],
    headers: &[(&str, &str)],
    out: &mut dyn Write,
) -> Result<(), FormatError> {
    let mut out = HeldOutput::new(out);
    match fmt {
        ListFormat::Raw(t) => {
            for item in items {
                t.render_to(&sorted_keys(item), &mut out)?;
                out.write_all(b"\n")?;
            }
        }
        ListFormat::Table(t, with_header) => {
            let mut text = Capped::new(MAX_TABLE_BYTES);
            let mut rows = || -> Result<(), FormatError> {
                if *with_header {
                    t.render_header_to(headers, &mut text)?;
                    text.write_all(b"\n")?;
                }
                for item in items {
                    t.render_to(&sorted_keys(item), &mut text)?;
                    text.write_all(b"\n")?;
                }
                Ok(())
            };
            if let Err(e) = rows() {
                if text.overflowed() {
                    return Err(FormatError::TooLarge(format!(
                        "table output exceeds {} MiB: use a --format without \"table\" to stream it",
                        MAX_TABLE_BYTES >> 20
                    )));
                }
                return Err(e);
            }
            let text = into_string(text.buf);
            TabWriter::docker().write_to(&text, &mut out)?;
        }
    }
    out.finish()?;
    Ok(())
}

fn sorted_keys(item: &Value) -> Value {
    match item {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect::<Map<_, _>>(),
            )
        }
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const IMAGES_TABLE: &str =
        "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}";
    const IMAGE_HEADERS: &[(&str, &str)] = &[
        ("Repository", "REPOSITORY"),
        ("Tag", "TAG"),
        ("ID", "IMAGE ID"),
        ("CreatedSince", "CREATED"),
        ("Size", "SIZE"),
    ];

    fn images() -> Vec<Value> {
        vec![
            json!({"ID": "0d3b1f5d8b6a", "Repository": "busybox", "Tag": "local",
                   "CreatedSince": "2 minutes ago", "Size": "2.03MB"}),
            json!({"ID": "a1b2c3d4e5f6", "Repository": "registry.example.com/team/app",
                   "Tag": "v1.2.3", "CreatedSince": "3 weeks ago", "Size": "1.02GB"}),
        ]
    }

    #[test]
    fn default_images_table() {
        let fmt = parse_list_format(None, IMAGES_TABLE).unwrap();
        let out = render_list(&fmt, &images()[..1], IMAGE_HEADERS).unwrap();
        assert_eq!(
            out,
            "REPOSITORY   TAG       IMAGE ID       CREATED         SIZE\n\
             busybox      local     0d3b1f5d8b6a   2 minutes ago   2.03MB\n"
        );
    }

    #[test]
    fn default_table_with_long_cells() {
        let fmt = parse_list_format(Some("table"), IMAGES_TABLE).unwrap();
        let out = render_list(&fmt, &images(), IMAGE_HEADERS).unwrap();
        assert_eq!(
            out,
            "REPOSITORY                      TAG       IMAGE ID       CREATED         SIZE\n\
             busybox                         local     0d3b1f5d8b6a   2 minutes ago   2.03MB\n\
             registry.example.com/team/app   v1.2.3    a1b2c3d4e5f6   3 weeks ago     1.02GB\n"
        );
    }

    #[test]
    fn empty_list_prints_header_only() {
        let fmt = parse_list_format(Some(""), IMAGES_TABLE).unwrap();
        assert_eq!(
            render_list(&fmt, &[], IMAGE_HEADERS).unwrap(),
            "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n"
        );
    }

    #[test]
    fn user_table_with_unknown_field_header() {
        let fmt = parse_list_format(Some("table {{.ID}}\\t{{.Digest}}"), IMAGES_TABLE).unwrap();
        let items = [json!({"ID": "0d3b1f5d8b6a", "Digest": "<none>"})];
        assert_eq!(
            render_list(&fmt, &items, IMAGE_HEADERS).unwrap(),
            "IMAGE ID       DIGEST\n0d3b1f5d8b6a   <none>\n"
        );
    }

    #[test]
    fn header_functions_keep_titles() {
        let fmt = parse_list_format(
            Some("table {{upper .Repository}}\\t{{truncate .ID 4}}\\t{{json .Tag}}\\t{{pad .Size 1 1}}"),
            IMAGES_TABLE,
        )
        .unwrap();
        let out = render_list(&fmt, &images()[..1], IMAGE_HEADERS).unwrap();
        assert_eq!(
            out,
            "REPOSITORY   IMAGE ID   TAG        SIZE \n\
             BUSYBOX      0d3b       \"local\"    2.03MB \n"
        );
    }

    #[test]
    fn raw_template_no_header_no_alignment() {
        let fmt =
            parse_list_format(Some("{{.Repository}}:{{.Tag}}\\t{{.Size}}"), IMAGES_TABLE).unwrap();
        assert!(matches!(fmt, ListFormat::Raw(_)));
        assert_eq!(
            render_list(&fmt, &images(), IMAGE_HEADERS).unwrap(),
            "busybox:local\t2.03MB\nregistry.example.com/team/app:v1.2.3\t1.02GB\n"
        );
    }

    #[test]
    fn json_format_sorts_keys() {
        let fmt = parse_list_format(Some("json"), IMAGES_TABLE).unwrap();
        let items = [json!({"Size": "2.03MB", "ID": "0d3b", "Containers": "N/A"})];
        assert_eq!(
            render_list(&fmt, &items, IMAGE_HEADERS).unwrap(),
            "{\"Containers\":\"N/A\",\"ID\":\"0d3b\",\"Size\":\"2.03MB\"}\n"
        );
    }

    #[test]
    fn table_without_header() {
        let t = Template::parse("{{.A}}\t{{.B}}").unwrap();
        let fmt = ListFormat::Table(t, false);
        let items = [
            json!({"A": "x", "B": "y"}),
            json!({"A": "longer-value", "B": "z"}),
        ];
        assert_eq!(
            render_list(&fmt, &items, &[]).unwrap(),
            "x              y\nlonger-value   z\n"
        );
    }

    #[test]
    fn default_without_table_prefix_is_a_table() {
        let fmt = parse_list_format(None, "{{.ID}}\t{{.Size}}").unwrap();
        assert!(matches!(fmt, ListFormat::Table(_, true)));
    }

    #[test]
    fn parse_errors_surface() {
        let err = parse_list_format(Some("table {{.ID}"), IMAGES_TABLE).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"template: :1: unexpected "}" in operand"#
        );
    }

    /// A table is aligned once all rows are known, so its text is bounded;
    /// a raw format streams instead.
    #[test]
    fn tables_are_bounded_raw_formats_stream() {
        let fmt = parse_list_format(
            Some("table {{range 100000000}}xxxxxxxxxxxxxxxx{{end}}\\t{{.ID}}"),
            IMAGES_TABLE,
        )
        .unwrap();
        match render_list(&fmt, &images(), IMAGE_HEADERS) {
            Err(FormatError::TooLarge(msg)) => assert_eq!(
                msg,
                "table output exceeds 16 MiB: use a --format without \"table\" to stream it"
            ),
            other => panic!("expected TooLarge, got {:?}", other.map(|s| s.len())),
        }
        let fmt =
            parse_list_format(Some("{{range 3000000}}xxxxxxxx{{end}}"), IMAGES_TABLE).unwrap();
        let out = render_list(&fmt, &images(), IMAGE_HEADERS).unwrap();
        assert_eq!(out.len(), 2 * (24_000_000 + 1));
    }

    /// A template error prints nothing, as docker (which buffers).
    #[test]
    fn an_error_prints_nothing() {
        let fmt = parse_list_format(Some("{{.ID}} {{.ID.X}}"), IMAGES_TABLE).unwrap();
        let mut out = Vec::new();
        assert!(write_list(&fmt, &images(), IMAGE_HEADERS, &mut out).is_err());
        assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
    }

    #[test]
    fn cli_escapes() {
        assert_eq!(unescape_cli("a\\tb\\nc"), "a\tb\nc");
    }
}
