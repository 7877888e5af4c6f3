//! One function per verb: open the engine, call it, print like docker.

mod build;
pub(crate) mod compose;
pub(crate) mod containers;
mod create_opts;
mod events;
mod images;
mod info;
mod inspect;
mod kube;
mod manage;
mod networks;
pub(crate) mod ports;
mod progress;
mod prune_filter;
mod registry;
pub(crate) mod runc;
mod serve;
mod stats;
mod system;
mod transfer;
mod volumes;

use std::path::Path;
use std::process::ExitCode;

use wharf_engine::Engine;

use crate::cli::{
    BuilderCommand, Cli, Command, ContainerCommand as C, ImageCommand, SystemCommand, VolumeCommand,
};

/// Opens the engine as a command does: a store root made by an older wharf
/// that other users could read is narrowed by the store, and the user is
/// told (once: the next open finds it narrow).
pub(crate) fn open_engine(root: &Path) -> anyhow::Result<Engine> {
    let engine = Engine::open(root)?;
    if let Some(mode) = engine.narrowed_from() {
        eprintln!(
            "WARNING: {} was open to other users (mode {mode:04o}); it is now 0710, as only root may read containers' environment and files",
            root.display()
        );
    }
    Ok(engine)
}

/// `--filter` values as docker's CLI parses them; one without `=` is its
/// usage error (exit 125, no `Error:` prefix).
pub(crate) fn parse_filters(args: &[String], verb: &str) -> anyhow::Result<wharf_model::Filters> {
    wharf_model::Filters::parse(args).map_err(|e| {
        eprintln!("{e}\nSee 'wharf {verb} --help'.");
        crate::exit::fail_with("", crate::exit::ENGINE_ERROR)
    })
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Version = cli.command {
        println!("wharf version {}", env!("CARGO_PKG_VERSION"));
        return Ok(ExitCode::SUCCESS);
    }
    // These open the store themselves, after starting other work, or
    // need no store at all.
    match cli.command {
        Command::Run(a) | Command::Container(C::Run(a)) => {
            return containers::run(&cli.global.root, a)
        }
        Command::Compose(a) => return compose::run(&cli.global.root, a),
        Command::Completion(a) => return crate::help::completion(a),
        Command::ManPages(a) => return crate::help::man_pages(a),
        Command::Serve(a) => return serve::serve(&cli.global.root, a),
        Command::PortProxy(a) => return networks::port_proxy(a),
        // A removed container's files, after its `rm` returned.
        Command::TrashDelete(a) => {
            return Ok(
                match wharf_store::delete_trash_entry(&cli.global.root, &a.name) {
                    true => ExitCode::SUCCESS,
                    false => ExitCode::from(2),
                },
            )
        }
        _ => {}
    }
    // `exec`'s cgroup joins wait out an RCU grace period unless a move
    // passed moments before: a helper starts moving now, before the store
    // is opened, and until the exec's process has started.
    let warm = match &cli.command {
        Command::Exec(_) | Command::Container(C::Exec(_)) => wharf_runtime::cgroup_warmup::hold(),
        _ => None,
    };
    let engine = open_engine(&cli.global.root)?;
    match cli.command {
        Command::Images(a) | Command::Image(ImageCommand::Ls(a)) => images::list(&engine, a),
        Command::Tag(a) | Command::Image(ImageCommand::Tag(a)) => images::tag(&engine, a),
        Command::Rmi(a) | Command::Image(ImageCommand::Rm(a)) => images::remove(&engine, a),
        Command::History(a) | Command::Image(ImageCommand::History(a)) => {
            images::history(&engine, a)
        }
        Command::Image(ImageCommand::Prune(a)) => images::prune(&engine, a),
        Command::Pull(a) | Command::Image(ImageCommand::Pull(a)) => registry::pull(&engine, a),
        Command::Push(a) | Command::Image(ImageCommand::Push(a)) => registry::push(&engine, a),
        Command::Login(a) => registry::login(&engine, a),
        Command::Logout(a) => registry::logout(&engine, a),
        Command::Save(a) | Command::Image(ImageCommand::Save(a)) => transfer::save(&engine, a),
        Command::Load(a) | Command::Image(ImageCommand::Load(a)) => transfer::load(&engine, a),
        Command::Import(a) | Command::Image(ImageCommand::Import(a)) => {
            transfer::import(&engine, a)
        }
        Command::Inspect(a) => inspect::inspect(&engine, a, None),
        Command::Container(C::Inspect(a)) => inspect::inspect(&engine, a, Some("container")),
        Command::Image(ImageCommand::Inspect(a)) => inspect::inspect(&engine, a, Some("image")),
        Command::System(SystemCommand::Df(a)) => system::df(&engine, a),
        Command::Events(a) | Command::System(SystemCommand::Events(a)) => {
            events::events(&engine, a)
        }
        Command::Volume(VolumeCommand::Create(a)) => volumes::create(&engine, a),
        Command::Volume(VolumeCommand::Ls(a)) => volumes::list(&engine, a),
        Command::Volume(VolumeCommand::Inspect(a)) => volumes::inspect(&engine, a),
        Command::Volume(VolumeCommand::Rm(a)) => volumes::remove(&engine, a),
        Command::Volume(VolumeCommand::Prune(a)) => volumes::prune(&engine, a),
        Command::Run(_) | Command::Container(C::Run(_)) => unreachable!("handled above"),
        Command::Create(a) | Command::Container(C::Create(a)) => containers::create(&engine, a),
        Command::Start(a) | Command::Container(C::Start(a)) => containers::start(&engine, a),
        Command::Ps(a) | Command::Container(C::Ls(a)) => containers::ps(&engine, a),
        Command::Stop(a) | Command::Container(C::Stop(a)) => containers::stop(&engine, a),
        Command::Restart(a) | Command::Container(C::Restart(a)) => manage::restart(&engine, a),
        Command::Update(a) | Command::Container(C::Update(a)) => manage::update(&engine, a),
        Command::Kill(a) | Command::Container(C::Kill(a)) => containers::kill(&engine, a),
        Command::Rm(a) | Command::Container(C::Rm(a)) => containers::rm(&engine, a),
        Command::Container(C::Prune(a)) => manage::prune(&engine, a),
        Command::Wait(a) | Command::Container(C::Wait(a)) => containers::wait(&engine, a),
        Command::Logs(a) | Command::Container(C::Logs(a)) => containers::logs(&engine, a),
        Command::Exec(a) | Command::Container(C::Exec(a)) => containers::exec(&engine, a, warm),
        Command::Attach(a) | Command::Container(C::Attach(a)) => containers::attach(&engine, a),
        Command::Rename(a) | Command::Container(C::Rename(a)) => containers::rename(&engine, a),
        Command::Pause(a) | Command::Container(C::Pause(a)) => containers::pause(&engine, a, true),
        Command::Unpause(a) | Command::Container(C::Unpause(a)) => {
            containers::pause(&engine, a, false)
        }
        Command::Diff(a) | Command::Container(C::Diff(a)) => containers::diff(&engine, a),
        Command::Export(a) | Command::Container(C::Export(a)) => containers::export(&engine, a),
        Command::Commit(a) | Command::Container(C::Commit(a)) => containers::commit(&engine, a),
        Command::Top(a) | Command::Container(C::Top(a)) => stats::top(&engine, a),
        Command::Cp(a) | Command::Container(C::Cp(a)) => containers::cp(&engine, a),
        Command::Stats(a) | Command::Container(C::Stats(a)) => stats::stats(&engine, a),
        Command::Build(a)
        | Command::Image(ImageCommand::Build(a))
        | Command::Builder(BuilderCommand::Build(a)) => build::build(&engine, a),
        Command::Builder(BuilderCommand::Prune(a)) => build::prune(&engine, a),
        Command::Port(a) | Command::Container(C::Port(a)) => ports::port(&engine, a),
        Command::Info(a) | Command::System(SystemCommand::Info(a)) => {
            info::info(&engine, a, cli.global.debug)
        }
        Command::Network(c) => networks::run(&engine, c),
        Command::NetworkDns(a) => networks::dns(&cli.global.root, a),
        Command::NetworkUnlink(a) => networks::unlink(a),
        Command::Kube(c) => kube::run(&engine, c),
        Command::System(SystemCommand::Prune(a)) => system::prune(&engine, a),
        Command::System(SystemCommand::Check(a)) => system::check(&engine, a),
        Command::Compose(_)
        | Command::Serve(_)
        | Command::PortProxy(_)
        | Command::TrashDelete(_) => {
            unreachable!("handled above")
        }
        Command::Version | Command::Completion(_) | Command::ManPages(_) => {
            unreachable!("handled above")
        }
    }
}
