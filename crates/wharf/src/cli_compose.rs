//! `wharf compose`'s command line, as clap types: Docker Compose v2's
//! project flags, verbs and their flags (kept apart from `cli.rs`, which
//! holds docker's own verbs).

use std::path::PathBuf;

use clap::{ArgAction, Args, Subcommand};

/// `wharf compose`: Docker Compose v2's project flags, then a verb.
#[derive(Args, Debug)]
pub struct ComposeArgs {
    #[command(flatten)]
    pub project: ProjectFlags,
    /// Control when to print ANSI control characters ("never"|"always"|"auto")
    #[arg(long, default_value = "auto")]
    pub ansi: String,
    /// Set type of progress output (auto, tty, plain, json, quiet)
    #[arg(long)]
    pub progress: Option<String>,
    /// Control max parallelism, -1 for unlimited
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    pub parallel: i64,
    /// Include all resources, even those not used by services
    #[arg(long = "all-resources")]
    pub all_resources: bool,
    #[command(subcommand)]
    pub command: ComposeCommand,
}

/// The flags that find and name a project (also `kube generate
/// --compose`'s).
#[derive(Args, Debug, Clone, Default)]
pub struct ProjectFlags {
    /// Compose configuration files
    #[arg(short = 'f', long = "file")]
    pub file: Vec<PathBuf>,
    /// Project name
    // As pflag takes a string flag: the next word whatever it starts
    // with, and the last of several.
    #[arg(
        short = 'p',
        long = "project-name",
        allow_hyphen_values = true,
        overrides_with = "project_name"
    )]
    pub project_name: Option<String>,
    /// Specify an alternate working directory (default: the path of the, first specified, Compose file)
    #[arg(long = "project-directory")]
    pub project_directory: Option<PathBuf>,
    /// Specify a profile to enable
    #[arg(long = "profile")]
    pub profile: Vec<String>,
    /// Specify an alternate environment file
    #[arg(long = "env-file")]
    pub env_file: Vec<PathBuf>,
}

/// Compose's verbs.
#[derive(Subcommand, Debug)]
pub enum ComposeCommand {
    /// Parse, resolve and render compose file in canonical format
    Config(ComposeConfigArgs),
    /// Create and start containers
    Up(ComposeUpArgs),
    /// Stop and remove containers, networks
    Down(ComposeDownArgs),
    /// List containers
    Ps(ComposePsArgs),
    /// View output from containers
    Logs(ComposeLogsArgs),
    /// Creates containers for a service
    Create(ComposeCreateArgs),
    /// Start services
    Start(ComposeServicesArgs),
    /// Stop services
    Stop(ComposeStopArgs),
    /// Restart service containers
    Restart(ComposeRestartArgs),
    /// Force stop service containers
    Kill(ComposeKillArgs),
    /// Pause services
    Pause(ComposeServicesArgs),
    /// Unpause services
    Unpause(ComposeServicesArgs),
    /// Removes stopped service containers
    Rm(ComposeRmArgs),
    /// Build or rebuild services
    Build(ComposeBuildArgs),
    /// Run a one-off command on a service
    Run(ComposeRunArgs),
    /// Execute a command in a running container
    Exec(ComposeExecArgs),
    /// List images used by the created containers
    Images(ComposeImagesArgs),
    /// Display the running processes
    Top(ComposeServicesArgs),
    /// Print the public port for a port binding
    Port(ComposePortArgs),
    /// Copy files/folders between a service container and the local filesystem
    Cp(ComposeCpArgs),
    /// Block until containers of all (or specified) services stop.
    Wait(ComposeWaitArgs),
    /// List running compose projects
    Ls(ComposeLsArgs),
    /// Pull service images
    Pull(ComposePullArgs),
    /// Push service images
    Push(ComposeServicesArgs),
    /// Show the Docker Compose version information
    Version(ComposeVersionArgs),
}

#[derive(Args, Debug)]
pub struct ComposeConfigArgs {
    /// Format the output. Values: [yaml | json]
    #[arg(long)]
    pub format: Option<String>,
    /// Only validate the configuration, don't print anything
    #[arg(short, long)]
    pub quiet: bool,
    /// Don't interpolate environment variables
    #[arg(long = "no-interpolate")]
    pub no_interpolate: bool,
    /// Don't normalize compose model
    #[arg(long = "no-normalize")]
    pub no_normalize: bool,
    /// Don't resolve file paths
    #[arg(long = "no-path-resolution")]
    pub no_path_resolution: bool,
    /// Don't check model consistency - warning: may produce invalid Compose output
    #[arg(long = "no-consistency")]
    pub no_consistency: bool,
    /// Print the service names, one per line.
    #[arg(long)]
    pub services: bool,
    /// Print the volume names, one per line.
    #[arg(long)]
    pub volumes: bool,
    /// Print the network names, one per line.
    #[arg(long)]
    pub networks: bool,
    /// Print the profile names, one per line.
    #[arg(long)]
    pub profiles: bool,
    /// Print the image names, one per line.
    #[arg(long)]
    pub images: bool,
    /// Save to file (default to stdout)
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// [SERVICE...]
    pub service: Vec<String>,
}

