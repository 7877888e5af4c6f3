//! `wharf kube`'s command line, as clap types: podman's `kube generate`,
//! `kube play` and `kube down`, with Compose's project flags for
//! `generate --compose`.

use std::path::PathBuf;

use clap::{ArgAction, Args, Subcommand};

/// Podman's `kube` verbs.
#[derive(Subcommand, Debug)]
pub enum KubeCommand {
    /// Generate Kubernetes YAML from containers or a Compose project
    Generate(KubeGenerateArgs),
    /// Create containers, volumes and networks from Kubernetes YAML
    Play(KubePlayArgs),
    /// Remove what `kube play` made from a Kubernetes YAML file
    Down(KubeDownArgs),
}

#[derive(Args, Debug)]
pub struct KubeGenerateArgs {
    /// Containers to put in one pod
    pub containers: Vec<String>,
    /// Generate from the Compose project (its flags: -f, -p, --project-directory, --profile, --env-file)
    #[arg(long)]
    pub compose: bool,
    /// Compose configuration files (with --compose)
    #[arg(short = 'f', long = "file")]
    pub file: Vec<PathBuf>,
    /// Compose project name (with --compose)
    #[arg(short = 'p', long = "project-name")]
    pub project_name: Option<String>,
    /// Compose project directory (with --compose)
    #[arg(long = "project-directory")]
    pub project_directory: Option<PathBuf>,
    /// Compose profiles to enable (with --compose)
    #[arg(long = "profile")]
    pub profile: Vec<String>,
    /// Compose environment files (with --compose)
    #[arg(long = "env-file")]
    pub env_file: Vec<PathBuf>,
    /// Generate YAML for a Kubernetes "deployment" or "pod"
    #[arg(short = 't', long = "type", default_value = "deployment")]
    pub kind: String,
    /// Number of replicas of a Deployment (default: the service's scale, else 1)
    #[arg(short = 'r', long)]
    pub replicas: Option<u32>,
    /// Write to this file instead of stdout (refused if it exists)
    #[arg(long)]
    pub filename: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct KubePlayArgs {
    /// The Kubernetes YAML file, or - for stdin
    pub file: PathBuf,
    /// Tear down what a previous play of the file made, then play it
    #[arg(long)]
    pub replace: bool,
    /// Start the pods after creating them
    #[arg(long, action = ArgAction::Set, default_value = "true", num_args = 0..=1, default_missing_value = "true")]
    pub start: bool,
    /// Tear down what a previous play of the file made (as `kube down`)
    #[arg(long)]
    pub down: bool,
    /// With --down: also remove the volumes of the PersistentVolumeClaims
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct KubeDownArgs {
    /// The Kubernetes YAML file, or - for stdin
    pub file: PathBuf,
    /// Also remove the volumes of the PersistentVolumeClaims
    #[arg(long)]
    pub force: bool,
}
