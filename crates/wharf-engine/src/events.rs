//! `docker events`: the store's journal, as history (`--since`) and then
//! live, filtered with docker's rules; and the events the CLI's verbs
//! record (the monitors and the store record theirs themselves).

use std::time::Duration;

use wharf_model::event::now_nano;
use wharf_model::{Event, EventType, Filters};
use wharf_oci::{Digest, Reference};
use wharf_store::events::{self, Watch};

use crate::{Engine, EngineResult};

/// What `docker events` asks for. Times are nanoseconds since the epoch.
#[derive(Debug, Clone, Default)]
pub struct EventsQuery {
    /// Replay the journal from this time first (without it: live only).
    pub since: Option<i64>,
    /// Stop after this time (without it: follow until the caller stops).
    pub until: Option<i64>,
    pub filters: Filters,
}

/// How long after a wake-up the journal is read once more: a commit's
/// last WAL write wakes the reader a moment before the commit is visible.
const SETTLE: Duration = Duration::from_millis(50);
/// Without inotify, how often the journal is read.
const POLL: Duration = Duration::from_millis(250);
/// Rows read per query.
const BATCH: usize = 512;

impl Engine {
    /// An image's event: docker's attributes are the image's labels and
    /// `name` (`with_labels` false for `delete`: the image is gone).
    pub(crate) fn image_event(
        &self,
        actor: &str,
        id: &Digest,
        action: &str,
        name: &str,
        with_labels: bool,
    ) -> Event {
        let mut e = Event::new(EventType::Image, action, actor);
        if with_labels {
            if let Some(labels) = self
                .image_config(id)
                .ok()
                .and_then(|c| c.config)
                .and_then(|c| c.labels)
            {
                e.attributes.extend(labels);
            }
        }
        e.with("name", name)
    }

    /// `tag` events for the tags an image got.
    pub(crate) fn record_tags<'r>(
        &self,
        id: &Digest,
        tags: impl IntoIterator<Item = &'r Reference>,
    ) -> EngineResult<()> {
        let events: Vec<Event> = tags
            .into_iter()
            .map(|t| self.image_event(&id.to_string(), id, "tag", &t.familiar(), true))
            .collect();
        self.record_events(&events)
    }

    /// Record `events` in one transaction.
    pub(crate) fn record_events(&self, events: &[Event]) -> EngineResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        Ok(self.store.write(|tx| {
            for e in events {
                events::insert(tx, e)?;
            }
            Ok(())
        })?)
    }

    /// docker's `prune` event of an object type: the bytes reclaimed.
    pub(crate) fn record_prune(&self, typ: EventType, reclaimed: u64) -> EngineResult<()> {
        let e = Event::new(typ, "prune", "").with("reclaimed", reclaimed.to_string());
        self.record_events(&[e])
    }

    /// A container's event with `extra` attributes, attributed from its
    /// record, in a transaction of its own.
    pub(crate) fn container_event(
        &self,
        id: &str,
        action: &str,
        extra: &[(&str, String)],
    ) -> EngineResult<()> {
        Ok(self
            .store
            .write(|tx| events::container(tx, id, action, extra))?)
    }

    /// `docker events`: hand each matching event to `sink`, oldest first,
    /// until `sink` returns false, `until` passes, or (with `until` in the
    /// past) the history ends.
    pub fn events(
        &self,
        q: &EventsQuery,
        sink: &mut dyn FnMut(&Event) -> bool,
    ) -> EngineResult<()> {
        // Live events are those after this one, so none is missed or
        // shown twice between the history and the live part.
        let mut last = self.store.read(|tx| events::last_seq(tx))?;
        let past = |e: &Event| q.until.is_some_and(|u| e.time_nano > u);
        if let Some(since) = q.since {
            let mut at = 0;
            'history: loop {
                let batch = self
                    .store
                    .read(|tx| events::after(tx, at, Some(since), BATCH))?;
                if batch.is_empty() {
                    break;
                }
                for (seq, e) in &batch {
                    if *seq > last || past(e) {
                        break 'history;
                    }
                    if e.matches(&q.filters) && !sink(e) {
                        return Ok(());
                    }
                    at = *seq;
                }
            }
        }
        if q.until.is_some_and(|u| u <= now_nano()) {
            return Ok(());
        }
        let watch = Watch::new(self.store.root());
        let mut settling = false;
        loop {
            let left = q
                .until
                .map(|u| Duration::from_nanos(u.saturating_sub(now_nano()).max(0) as u64));
            if left.is_some_and(|l| l.is_zero()) {
                return Ok(());
            }
            let limit = match (&watch, settling) {
                (Some(_), false) => left,
                (Some(_), true) => Some(left.map_or(SETTLE, |l| l.min(SETTLE))),
                (None, _) => Some(left.map_or(POLL, |l| l.min(POLL))),
            };
            settling = match &watch {
                Some(w) => w.wait(limit),
                None => {
                    std::thread::sleep(limit.unwrap_or(POLL));
                    false
                }
            };
            loop {
                let batch = self
                    .store
                    .read(|tx| events::after(tx, last, q.since, BATCH))?;
                for (seq, e) in &batch {
                    last = *seq;
                    if past(e) {
                        return Ok(());
                    }
                    if e.matches(&q.filters) && !sink(e) {
                        return Ok(());
                    }
                }
                if batch.len() < BATCH {
                    break;
                }
            }
        }
    }
}
