//! Printing helpers shared by the commands.

use std::io::{IsTerminal, Write};

use serde_json::Value;
use wharf_format::{parse_list_format, unescape_cli, write_list, HeldOutput, Template};

/// JSON the way `docker inspect` prints it: 4-space indent.
pub fn pretty_json(v: &Value) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    serde::Serialize::serialize(v, &mut ser).expect("JSON values serialize");
    String::from_utf8(buf).expect("serde_json writes UTF-8")
}

/// `inspect` output: the JSON array, or each object through `--format`.
pub fn print_inspect(items: &[Value], format: Option<&str>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        None | Some("") => writeln!(out, "{}", pretty_json(&Value::Array(items.to_vec())))?,
        Some("json") => writeln!(out, "{}", serde_json::to_string(items)?)?,
        Some(f) => {
            // Held back while small (an error prints nothing, as docker),
            // streamed once large: never all in memory.
            let t = Template::parse(&unescape_cli(f))?;
            let mut held = HeldOutput::new(out);
            for item in items {
                t.render_to(item, &mut held)?;
                held.write_all(b"\n")?;
            }
            held.finish()?;
        }
    }
    Ok(())
}

/// A list command's rows through `--format` (or its default table).
pub fn print_list(
    format: Option<&str>,
    default_table: &str,
    headers: &[(&str, &str)],
    rows: &[Value],
) -> anyhow::Result<()> {
    let fmt = parse_list_format(format, default_table)?;
    write_list(&fmt, rows, headers, &mut std::io::stdout().lock())?;
    Ok(())
}

/// Ask `[y/N]` on the terminal, as docker's prune commands do.
pub fn confirm(warning: &str) -> bool {
    eprint!("{warning}\nAre you sure you want to continue? [y/N] ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}
