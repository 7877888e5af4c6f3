//! What can go wrong reading, generating or playing manifests. Podman
//! reports all of these on one line and exits 125; so does wharf.

use thiserror::Error;
use wharf_compose::run::RunError;
use wharf_compose::ComposeError;
use wharf_engine::EngineError;

#[derive(Debug, Error)]
pub enum KubeError {
    /// The file is not YAML (line and column in the message).
    #[error("{0}")]
    Yaml(ComposeError),
    /// An object the file describes that wharf cannot run: an unknown
    /// kind, an invalid field, a dangling reference. `object` names it
    /// (`Deployment "web"`, or `document 2` when it has no name yet).
    #[error("{object}: {cause}")]
    Invalid { object: String, cause: String },
    /// A container, volume or image the command names or needs.
    #[error("{0}")]
    NotFound(String),
    /// Creating or removing what a manifest describes.
    #[error("{0}")]
    Run(#[from] RunError),
    /// Creating or starting a pod's containers.
    #[error("pod {pod:?}: {source}")]
    Pod {
        pod: String,
        #[source]
        source: RunError,
    },
    #[error("{0}")]
    Engine(#[from] EngineError),
    /// Loading `--compose`'s project.
    #[error("{0}")]
    Compose(#[from] ComposeError),
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

impl KubeError {
    pub fn invalid(object: impl Into<String>, cause: impl Into<String>) -> KubeError {
        KubeError::Invalid {
            object: object.into(),
            cause: cause.into(),
        }
    }

    pub fn io(path: impl Into<String>, source: std::io::Error) -> KubeError {
        KubeError::Io {
            path: path.into(),
            source,
        }
    }
}

pub type KubeResult<T> = Result<T, KubeError>;
