//! `wharf-runc`'s command line, as clap types: runc's global flags, verbs
//! and their flags, as containerd's shim and dockerd pass them (kept apart
//! from `cli.rs`, which holds docker's verbs).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "wharf-runc",
    version,
    about = "An OCI runtime (runc's command line) on wharf's libcontainer path",
    disable_help_subcommand = true,
    arg_required_else_help = true
)]
pub struct RuncCli {
    /// enable debug logging
    #[arg(long)]
    pub debug: bool,
    /// set the log file to write runc logs to (default is '/dev/stderr')
    #[arg(long)]
    pub log: Option<PathBuf>,
    /// set the log format ('text' (default), or 'json')
    #[arg(long = "log-format", default_value = "text", value_parser = ["text", "json"])]
    pub log_format: String,
    /// root directory for storage of container state (this should be located in tmpfs)
    #[arg(long, default_value = wharf_runtime::runc::DEFAULT_ROOT)]
    pub root: PathBuf,
    /// path to the criu binary used for checkpoint and restore (not supported)
    #[arg(long)]
    pub criu: Option<String>,
    /// enable systemd cgroup support (refused: cgroupfs only)
    #[arg(long = "systemd-cgroup")]
    pub systemd_cgroup: bool,
    /// ignore cgroup permission errors ('true', 'false', or 'auto')
    #[arg(long, default_value = "auto")]
    pub rootless: String,
    #[command(subcommand)]
    pub command: RuncCommand,
}

#[derive(Subcommand, Debug)]
pub enum RuncCommand {
    /// create a container
    Create(RuncCreateArgs),
    /// executes the user defined process in a created container
    Start(RuncIdArg),
    /// create and run a container
    Run(RuncRunArgs),
    /// output the state of a container
    State(RuncIdArg),
    /// kill sends the specified signal (default: SIGTERM) to the container's init process
    Kill(RuncKillArgs),
    /// delete any resources held by the container often used with detached container
    Delete(RuncDeleteArgs),
    /// execute new process inside the container
    Exec(RuncExecArgs),
    /// ps displays the processes running inside a container
    Ps(RuncPsArgs),
    /// lists containers started by runc with the given root
    List(RuncListArgs),
    /// pause suspends all processes inside the container
    Pause(RuncIdArg),
    /// resumes all processes that have been previously paused
    Resume(RuncIdArg),
    /// update container resource constraints
    Update(RuncUpdateArgs),
    /// display container events such as OOM notifications, cpu, memory, and IO usage statistics
    Events(RuncEventsArgs),
    /// show the enabled features
    Features,
    /// create a new specification file
    Spec(RuncSpecArgs),
}

#[derive(Args, Debug)]
pub struct RuncIdArg {
    pub container_id: String,
}

#[derive(Args, Debug)]
pub struct RuncCreateArgs {
    /// path to the root of the bundle directory, defaults to the current directory
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    /// path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// specify the file to write the process id to
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// do not use pivot root to jail process inside rootfs
    #[arg(long = "no-pivot")]
    pub no_pivot: bool,
    /// do not create a new session keyring for the container
    #[arg(long = "no-new-keyring")]
    pub no_new_keyring: bool,
    /// Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: i32,
    pub container_id: String,
}

#[derive(Args, Debug)]
pub struct RuncRunArgs {
    /// detach from the container's process
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// do not delete the container after it exits
    #[arg(long)]
    pub keep: bool,
    /// disable the use of the subreaper used to reap reparented processes
    #[arg(long = "no-subreaper")]
    pub no_subreaper: bool,
    #[command(flatten)]
    pub create: RuncCreateArgs,
}

#[derive(Args, Debug)]
pub struct RuncKillArgs {
    /// send the specified signal to all processes inside the container
    #[arg(short = 'a', long)]
    pub all: bool,
    pub container_id: String,
    #[arg(default_value = "SIGTERM")]
    pub signal: String,
}

#[derive(Args, Debug)]
pub struct RuncDeleteArgs {
    /// Forcibly deletes the container if it is still running (uses SIGKILL)
    #[arg(short = 'f', long)]
    pub force: bool,
    pub container_id: String,
}

#[derive(Args, Debug)]
pub struct RuncExecArgs {
    /// path to an AF_UNIX socket which will receive a file descriptor referencing the master end of the console's pseudoterminal
    #[arg(long = "console-socket")]
    pub console_socket: Option<PathBuf>,
    /// current working directory in the container
    #[arg(long)]
    pub cwd: Option<PathBuf>,
    /// set environment variables
    #[arg(short = 'e', long)]
    pub env: Vec<String>,
    /// allocate a pseudo-TTY
    #[arg(short = 't', long)]
    pub tty: bool,
    /// UID (format: <uid>[:<gid>])
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// additional gids
    #[arg(short = 'g', long = "additional-gids")]
    pub additional_gids: Vec<u32>,
    /// path to the process.json
    #[arg(short = 'p', long)]
    pub process: Option<PathBuf>,
    /// detach from the container's process
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// specify the file to write the process id to
    #[arg(long = "pid-file")]
    pub pid_file: Option<PathBuf>,
    /// set the asm process label for the process commonly used with selinux
    #[arg(long = "process-label")]
    pub process_label: Option<String>,
    /// set the apparmor profile for the process
    #[arg(long)]
    pub apparmor: Option<String>,
    /// set the no new privileges value for the process
    #[arg(long = "no-new-privs")]
    pub no_new_privs: bool,
    /// add a capability to the bounding set for the process
    #[arg(short = 'c', long)]
    pub cap: Vec<String>,
    /// Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)
    #[arg(long = "preserve-fds", default_value_t = 0)]
    pub preserve_fds: i32,
    /// allow exec in a paused container
    #[arg(long = "ignore-paused")]
    pub ignore_paused: bool,
    pub container_id: String,
    /// the command and its arguments (unless --process)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RuncPsArgs {
    /// select one of: table or json
    #[arg(short = 'f', long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    pub container_id: String,
    /// options for ps (default: -ef)
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub ps_options: Vec<String>,
}

#[derive(Args, Debug)]
pub struct RuncListArgs {
    /// select one of: table or json
    #[arg(short = 'f', long, default_value = "table", value_parser = ["table", "json"])]
    pub format: String,
    /// display only container IDs
    #[arg(short = 'q', long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct RuncUpdateArgs {
    /// path to the file containing the resources to update or '-' to read from the standard input
    #[arg(short = 'r', long)]
    pub resources: Option<PathBuf>,
    /// Maximum number of pids allowed in the container
    #[arg(long = "pids-limit", allow_hyphen_values = true)]
    pub pids_limit: Option<i64>,
    pub container_id: String,
}

#[derive(Args, Debug)]
pub struct RuncEventsArgs {
    /// set the stats collection interval
    #[arg(long, default_value = "5s")]
    pub interval: String,
    /// display the container's stats then exit
    #[arg(long)]
    pub stats: bool,
    pub container_id: String,
}

#[derive(Args, Debug)]
pub struct RuncSpecArgs {
    /// path to the root of the bundle directory
    #[arg(short = 'b', long, default_value = ".")]
    pub bundle: PathBuf,
    /// generate a configuration for a rootless container (not supported)
    #[arg(long)]
    pub rootless: bool,
}