/// `create`'s flags, shared with `up`.
#[derive(Args, Debug, Clone)]
pub struct ComposeCreateFlags {
    /// Build images before starting containers
    #[arg(long)]
    pub build: bool,
    /// Don't build an image, even if it's policy
    #[arg(long = "no-build")]
    pub no_build: bool,
    /// Pull image before running ("always"|"missing"|"never")
    #[arg(long)]
    pub pull: Option<String>,
    /// Pull without printing progress information
    #[arg(long = "quiet-pull")]
    pub quiet_pull: bool,
    /// Recreate containers even if their configuration and image haven't changed
    #[arg(long = "force-recreate")]
    pub force_recreate: bool,
    /// If containers already exist, don't recreate them. Incompatible with --force-recreate.
    #[arg(long = "no-recreate")]
    pub no_recreate: bool,
    /// Remove containers for services not defined in the Compose file
    #[arg(long = "remove-orphans")]
    pub remove_orphans: bool,
    /// Scale SERVICE to NUM instances. Overrides the `scale` setting in the Compose file if present.
    #[arg(long)]
    pub scale: Vec<String>,
    /// Assume "yes" as answer to all prompts and run non-interactively
    #[arg(short = 'y', long = "yes")]
    pub yes: bool,
}

#[derive(Args, Debug)]
pub struct ComposeCreateArgs {
    #[command(flatten)]
    pub create: ComposeCreateFlags,
    /// [SERVICE...]
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeUpArgs {
    #[command(flatten)]
    pub create: ComposeCreateFlags,
    /// Detached mode: Run containers in the background
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Produce monochrome output
    #[arg(long = "no-color")]
    pub no_color: bool,
    /// Don't print prefix in logs
    #[arg(long = "no-log-prefix")]
    pub no_log_prefix: bool,
    /// Don't start the services after creating them
    #[arg(long = "no-start")]
    pub no_start: bool,
    /// Stops all containers if any container was stopped. Incompatible with -d
    #[arg(long = "abort-on-container-exit")]
    pub abort_on_container_exit: bool,
    /// Stops all containers if any container exited with failure. Incompatible with -d
    #[arg(long = "abort-on-container-failure")]
    pub abort_on_container_failure: bool,
    /// Return the exit code of the selected service container. Implies --abort-on-container-exit
    #[arg(long = "exit-code-from")]
    pub exit_code_from: Option<String>,
    /// Use this timeout in seconds for container shutdown when attached or when containers are already running
    #[arg(short = 't', long = "timeout")]
    pub timeout: Option<u64>,
    /// Show timestamps
    #[arg(long)]
    pub timestamps: bool,
    /// Don't start linked services
    #[arg(long = "no-deps")]
    pub no_deps: bool,
    /// Recreate dependent containers. Incompatible with --no-recreate.
    #[arg(long = "always-recreate-deps")]
    pub always_recreate_deps: bool,
    /// Recreate anonymous volumes instead of retrieving data from the previous containers
    #[arg(short = 'V', long = "renew-anon-volumes")]
    pub renew_anon_volumes: bool,
    /// Suppress the build output
    #[arg(long = "quiet-build")]
    pub quiet_build: bool,
    /// Restrict attaching to the specified services. Incompatible with --attach-dependencies.
    #[arg(long)]
    pub attach: Vec<String>,
    /// Do not attach (stream logs) to the specified services
    #[arg(long = "no-attach")]
    pub no_attach: Vec<String>,
    /// Automatically attach to log output of dependent services
    #[arg(long = "attach-dependencies")]
    pub attach_dependencies: bool,
    /// Wait for services to be running|healthy. Implies detached mode.
    #[arg(long)]
    pub wait: bool,
    /// Maximum duration in seconds to wait for the project to be running|healthy
    #[arg(long = "wait-timeout")]
    pub wait_timeout: Option<u64>,
    /// Enable interactive shortcuts when running attached. Incompatible with --detach.
    #[arg(long)]
    pub menu: bool,
    /// [SERVICE...]
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeDownArgs {
    /// Remove containers for services not defined in the Compose file
    #[arg(long = "remove-orphans")]
    pub remove_orphans: bool,
    /// Specify a shutdown timeout in seconds
    #[arg(short = 't', long = "timeout")]
    pub timeout: Option<u64>,
    /// Remove named volumes declared in the "volumes" section of the Compose file and anonymous volumes attached to containers
    #[arg(short = 'v', long)]
    pub volumes: bool,
    /// Remove images used by services. "local" remove only images that don't have a custom tag ("local"|"all")
    #[arg(long)]
    pub rmi: Option<String>,
    /// [SERVICES]
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposePsArgs {
    /// Format output using a custom template: 'table', 'json' or a Go template
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Filter services by a property (supported filters: status)
    #[arg(long)]
    pub filter: Option<String>,
    /// Filter services by status. Values: [paused | restarting | removing | running | dead | created | exited]
    #[arg(long)]
    pub status: Vec<String>,
    /// Only display IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// Display services
    #[arg(long)]
    pub services: bool,
    /// Include orphaned services (not declared by project)
    #[arg(long, default_value_t = true, action = ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub orphans: bool,
    /// Show all stopped containers (including those created by the run command)
    #[arg(short, long)]
    pub all: bool,
    /// Don't truncate output
    #[arg(long = "no-trunc")]
    pub no_trunc: bool,
    /// [SERVICE...]
    pub service: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeLogsArgs {
    /// Follow log output
    #[arg(short, long)]
    pub follow: bool,
    /// index of the container if service has multiple replicas
    #[arg(long)]
    pub index: Option<u32>,
    /// Show logs since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)
    #[arg(long)]
    pub since: Option<String>,
    /// Show logs before a timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)
    #[arg(long)]
    pub until: Option<String>,
    /// Produce monochrome output
    #[arg(long = "no-color")]
    pub no_color: bool,
    /// Don't print prefix in logs
    #[arg(long = "no-log-prefix")]
    pub no_log_prefix: bool,
    /// Show timestamps
    #[arg(short, long)]
    pub timestamps: bool,
    /// Number of lines to show from the end of the logs for each container
    #[arg(short = 'n', long, default_value = "all")]
    pub tail: String,
    /// [SERVICE...]
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeServicesArgs {
    /// [SERVICE...]
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeStopArgs {
    /// Specify a shutdown timeout in seconds
    #[arg(short = 't', long = "timeout")]
    pub timeout: Option<u64>,
    /// [SERVICE...]
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeRestartArgs {
    /// Specify a shutdown timeout in seconds
    #[arg(short = 't', long = "timeout")]
    pub timeout: Option<u64>,
    /// Don't restart dependent services
    #[arg(long = "no-deps")]
    pub no_deps: bool,
    /// [SERVICE...]
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeKillArgs {
    /// Remove containers for services not defined in the Compose file
    #[arg(long = "remove-orphans")]
    pub remove_orphans: bool,
    /// SIGNAL to send to the container
    #[arg(short, long, default_value = "SIGKILL")]
    pub signal: String,
    /// [SERVICE...]
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeRmArgs {
    /// Don't ask to confirm removal
    #[arg(short, long)]
    pub force: bool,
    /// Stop the containers, if required, before removing
    #[arg(short, long)]
    pub stop: bool,
    /// Remove any anonymous volumes attached to containers
    #[arg(short, long)]
    pub volumes: bool,
    /// [SERVICE...]
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeBuildArgs {
    /// Do not use cache when building the image
    #[arg(long = "no-cache")]
    pub no_cache: bool,
    /// Always attempt to pull a newer version of the image
    #[arg(long)]
    pub pull: bool,
    /// Suppress the build output
    #[arg(short, long)]
    pub quiet: bool,
    /// Set build-time variables for services
    #[arg(long = "build-arg")]
    pub build_arg: Vec<String>,
    /// Also build dependencies (transitively)
    #[arg(long = "with-dependencies")]
    pub with_dependencies: bool,
    /// [SERVICE...]
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeRunArgs {
    /// Run container in background and print container ID
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Set environment variables
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Add or override a label
    #[arg(short = 'l', long = "label")]
    pub label: Vec<String>,
    /// Automatically remove the container when it exits
    #[arg(long)]
    pub rm: bool,
    /// Disable pseudo-TTY allocation (default: auto-detected)
    #[arg(short = 'T', long = "no-TTY")]
    pub no_tty: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long = "tty", hide = true)]
    pub tty: bool,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long = "interactive", hide = true)]
    pub interactive: bool,
    /// Assign a name to the container
    #[arg(long)]
    pub name: Option<String>,
    /// Run as specified username or uid
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Working directory inside the container
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    /// Override the entrypoint of the image
    #[arg(long)]
    pub entrypoint: Option<String>,
    /// Add Linux capabilities
    #[arg(long = "cap-add")]
    pub cap_add: Vec<String>,
    /// Drop Linux capabilities
    #[arg(long = "cap-drop")]
    pub cap_drop: Vec<String>,
    /// Don't start linked services
    #[arg(long = "no-deps")]
    pub no_deps: bool,
    /// Bind mount a volume
    #[arg(short = 'v', long = "volume")]
    pub volume: Vec<String>,
    /// Publish a container's port(s) to the host
    #[arg(short = 'p', long = "publish")]
    pub publish: Vec<String>,
    /// Use the service's network useAliases in the network(s) the container connects to
    #[arg(long = "use-aliases")]
    pub use_aliases: bool,
    /// Run command with all service's ports enabled and mapped to the host
    #[arg(short = 'P', long = "service-ports")]
    pub service_ports: bool,
    /// Don't print anything to STDOUT
    #[arg(short, long)]
    pub quiet: bool,
    /// Build image before starting container
    #[arg(long)]
    pub build: bool,
    /// Remove containers for services not defined in the Compose file
    #[arg(long = "remove-orphans")]
    pub remove_orphans: bool,
    /// SERVICE
    pub service: String,
    /// [COMMAND] [ARGS...]
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeExecArgs {
    /// Detached mode: Run command in the background
    #[arg(short = 'd', long)]
    pub detach: bool,
    /// Set environment variables
    #[arg(short = 'e', long = "env")]
    pub env: Vec<String>,
    /// Index of the container if service has multiple replicas
    #[arg(long)]
    pub index: Option<u32>,
    /// Give extended privileges to the process
    #[arg(long)]
    pub privileged: bool,
    /// Run the command as this user
    #[arg(short = 'u', long)]
    pub user: Option<String>,
    /// Disable pseudo-TTY allocation. By default 'docker compose exec' allocates a TTY.
    #[arg(short = 'T', long = "no-tty")]
    pub no_tty: bool,
    /// Path to workdir directory for this command
    #[arg(short = 'w', long)]
    pub workdir: Option<String>,
    /// Keep STDIN open even if not attached
    #[arg(short = 'i', long = "interactive", hide = true)]
    pub interactive: bool,
    /// Allocate a pseudo-TTY
    #[arg(short = 't', long = "tty", hide = true)]
    pub tty: bool,
    /// SERVICE
    pub service: String,
    /// COMMAND [ARGS...]
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, required = true)]
    pub command: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeImagesArgs {
    /// Format the output. Values: [table | json]
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Only display IDs
    #[arg(short, long)]
    pub quiet: bool,
    /// [SERVICE...]
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposePortArgs {
    /// tcp or udp
    #[arg(long, default_value = "tcp")]
    pub protocol: String,
    /// Index of the container if service has multiple replicas
    #[arg(long)]
    pub index: Option<u32>,
    /// SERVICE
    pub service: String,
    /// PRIVATE_PORT
    pub private_port: u16,
}

#[derive(Args, Debug)]
pub struct ComposeCpArgs {
    /// Index of the container if service has multiple replicas
    #[arg(long)]
    pub index: Option<u32>,
    /// Include containers created by the run command
    #[arg(long)]
    pub all: bool,
    /// Always follow symbol link in SRC_PATH
    #[arg(short = 'L', long = "follow-link")]
    pub follow_link: bool,
    /// Archive mode (copy all uid/gid information)
    #[arg(short = 'a', long)]
    pub archive: bool,
    /// SERVICE:SRC_PATH or SRC_PATH
    pub src: String,
    /// DEST_PATH or SERVICE:DEST_PATH
    pub dest: String,
}

#[derive(Args, Debug)]
pub struct ComposeWaitArgs {
    /// Drops project when the first container stops
    #[arg(long = "down-project")]
    pub down_project: bool,
    /// SERVICE [SERVICE...]
    #[arg(required = true)]
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeLsArgs {
    /// Format the output. Values: [table | json]
    #[arg(long, default_value = "table")]
    pub format: String,
    /// Only display project names
    #[arg(short, long)]
    pub quiet: bool,
    /// Filter output based on conditions provided
    #[arg(long)]
    pub filter: Vec<String>,
    /// Show all stopped Compose projects
    #[arg(short, long)]
    pub all: bool,
}

#[derive(Args, Debug)]
pub struct ComposePullArgs {
    /// Pull without printing progress information
    #[arg(short, long)]
    pub quiet: bool,
    /// Pull what it can and ignores images with pull failures
    #[arg(long = "ignore-pull-failures")]
    pub ignore_pull_failures: bool,
    /// Ignore images that can be built
    #[arg(long = "ignore-buildable")]
    pub ignore_buildable: bool,
    /// [SERVICE...]
    pub services: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ComposeVersionArgs {
    /// Format the output. Values: [pretty | json]. (Default: pretty)
    #[arg(short, long)]
    pub format: Option<String>,
    /// Shows only Compose's version number
    #[arg(long)]
    pub short: bool,
}
