//! `compose run`, `exec` and `cp` (one container of a service), and the
//! image verbs `build`, `pull`, `push`, plus `version`.

use std::process::ExitCode;

use wharf_compose::run::{
    newest_first, parse_publish, parse_volume, split_command, BuildOptions, BuildPolicy, OneOff,
    ProjectContainer, RunError, RunOptions,
};
use wharf_engine::containers::AttachIo;

use super::Cx;
use crate::cli_compose::{
    ComposeBuildArgs, ComposeCpArgs, ComposeExecArgs, ComposePullArgs, ComposeRunArgs,
    ComposeServicesArgs, ComposeVersionArgs,
};
use crate::commands::containers::{split_container_path, TAR_STREAMS_UNSUPPORTED};

fn engine_err(e: wharf_engine::EngineError) -> RunError {
    RunError::Engine(e)
}

/// A start error keeps docker's exit code (126, 127, 125).
fn start_err(e: wharf_engine::EngineError) -> RunError {
    RunError::Exit {
        code: e.exit_code(),
        message: format!("Error response from daemon: {e}"),
    }
}

/// `-e K=V` or a bare `K` taken from our environment, as docker's CLI.
fn env_from_flags(flags: &[String]) -> Vec<String> {
    flags
        .iter()
        .filter_map(|e| match e.split_once('=') {
            Some(_) => Some(e.clone()),
            None => std::env::var(e).ok().map(|v| format!("{e}={v}")),
        })
        .collect()
}

pub fn run(cx: &Cx, a: &ComposeRunArgs) -> Result<ExitCode, RunError> {
    if a.tty && a.no_tty {
        return Err(RunError::Invalid(
            "--tty and --no-TTY can't be used together".into(),
        ));
    }
    let stdin_tty = crate::output::stdin_is_terminal();
    // Compose gives `run` a terminal and stdin by default, unless stdin
    // is not a terminal and nothing was asked for.
    let tty = if a.tty { true } else { !a.no_tty && stdin_tty };
    let interactive = a.interactive || stdin_tty || !a.no_tty;
    let mut publish = Vec::new();
    for p in &a.publish {
        publish.extend(parse_publish(p)?);
    }
    let mut volumes = Vec::new();
    for v in &a.volume {
        volumes.push(parse_volume(v)?);
    }
    let loaded = cx.load(std::slice::from_ref(&a.service))?;
    let engine = cx.engine()?;
    let mut rt = cx.runtime(&engine, loaded);
    if a.no_deps {
        rt.only(std::slice::from_ref(&a.service));
    }
    let opts = RunOptions {
        service: a.service.clone(),
        command: a.command.clone(),
        entrypoint: a.entrypoint.as_deref().map(split_command).transpose()?,
        name: a.name.clone(),
        tty,
        interactive,
        auto_remove: a.rm,
        user: a.user.clone(),
        workdir: a.workdir.clone(),
        env: a.env.clone(),
        labels: a.label.clone(),
        cap_add: a.cap_add.clone(),
        cap_drop: a.cap_drop.clone(),
        volumes,
        publish,
        service_ports: a.service_ports,
        use_aliases: a.use_aliases,
        no_deps: a.no_deps,
        build: if a.build {
            BuildPolicy::Always
        } else {
            BuildPolicy::Missing
        },
        build_options: BuildOptions {
            mode: super::up::build_mode(cx),
            ..Default::default()
        },
        remove_orphans: a.remove_orphans,
    };
    let progress = cx.progress("Running");
    let created = rt.create_oneoff(&opts, &*progress);
    progress.finish();
    let id = created?;
    // A start that fails is an error like any other to `compose run`
    // (exit 1), not `docker run`'s 126/127.
    if a.detach {
        engine.start_container(&id, None).map_err(engine_err)?;
        println!("{id}");
        return Ok(ExitCode::SUCCESS);
    }
    if tty && !stdin_tty {
        let _ = engine.remove_container(&id, true, false);
        return Err(RunError::Invalid("the input device is not a TTY".into()));
    }
    // As `docker run`: signals go to the container while attached.
    let signals = wharf_engine::containers::watch_signals(true).map_err(engine_err)?;
    let started = engine
        .start_container(&id, Some(&AttachIo::default()))
        .map_err(engine_err)?;
    let code = engine
        .wait_attached(started, signals)
        .map_err(engine_err)?
        .unwrap_or(0);
    if code != 0 {
        return Err(RunError::Exit {
            code,
            message: String::new(),
        });
    }
    Ok(ExitCode::SUCCESS)
}

pub fn exec(cx: &Cx, a: &ComposeExecArgs) -> Result<ExitCode, RunError> {
    let engine = cx.engine()?;
    let rt = cx.project_name_only(&engine)?;
    let c = rt.one_container(&a.service, a.index)?;
    let tty =
        !a.no_tty && crate::output::stdout_is_terminal() && crate::output::stdin_is_terminal();
    let req = wharf_runtime::exec::ExecRequest {
        args: a.command.clone(),
        env: env_from_flags(&a.env),
        workdir: a.workdir.clone(),
        user: a.user.clone(),
        detach: a.detach,
        interactive: !a.detach,
        tty,
        detach_keys: wharf_runtime::term::DEFAULT_DETACH_KEYS.to_vec(),
        privileged: a.privileged,
    };
    let warm = wharf_runtime::cgroup_warmup::hold();
    let code = engine
        .exec_container(c.id(), &req, warm)
        .map_err(start_err)?;
    // The command's own code, with nothing printed: Compose's `exec`
    // exits there and then, where `run` and `up` return an error.
    Ok(ExitCode::from(code.clamp(0, 255) as u8))
}

