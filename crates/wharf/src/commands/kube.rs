//! `wharf kube generate|play|down`: podman's verbs on wharf-kube. Errors
//! print one `Error:` line and exit 125, as podman's do.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use wharf_engine::Engine;
use wharf_kube::generate::{manifests, WorkloadKind};
use wharf_kube::objects::Object;
use wharf_kube::play::PlayOptions;
use wharf_kube::{manifest, source};

use crate::cli_kube::{KubeCommand, KubeDownArgs, KubeGenerateArgs, KubePlayArgs};
use crate::exit::fail;

pub fn run(engine: &Engine, c: KubeCommand) -> anyhow::Result<ExitCode> {
    match c {
        KubeCommand::Generate(a) => generate(engine, a),
        KubeCommand::Play(a) if a.down => down(
            engine,
            KubeDownArgs {
                file: a.file,
                force: a.force,
            },
        ),
        KubeCommand::Play(a) => play(engine, a),
        KubeCommand::Down(a) => down(engine, a),
    }
}

fn generate(engine: &Engine, a: KubeGenerateArgs) -> anyhow::Result<ExitCode> {
    let kind = match a.kind.as_str() {
        "deployment" => WorkloadKind::Deployment,
        "pod" => WorkloadKind::Pod,
        other => {
            return Err(fail(format!(
                "invalid type \"{other}\": only \"deployment\" and \"pod\" are supported"
            )))
        }
    };
    if let Some(path) = &a.filename {
        if path.exists() {
            return Err(fail(format!(
                "cannot write to {:?}: file exists",
                path.display().to_string()
            )));
        }
    }
    let mut groups = if a.compose {
        if !a.containers.is_empty() {
            return Err(fail("--compose takes no container names"));
        }
        let loaded = wharf_compose::load(&wharf_compose::Options {
            files: a.file,
            project_name: a.project_name,
            project_directory: a.project_directory,
            profiles: a.profile,
            env_files: a.env_file,
            ..Default::default()
        })?;
        crate::commands::compose::print_warnings(&loaded.warnings);
        source::from_compose(engine, &loaded)?
    } else {
        if a.containers.is_empty() {
            return Err(fail(
                "a container name or ID is required (or --compose for the Compose project)",
            ));
        }
        vec![source::from_containers(engine, &a.containers)?]
    };
    if let Some(r) = a.replicas {
        if kind == WorkloadKind::Pod {
            return Err(fail("--replicas is only for --type deployment"));
        }
        for g in &mut groups {
            g.replicas = r;
        }
    }
    let text = manifest::render(&manifests(&groups, kind));
    match &a.filename {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?
        }
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The file's objects (`-` reads stdin).
fn read(file: &Path) -> anyhow::Result<(Vec<Object>, PathBuf)> {
    let (text, path) = if file == Path::new("-") {
        let mut s = String::new();
        std::io::stdin().read_to_string(&mut s)?;
        (s, std::env::current_dir()?.join("stdin.yaml"))
    } else {
        let text = std::fs::read_to_string(file)
            .map_err(|e| fail(format!("open {}: {}", file.display(), io_text(&e))))?;
        (text, std::path::absolute(file)?)
    };
    let objects = manifest::parse(&text, &file.display().to_string())?;
    if objects.is_empty() {
        return Err(fail(format!("{}: no Kubernetes objects", file.display())));
    }
    Ok((objects, path))
}

/// Go's wording of the common I/O errors.
fn io_text(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

fn play(engine: &Engine, a: KubePlayArgs) -> anyhow::Result<ExitCode> {
    let (objects, path) = read(&a.file)?;
    let played = wharf_kube::play::play(
        engine,
        &objects,
        &path,
        &PlayOptions {
            replace: a.replace,
            no_start: !a.start,
        },
    )?;
    let mut out = std::io::stdout().lock();
    for v in &played.volumes {
        writeln!(out, "Volume:\n{v}")?;
    }
    for (pod, containers) in &played.pods {
        writeln!(out, "Pod:\n{pod}\nContainer:")?;
        for c in containers {
            writeln!(out, "{c}")?;
        }
        writeln!(out)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn down(engine: &Engine, a: KubeDownArgs) -> anyhow::Result<ExitCode> {
    let (objects, _) = read(&a.file)?;
    let downed = wharf_kube::play::down(engine, &objects, a.force)?;
    let mut out = std::io::stdout().lock();
    for title in ["Pods stopped:", "Pods removed:"] {
        writeln!(out, "{title}")?;
        for p in &downed.pods {
            writeln!(out, "{p}")?;
        }
    }
    writeln!(out, "Secrets removed:\nVolumes removed:")?;
    for v in &downed.volumes {
        writeln!(out, "{v}")?;
    }
    Ok(ExitCode::SUCCESS)
}
