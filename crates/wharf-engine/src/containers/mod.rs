//! Container verbs: create, start, run, ps, stop, restart, kill, rm, wait,
//! logs, update.
//!
//! A container is a row in the store, a directory `containers/<id>/` (the
//! OCI bundle: `config.json`, `rootfs/` mounted over the image layers,
//! `upper/`, `work/`, hostname/hosts/resolv.conf, the json-file log), and
//! while it runs, a monitor process (`wharf monitor <id>`) that owns it.

mod attached;
pub(crate) mod copy;
mod create;
mod exec;
mod inspect;
mod legacy;
mod lifecycle;
mod links;
mod list;
mod logging;
mod lookup;
mod manage;
pub(crate) mod names;
pub(crate) mod network;
mod peers;
mod ports;
mod size;
mod snapshot;
mod spawn;
pub(crate) mod start;
pub(crate) mod state;
mod top;
mod update;
mod verify;

pub use attached::{watch_signals, AttachOptions, AttachSignals};
pub use copy::PathStat;
pub use create::cgroup_parent;
pub(crate) use create::cgroup_parent_of;
pub(crate) use create::CGROUP_PARENT;
pub use create::{CreateRequest, Created};
pub use lifecycle::{ContainerPruneReport, Stopping, WaitCondition, Waited};
pub use list::ContainerSummary;
pub use logging::ContainerLog;
pub use manage::Change;
pub use names::new_id;
pub use network::NetHooks;
pub use network::{parse_extra_hosts, wants_bridge};
pub use ports::PortView;
pub use size::ContainerSize;
pub use snapshot::CommitRequest;
pub use start::{
    prespawn_monitor, AttachIo, MonitorChild, MonitorStdio, PreSpawned, SpawnedMonitor,
    StartOutcome,
};
pub use top::Usage;
pub use wharf_network::netlink::PendingNetns;
