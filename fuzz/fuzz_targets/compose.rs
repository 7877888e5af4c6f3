//! Fuzz target: the compose loader — YAML (anchors, merge keys, `!reset`,
//! `!override`), interpolation, `.env`, the merge of an override file,
//! `extends`, schema validation and normalization — then both renderings.
//! The input is compose.yaml, a `\n---8<---\n` line, compose.override.yaml,
//! another such line, then `.env`; files are written to a temp dir in the
//! sandbox (see src/lib.rs).
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use wharf_compose::{load, render_json, render_yaml, Options};
use wharf_fuzz::{sandbox, split, TempDir};

fuzz_target!(|data: &[u8]| {
    sandbox();
    let parts = split(data, b"\n---8<---\n", 3);
    let dir = TempDir::new();
    let names = ["compose.yaml", "compose.override.yaml", ".env"];
    let mut files = Vec::new();
    for (name, body) in names.iter().zip(&parts) {
        let path = dir.path().join(name);
        std::fs::write(&path, body).expect("writing an input file");
        if !name.starts_with('.') {
            files.push(path);
        }
    }
    let environment: HashMap<String, String> = [
        ("USER", "root"),
        ("TAG", "1.0"),
        ("EMPTY", ""),
        ("COMPOSE_PROJECT_NAME", "fuzz"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let opts = Options {
        files,
        project_directory: Some(dir.path().to_path_buf()),
        cwd: Some(dir.path().to_path_buf()),
        environment: Some(environment),
        ..Options::default()
    };
    if let Ok(loaded) = load(&opts) {
        let _ = render_json(&loaded.project);
        let _ = render_yaml(&loaded.project);
        let _ = wharf_compose::render_model(&loaded.model, true);
    }
});
