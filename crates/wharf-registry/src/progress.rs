//! Progress of a pull or push, as events the caller renders (the CLI as
//! docker's lines or progress bars). Layer IDs are the 12-digit short
//! digests docker shows: the blob's for pulls, the diff ID's for pushes.

/// One layer's state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayerStatus {
    // pull
    Waiting,
    AlreadyExists,
    Downloading {
        current: u64,
        total: u64,
    },
    Verifying,
    DownloadComplete,
    PullComplete,
    // push
    Preparing,
    Pushing {
        current: u64,
        total: u64,
    },
    Pushed,
    Exists,
    Mounted {
        from: String,
    },
    /// A transfer failed and will be tried again (docker's "Retrying in N seconds").
    Retrying {
        seconds: u64,
    },
}

impl LayerStatus {
    /// Docker's wording for the non-tty line.
    pub fn text(&self) -> String {
        match self {
            LayerStatus::Waiting => "Pulling fs layer".into(),
            LayerStatus::AlreadyExists => "Already exists".into(),
            LayerStatus::Downloading { .. } => "Downloading".into(),
            LayerStatus::Verifying => "Verifying Checksum".into(),
            LayerStatus::DownloadComplete => "Download complete".into(),
            LayerStatus::PullComplete => "Pull complete".into(),
            LayerStatus::Preparing => "Preparing".into(),
            LayerStatus::Pushing { .. } => "Pushing".into(),
            LayerStatus::Pushed => "Pushed".into(),
            LayerStatus::Exists => "Layer already exists".into(),
            LayerStatus::Mounted { from } => format!("Mounted from {from}"),
            LayerStatus::Retrying { seconds } => format!("Retrying in {seconds} seconds"),
        }
    }

    /// A byte count update rather than a change of state.
    pub fn is_progress(&self) -> bool {
        matches!(
            self,
            LayerStatus::Downloading { .. } | LayerStatus::Pushing { .. }
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `18: Pulling from lib/node`
    PullingFrom {
        tag: String,
        path: String,
    },
    Layer {
        id: String,
        status: LayerStatus,
    },
    /// A whole line about the operation ("Unable to find image ... locally",
    /// "Digest: ...", "Status: ...").
    Status(String),
}

pub trait Progress: Sync {
    fn event(&self, e: Event);
}

/// Progress nobody watches.
pub struct Silent;

impl Progress for Silent {
    fn event(&self, _: Event) {}
}

pub(crate) fn layer(p: &dyn Progress, id: &str, status: LayerStatus) {
    p.event(Event::Layer {
        id: id.to_string(),
        status,
    });
}
