//! Go `text/template`, the language of `docker ... --format`, over JSON data.
//!
//! The pipeline is the same as Go's: [`lexer`] → [`parser`] (a tree of
//! [`ast`] nodes) → [`exec`], with the functions in [`funcs`]. JSON objects
//! behave like Go maps (`.Key`, sorted `range`, `<no value>` for a missing
//! key); arrays like slices.

mod ast;
mod exec;
mod funcs;
mod lexer;
mod parser;
mod value;

use serde_json::Value;

use crate::FormatError;

/// A parsed template.
///
/// ```
/// use wharf_format::Template;
/// use serde_json::json;
///
/// let t = Template::parse("{{.Name}}: {{join .Tags \", \"}}").unwrap();
/// let out = t.render(&json!({"Name": "busybox", "Tags": ["latest", "1.36"]})).unwrap();
/// assert_eq!(out, "busybox: latest, 1.36");
/// ```
#[derive(Debug, Clone)]
pub struct Template {
    src: String,
    root: Vec<ast::Node>,
}

impl Template {
    /// Parses `src` like Go's `template.New("").Funcs(docker's).Parse(src)`.
    ///
    /// The text is taken literally: the `\t` → tab conversion docker applies
    /// to list formats happens in [`crate::parse_list_format`].
    pub fn parse(src: &str) -> Result<Template, FormatError> {
        Ok(Template {
            src: src.to_string(),
            root: parser::parse(src)?,
        })
    }

    /// Executes the template with `data` as dot (and `$`).
    pub fn render(&self, data: &Value) -> Result<String, FormatError> {
        let mut out = Vec::new();
        self.render_to(data, &mut out)?;
        Ok(crate::output::into_string(out))
    }

    /// Executes the template with `data` as dot, writing the text to `out`
    /// as it is produced (Go's `Execute(w, data)`): memory stays bounded
    /// however much a `range` prints. Text written before an error stays
    /// written.
    pub fn render_to(&self, data: &Value, out: &mut dyn std::io::Write) -> Result<(), FormatError> {
        exec::execute(&self.src, &self.root, data, None, out)
    }

    /// Executes the template as a table header into `out`: every field `.X`
    /// yields its column title from `headers` (or `X` upper-cased), and
    /// docker's `HeaderFunctions` make `json split join title lower upper
    /// truncate` return their first argument unchanged.
    pub(crate) fn render_header_to(
        &self,
        headers: &[(&str, &str)],
        out: &mut dyn std::io::Write,
    ) -> Result<(), FormatError> {
        let data: Value = headers
            .iter()
            .map(|(k, v)| (k.to_string(), Value::from(*v)))
            .collect::<serde_json::Map<_, _>>()
            .into();
        exec::execute(&self.src, &self.root, &data, Some(headers), out)
    }

    /// The template text.
    pub fn source(&self) -> &str {
        &self.src
    }
}

#[cfg(test)]
mod tests;
