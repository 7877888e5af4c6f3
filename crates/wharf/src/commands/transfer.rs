//! `save`, `load`, `import`: images in and out as tar streams.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use wharf_engine::images::ImportRequest;
use wharf_engine::Engine;

use crate::cli::{ImportArgs, LoadArgs, SaveArgs};
use crate::exit::fail;
use crate::output::{stdin_is_terminal, stdout_is_terminal};

const BUF: usize = 1 << 20;

pub fn save(engine: &Engine, a: SaveArgs) -> anyhow::Result<ExitCode> {
    match &a.output {
        Some(path) => save_to_file(engine, &a.images, path)?,
        None => {
            if stdout_is_terminal() {
                return Err(fail(
                    "cowardly refusing to save to a terminal. Use the -o flag or redirect",
                ));
            }
            let out = BufWriter::with_capacity(BUF, io::stdout().lock());
            engine.save_images(&a.images, out)?.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Write next to the destination and rename, so a failed save never
/// leaves a truncated archive under the name the user asked for.
fn save_to_file(engine: &Engine, images: &[String], path: &Path) -> anyhow::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| fail(format!("invalid output path {}", path.display())))?;
    let temp = dir.join(format!(
        ".{}.wharf-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let file = File::create(&temp).map_err(|e| {
        fail(format!(
            "failed to save image: unable to create {}: {e}",
            path.display()
        ))
    })?;
    let result = engine
        .save_images(images, BufWriter::with_capacity(BUF, file))
        .map_err(anyhow::Error::from)
        .and_then(|mut w| w.flush().context("writing archive"));
    match result {
        Ok(()) => {
            fs::rename(&temp, path).with_context(|| format!("renaming to {}", path.display()))
        }
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Err(e)
        }
    }
}

pub fn load(engine: &Engine, a: LoadArgs) -> anyhow::Result<ExitCode> {
    let loaded = match &a.input {
        Some(p) => {
            let f = File::open(p).map_err(|e| fail(format!("open {}: {e}", p.display())))?;
            engine.load_images(f)?
        }
        None => {
            if stdin_is_terminal() {
                return Err(fail("requested load from stdin, but stdin is empty"));
            }
            engine.load_images(BufReader::with_capacity(BUF, io::stdin().lock()))?
        }
    };
    if !a.quiet {
        for l in &loaded {
            for (tag, old) in &l.moved_tags {
                println!(
                    "The image {} already exists, renaming the old one with ID {old} to empty string",
                    tag.familiar()
                );
            }
            if l.tags.is_empty() {
                println!("Loaded image ID: {}", l.id);
            }
            for t in &l.tags {
                println!("Loaded image: {}", t.familiar());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn import(engine: &Engine, a: ImportArgs) -> anyhow::Result<ExitCode> {
    if a.source.starts_with("http://") || a.source.starts_with("https://") {
        return Err(fail(format!(
            "importing from a URL is not supported yet: {}",
            a.source
        )));
    }
    let req = ImportRequest {
        reference: a.reference,
        changes: a.change,
        message: a.message,
        source: "-".into(),
        platform: a.platform,
    };
    let src: Box<dyn Read> = if a.source == "-" {
        Box::new(io::stdin().lock())
    } else {
        Box::new(File::open(&a.source).map_err(|e| fail(format!("open {}: {e}", a.source)))?)
    };
    let id = engine.import_image(src, &req)?;
    println!("{id}");
    Ok(ExitCode::SUCCESS)
}
