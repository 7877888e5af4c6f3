//! wharf-compose: compose files as Docker Compose v2 reads them.
//!
//! [`load`] finds the files (`-f`, `COMPOSE_FILE`, or `compose.yaml` and
//! its `.override` searched upward), reads `.env` / `--env-file`, decides
//! the project name, then for each file: YAML (anchors, `<<` merge keys,
//! `!reset`/`!override`), interpolation of every form, `extends`,
//! `include`, the specification's merge rules, schema validation with
//! Compose's wording, and the canonical long forms. The result is a typed
//! [`Project`] normalized as `docker compose config` prints it, which
//! [`render_json`] / [`render_yaml`] print byte for byte like Compose.
//!
//! Nothing here touches containers: the engine side of `compose` builds on
//! the [`Project`].

mod canonical;
mod consistency;
mod envfile;
mod error;
mod interpolate;
mod loader;
mod merge;
pub mod model;
mod normalize;
pub mod output;
mod path;
mod ports;
#[cfg(feature = "run")]
pub mod run;
mod schema;
mod shellwords;
pub mod template;
mod units;
mod volume_spec;
pub mod yaml;

pub use error::{ComposeError, ErrorKind, Result};
pub use loader::{load, normalize_project_name, EnvFileVars, Loaded, Options, DEFAULT_FILES};
pub use model::Project;

use output::{to_json, to_out, to_yaml, Out};

/// `config --format json`: Compose's `Project.MarshalJSON` (top-level keys
/// sorted, `x-` extensions of the top level included).
pub fn render_json(p: &Project) -> String {
    to_json(&project_out(p, false))
}

/// `config` (YAML): Compose's `Project.MarshalYAML`.
pub fn render_yaml(p: &Project) -> String {
    to_yaml(&project_out(p, true))
}

fn project_out(p: &Project, yaml: bool) -> Out {
    let out = to_out(p, yaml);
    if yaml {
        return out;
    }
    // JSON: a map of name, services and the non-empty collections.
    let Out::Struct(fields) = out else {
        return out;
    };
    let mut m: Vec<(String, Out)> = fields.into_iter().filter(|(k, _)| k != "models").collect();
    if !m.iter().any(|(k, _)| k == "name") {
        m.push(("name".into(), Out::Str(String::new())));
    }
    for (k, v) in &p.extensions.0 {
        m.push((k.clone(), to_out(v, false)));
    }
    Out::Map(m)
}

/// `config --no-interpolate`: the dynamic model, every key sorted.
pub fn render_model(model: &serde_json::Value, yaml: bool) -> String {
    let out = to_out(model, yaml);
    if yaml {
        to_yaml(&out)
    } else {
        to_json(&out)
    }
}
