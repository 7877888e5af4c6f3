//! `compose up` and `compose create`: flags checked and applied as Docker
//! Compose does, then the runtime converges the project.

use std::process::ExitCode;
use std::time::Duration;

use wharf_build::ProgressMode;
use wharf_compose::run::{BuildOptions, BuildPolicy, Recreate, RunError, Runtime, UpOptions};

use super::Cx;
use crate::cli_compose::{ComposeCreateArgs, ComposeCreateFlags, ComposeUpArgs};

fn invalid(msg: &str) -> RunError {
    RunError::Invalid(msg.to_string())
}

/// Compose's `validateFlags` for the flags `create` shares with `up`.
fn check_create_flags(c: &ComposeCreateFlags) -> Result<(), RunError> {
    if c.build && c.no_build {
        return Err(invalid("--build and --no-build are incompatible"));
    }
    if c.force_recreate && c.no_recreate {
        return Err(invalid(
            "--force-recreate and --no-recreate are incompatible",
        ));
    }
    Ok(())
}

/// COMPOSE_REMOVE_ORPHANS, which `up`, `down` and `kill` read from the
/// process's environment as the default of `--remove-orphans`.
pub(super) fn remove_orphans_env() -> bool {
    wharf_compose::run::env_switch(std::env::var("COMPOSE_REMOVE_ORPHANS").ok().as_deref())
}

/// What `create`'s flags ask of the runtime, applied to the project.
fn up_options(
    cx: &Cx,
    rt: &mut Runtime,
    c: &ComposeCreateFlags,
    services: &[String],
) -> Result<UpOptions, RunError> {
    if let Some(p) = &c.pull {
        rt.apply_pull(p)?;
    }
    rt.apply_scale(&c.scale)?;
    let recreate = if c.no_recreate {
        Recreate::Never
    } else if c.force_recreate {
        Recreate::Force
    } else {
        Recreate::Diverged
    };
    Ok(UpOptions {
        services: services.to_vec(),
        build: if c.build {
            BuildPolicy::Always
        } else if c.no_build {
            BuildPolicy::Never
        } else {
            BuildPolicy::Missing
        },
        build_options: BuildOptions {
            mode: build_mode(cx),
            ..Default::default()
        },
        recreate,
        recreate_deps: if c.no_recreate {
            Recreate::Never
        } else {
            Recreate::Diverged
        },
        remove_orphans: c.remove_orphans,
        inherit: true,
        ..Default::default()
    })
}

/// How the builder shows its steps under compose's progress mode.
pub(super) fn build_mode(cx: &Cx) -> ProgressMode {
    match cx.mode() {
        wharf_compose::run::Mode::Tty => ProgressMode::Tty,
        wharf_compose::run::Mode::Quiet => ProgressMode::Quiet,
        _ => ProgressMode::Plain,
    }
}

pub fn create(cx: &Cx, a: &ComposeCreateArgs) -> Result<ExitCode, RunError> {
    check_create_flags(&a.create)?;
    let loaded = cx.load(&a.services)?;
    let engine = cx.engine()?;
    let mut rt = cx.runtime(&engine, loaded);
    let opts = up_options(cx, &mut rt, &a.create, &a.services)?;
    let progress = cx.progress("Creating");
    let result = rt.create(&opts, &*progress);
    progress.finish();
    result.map(|_| ExitCode::SUCCESS)
}

pub fn up(cx: &Cx, a: &ComposeUpArgs) -> Result<ExitCode, RunError> {
    check_create_flags(&a.create)?;
    let cascade_stop =
        a.abort_on_container_exit || (a.exit_code_from.is_some() && !a.abort_on_container_failure);
    if cascade_stop && a.abort_on_container_failure {
        return Err(invalid(
            "--abort-on-container-failure cannot be combined with --abort-on-container-exit",
        ));
    }
    let mut detach = a.detach;
    if a.wait {
        if a.attach_dependencies || cascade_stop || !a.attach.is_empty() {
            return Err(invalid(
                "--wait cannot be combined with --abort-on-container-exit, --attach or --attach-dependencies",
            ));
        }
        detach = true;
    }
    if detach
        && (a.attach_dependencies
            || cascade_stop
            || a.abort_on_container_failure
            || !a.attach.is_empty())
    {
        return Err(invalid(if a.wait {
            "--wait cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --attach, --attach-dependencies or --watch"
        } else {
            "--detach cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --attach, --attach-dependencies or --watch"
        }));
    }
    if a.renew_anon_volumes && a.create.no_recreate {
        return Err(invalid(
            "--no-recreate and --renew-anon-volumes are incompatible",
        ));
    }
    if a.always_recreate_deps && a.create.no_recreate {
        return Err(invalid(
            "--always-recreate-deps and --no-recreate are incompatible",
        ));
    }
    let loaded = cx.load(&a.services)?;
    let engine = cx.engine()?;
    let mut rt = cx.runtime(&engine, loaded);
    let ignore_orphans = rt.ignore_orphans();
    // `up` alone reads COMPOSE_REMOVE_ORPHANS (`create` does not).
    let remove_orphans = a.create.remove_orphans || remove_orphans_env();
    if ignore_orphans && remove_orphans {
        return Err(invalid(
            "cannot combine COMPOSE_IGNORE_ORPHANS and --remove-orphans",
        ));
    }
    if a.no_deps {
        rt.only(&a.services);
    }
    if let Some(svc) = &a.exit_code_from {
        if !rt.project.services.contains_key(svc) {
            return Err(invalid(&format!("no such service: {svc}")));
        }
    }
    if rt.project.services.is_empty() {
        return Err(invalid("no service selected"));
    }
    let mut opts = up_options(cx, &mut rt, &a.create, &a.services)?;
    opts.remove_orphans = remove_orphans;
    opts.ignore_orphans = ignore_orphans;
    if a.always_recreate_deps {
        opts.recreate_deps = Recreate::Force;
    }
    if a.renew_anon_volumes {
        opts.recreate = Recreate::Force;
        opts.inherit = false;
    }
    opts.timeout = a.timeout;
    opts.wait = a.wait;
    opts.wait_timeout = a.wait_timeout.map(Duration::from_secs);
    if a.quiet_build {
        opts.build_options.mode = ProgressMode::Quiet;
    }
    let progress = cx.progress("Running");
    if a.no_start {
        let result = rt.create(&opts, &*progress);
        progress.finish();
        return result.map(|_| ExitCode::SUCCESS);
    }
    if detach {
        let result = rt.up(&opts, &*progress);
        progress.finish();
        return result.map(|_| ExitCode::SUCCESS);
    }
    let created = rt.create(&opts, &*progress);
    progress.finish();
    created?;
    super::attach::attached_up(cx, &rt, a, cascade_stop)
}
