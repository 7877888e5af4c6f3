//! `login`, `logout`, `pull`, `push`. Registry failures exit with 1, as
//! the docker CLI does for these verbs.

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use wharf_engine::registry::PullRequest;
use wharf_engine::{Engine, EngineError, Reference};

use super::progress::{Render, Stream};
use crate::cli::{LoginArgs, LogoutArgs, PullArgs, PushArgs};
use crate::exit::fail_with;

/// Docker's exit code for a failed pull, push or login.
const FAILED: u8 = 1;

fn failed(e: impl std::fmt::Display) -> anyhow::Error {
    fail_with(e.to_string(), FAILED)
}

pub fn pull(engine: &Engine, a: PullArgs) -> anyhow::Result<ExitCode> {
    let r = Reference::parse(&a.name).map_err(failed)?;
    let render = Render::new(Stream::Stdout, a.quiet);
    let names: Vec<String> = if a.all_tags {
        if r.tag().is_some() || r.digest().is_some() {
            return Err(failed("tag can't be used with --all-tags/-a"));
        }
        let tags = engine.remote_tags(&a.name).map_err(failed)?;
        tags.iter().map(|t| r.with_tag(t).to_string()).collect()
    } else {
        if r.tag().is_none() && r.digest().is_none() {
            render.line("Using default tag: latest");
        }
        vec![r.clone().with_default_tag().to_string()]
    };
    let mut any_updated = false;
    let mut last = None;
    for name in &names {
        let pulled = engine
            .pull(
                &PullRequest {
                    name: name.clone(),
                    platform: a.platform.clone(),
                },
                &render,
            )
            .map_err(failed)?;
        render.line(&format!("Digest: {}", pulled.digest));
        any_updated |= pulled.updated;
        last = Some(pulled);
    }
    let shown = match (a.all_tags, &last) {
        (true, _) => r.familiar_repository(),
        (false, Some(p)) => p.reference.familiar(),
        (false, None) => r.familiar(),
    };
    render.line(&format!(
        "Status: {} for {shown}",
        if any_updated {
            "Downloaded newer image"
        } else {
            "Image is up to date"
        }
    ));
    drop(render);
    // The full reference, also with -q (docker prints it for scripts).
    match (a.all_tags, last) {
        (true, _) => println!("{}", r.repository()),
        (false, Some(p)) => println!("{}", p.reference),
        (false, None) => {}
    }
    Ok(ExitCode::SUCCESS)
}

pub fn push(engine: &Engine, a: PushArgs) -> anyhow::Result<ExitCode> {
    let targets = engine.push_targets(&a.name, a.all_tags).map_err(failed)?;
    let render = Render::new(Stream::Stdout, a.quiet);
    let r = Reference::parse(&a.name).map_err(failed)?;
    if !a.all_tags && r.tag().is_none() {
        render.line("Using default tag: latest");
    }
    render.line(&format!(
        "The push refers to repository [{}]",
        r.repository()
    ));
    for (reference, id) in &targets {
        let pushed = engine.push(reference, id, &render).map_err(failed)?;
        render.line(&format!(
            "{}: digest: {} size: {}",
            pushed.tag, pushed.digest, pushed.size
        ));
    }
    drop(render);
    if a.quiet {
        for (reference, _) in &targets {
            println!("{reference}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Read one line from the terminal, optionally without echo.
fn prompt(label: &str, echo: bool) -> anyhow::Result<String> {
    use nix::sys::termios::{tcgetattr, tcsetattr, LocalFlags, SetArg};
    eprint!("{label}");
    let _ = std::io::stderr().flush();
    let stdin = std::io::stdin();
    let saved = if !echo && stdin.is_terminal() {
        let t = tcgetattr(&stdin).ok();
        if let Some(t) = &t {
            let mut quiet = t.clone();
            quiet.local_flags.remove(LocalFlags::ECHO);
            let _ = tcsetattr(&stdin, SetArg::TCSANOW, &quiet);
        }
        t
    } else {
        None
    };
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    if let Some(t) = saved {
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, &t);
        eprintln!();
    }
    read?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

pub fn login(engine: &Engine, a: LoginArgs) -> anyhow::Result<ExitCode> {
    if a.password.is_some() && a.password_stdin {
        return Err(failed(
            "--password and --password-stdin are mutually exclusive",
        ));
    }
    if a.password_stdin && a.username.is_none() {
        return Err(failed("Must provide --username with --password-stdin"));
    }
    let username = match &a.username {
        Some(u) => u.clone(),
        None => prompt("Username: ", true)?,
    };
    let password = if a.password_stdin {
        let mut s = String::new();
        std::io::stdin().lock().read_line(&mut s)?;
        s.trim_end_matches(['\n', '\r']).to_string()
    } else if let Some(p) = &a.password {
        eprintln!("WARNING! Using --password via the CLI is insecure. Use --password-stdin.");
        p.clone()
    } else {
        prompt("Password: ", false)?
    };
    let out = engine
        .login(a.server.as_deref(), username.trim(), &password)
        .map_err(|e| match e {
            EngineError::Invalid(m) => failed(m.trim_start_matches("Error: ")),
            other => failed(other),
        })?;
    if let Some(path) = out.plaintext_in {
        eprintln!(
            "WARNING! Your password will be stored unencrypted in {}.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/engine/reference/commandline/login/#credentials-store\n",
            path.display()
        );
    }
    println!("Login Succeeded");
    Ok(ExitCode::SUCCESS)
}

pub fn logout(engine: &Engine, a: LogoutArgs) -> anyhow::Result<ExitCode> {
    let host = wharf_engine::registry::server_host(a.server.as_deref());
    let shown = if host == "docker.io" {
        "https://index.docker.io/v1/".to_string()
    } else {
        host
    };
    if engine.logout(a.server.as_deref()).map_err(failed)? {
        println!("Removing login credentials for {shown}");
    } else {
        println!("Not logged in to {shown}");
    }
    Ok(ExitCode::SUCCESS)
}