pub fn cp(cx: &Cx, a: &ComposeCpArgs) -> Result<ExitCode, RunError> {
    if a.src == "-" || a.dest == "-" {
        return Err(RunError::Invalid(TAR_STREAMS_UNSUPPORTED.into()));
    }
    let engine = cx.engine()?;
    let rt = cx.project_name_only(&engine)?;
    // The service, the path in its containers, and whether the copy is
    // out of them.
    let (svc, path, out) = match (split_container_path(&a.src), split_container_path(&a.dest)) {
        (Some((svc, p)), None) => (svc, p, true),
        (None, Some((svc, p))) => (svc, p, false),
        (Some(_), Some(_)) => {
            return Err(RunError::Invalid(
                "copying between services is not supported".into(),
            ))
        }
        (None, None) => return Err(RunError::Invalid("unknown copy direction".into())),
    };
    // Compose's `listContainersTargetedForCopy`: replica `--index`, else
    // every container of the service, stopped ones too (`--all`: `run`'s
    // as well); a copy out of the service takes the first the engine
    // lists, a copy in goes to each.
    let mut targets = match a.index.filter(|i| *i > 0) {
        Some(_) => vec![rt.one_container(svc, a.index)?],
        None => {
            let mut all: Vec<ProjectContainer> = rt
                .containers(if a.all {
                    OneOff::Include
                } else {
                    OneOff::Exclude
                })?
                .into_iter()
                .filter(|c| c.service() == svc)
                .collect();
            newest_first(&mut all);
            all
        }
    };
    if targets.is_empty() {
        return Err(RunError::Invalid(format!(
            "no container found for service {svc:?}"
        )));
    }
    if out {
        targets.truncate(1);
    }
    for c in &targets {
        if out {
            engine.copy_from_container(
                c.id(),
                path,
                std::path::Path::new(&a.dest),
                a.dest.ends_with('/'),
                a.follow_link,
            )
        } else {
            engine.copy_to_container(c.id(), std::path::Path::new(&a.src), path)
        }
        .map_err(engine_err)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn build(cx: &Cx, a: &ComposeBuildArgs) -> Result<ExitCode, RunError> {
    let deps = if a.with_dependencies {
        a.services.clone()
    } else {
        Vec::new()
    };
    let loaded = cx.load(&deps)?;
    let engine = cx.engine()?;
    let rt = cx.runtime(&engine, loaded);
    for s in &a.services {
        if !rt.project.services.contains_key(s) {
            return Err(RunError::Invalid(format!("no such service: {s}")));
        }
    }
    let services: Vec<String> = if a.services.is_empty() || a.with_dependencies {
        rt.project.services.keys().cloned().collect()
    } else {
        a.services.clone()
    };
    let args = a
        .build_arg
        .iter()
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (kv.clone(), std::env::var(kv).ok()),
        })
        .collect();
    let opts = BuildOptions {
        no_cache: a.no_cache,
        args,
        mode: if a.quiet {
            wharf_build::ProgressMode::Quiet
        } else {
            super::up::build_mode(cx)
        },
    };
    let progress = cx.progress("Building");
    let result = rt.build(&services, &opts, &*progress);
    progress.finish();
    result.map(|_| ExitCode::SUCCESS)
}

pub fn pull(cx: &Cx, a: &ComposePullArgs) -> Result<ExitCode, RunError> {
    let engine = cx.engine()?;
    let rt = cx.runtime(&engine, cx.load(&a.services)?);
    let progress = if a.quiet {
        cx.progress_mode(wharf_compose::run::Mode::Quiet, "Pulling")
    } else {
        cx.progress("Pulling")
    };
    let result = rt.pull_images(
        &a.services,
        a.ignore_buildable,
        a.ignore_pull_failures,
        &*progress,
    );
    progress.finish();
    result.map(|_| ExitCode::SUCCESS)
}

pub fn push(cx: &Cx, a: &ComposeServicesArgs) -> Result<ExitCode, RunError> {
    let engine = cx.engine()?;
    let rt = cx.runtime(&engine, cx.load(&a.services)?);
    let progress = cx.progress("Pushing");
    let result = rt.push_images(&a.services, &*progress);
    progress.finish();
    result.map(|_| ExitCode::SUCCESS)
}

/// The Compose version wharf follows, and wharf's own.
pub fn version(a: &ComposeVersionArgs) -> Result<ExitCode, RunError> {
    let v = wharf_compose::run::labels::COMPOSE_VERSION;
    if a.short {
        println!("{v}");
    } else if a.format.as_deref() == Some("json") {
        println!("{{\"version\":\"v{v}\"}}");
    } else {
        println!(
            "Docker Compose version v{v} (wharf {})",
            env!("CARGO_PKG_VERSION")
        );
    }
    Ok(ExitCode::SUCCESS)
}
