//! Image verbs: lookup, list, inspect, history, tag, remove, prune,
//! import, save, load.

mod history;
mod inspect;
mod list;
mod lookup;
mod remove;
mod transfer;

pub use history::HistoryEntry;
pub use list::{ImageFilter, ImageSummary};
pub use remove::{PruneReport, RemoveEvent};
pub use transfer::ImportRequest;
