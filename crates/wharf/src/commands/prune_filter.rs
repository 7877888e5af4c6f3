//! `--filter` of the prune verbs: `label=k[=v]`, `label!=k[=v]` and, where
//! the objects have a creation time, `until=<timestamp|duration>`, with
//! docker's meaning (labels AND together; `until` keeps newer objects).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::exit::fail;

/// Whether `labels` has `key` (or `key=value`), as docker's label filter.
pub(crate) fn has_label(labels: &BTreeMap<String, String>, want: &str) -> bool {
    match want.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|have| have == v),
        None => labels.contains_key(want),
    }
}

#[derive(Debug, Default)]
pub(crate) struct PruneFilter {
    with: Vec<String>,
    without: Vec<String>,
    until: Option<DateTime<Utc>>,
}

impl PruneFilter {
    /// The filters given; `until` only where `with_until` (objects that
    /// have a creation time).
    pub fn parse(filters: &[String], with_until: bool) -> anyhow::Result<PruneFilter> {
        let mut f = PruneFilter::default();
        for arg in filters {
            if let Some(v) = arg.strip_prefix("label!=") {
                f.without.push(v.to_string());
            } else if let Some(v) = arg.strip_prefix("label=") {
                f.with.push(v.to_string());
            } else if let Some(v) = arg.strip_prefix("until=").filter(|_| with_until) {
                let t = wharf_runtime::logs::parse_time_flag("until", v, Utc::now())
                    .map_err(|e| fail(e.to_string()))?;
                f.until = Some(f.until.map_or(t, |u| u.min(t)));
            } else {
                return Err(fail(format!(
                    "Invalid filter '{}'",
                    arg.split(['=', '!']).next().unwrap_or(arg)
                )));
            }
        }
        Ok(f)
    }

    /// Whether an object with these labels, made at `created`, is pruned.
    pub fn selects(
        &self,
        labels: &BTreeMap<String, String>,
        created: Option<DateTime<Utc>>,
    ) -> bool {
        self.with.iter().all(|w| has_label(labels, w))
            && !self.without.iter().any(|w| has_label(labels, w))
            && self.until.is_none_or(|u| created.is_some_and(|c| c < u))
    }
}
