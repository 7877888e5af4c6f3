//! `docker images`: one row per tag, `<none>` rows for untagged images.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use wharf_oci::{config::parse_time, Digest, ImageConfig, Reference};
use wharf_store::{images, ImageRecord};

use crate::{Engine, EngineError, EngineResult};
use wharf_dockerfile::path_match;

#[derive(Debug, Clone)]
pub struct ImageSummary {
    pub id: Digest,
    /// Familiar repository (`busybox`), `None` for `<none>`.
    pub repository: Option<String>,
    pub tag: Option<String>,
    pub digest: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub size: u64,
}

/// `--filter` and the positional `[REPOSITORY[:TAG]]` of `docker images`.
#[derive(Debug, Clone, Default)]
pub struct ImageFilter {
    /// `-a`: also intermediate images (untagged parents of other images).
    pub all: bool,
    pub dangling: Option<bool>,
    /// `reference=` patterns (and the positional argument).
    pub references: Vec<String>,
    /// `label=key` or `label=key=value`.
    pub labels: Vec<String>,
    /// `before=` / `since=` images (by name or ID).
    pub before: Option<String>,
    pub since: Option<String>,
}

impl ImageFilter {
    /// Parse one `--filter key=value`.
    pub fn add(&mut self, filter: &str) -> EngineResult<()> {
        let (k, v) = filter.split_once('=').ok_or_else(|| {
            EngineError::Invalid(format!(
                "bad format of filter (expected name=value): {filter}"
            ))
        })?;
        match k {
            "dangling" => {
                self.dangling = Some(match v.to_ascii_lowercase().as_str() {
                    "true" | "1" => true,
                    "false" | "0" => false,
                    _ => {
                        return Err(EngineError::Invalid(format!(
                            "invalid filter 'dangling={v}'"
                        )))
                    }
                })
            }
            "reference" => self.references.push(v.to_string()),
            "label" => self.labels.push(v.to_string()),
            "before" => self.before = Some(v.to_string()),
            "since" => self.since = Some(v.to_string()),
            _ => return Err(EngineError::Invalid(format!("invalid filter '{k}'"))),
        }
        Ok(())
    }
}

fn reference_matches(patterns: &[String], r: &Reference) -> bool {
    patterns.is_empty()
        || patterns
            .iter()
            .any(|p| path_match(p, &r.familiar()) || path_match(p, &r.familiar_repository()))
}

impl Engine {
    pub fn list_images(&self, filter: &ImageFilter) -> EngineResult<Vec<ImageSummary>> {
        let bound = |name: &Option<String>| -> EngineResult<Option<ImageRecord>> {
            match name {
                None => Ok(None),
                Some(n) => {
                    let id = self.resolve_image(n)?;
                    Ok(self.store.read(|tx| images::get(tx, &id))?)
                }
            }
        };
        let before = bound(&filter.before)?;
        let since = bound(&filter.since)?;
        let (records, tags, digests) = self.store.read(|tx| {
            Ok((
                images::list(tx)?,
                images::all_tags(tx)?,
                images::all_repo_digests(tx)?,
            ))
        })?;
        let parents = parents_of(&records);
        // Tags and repo digests by image, in one pass each: the cost of a
        // listing stays linear in the number of images (matching each
        // image against every tag was quadratic: 1M comparisons at 1,000).
        let mut refs_of: HashMap<&Digest, Vec<Reference>> = HashMap::new();
        for t in &tags {
            if let Ok(r) = Reference::parse(&t.name) {
                refs_of.entry(&t.image_id).or_default().push(r);
            }
        }
        let mut digests_of: HashMap<&Digest, Vec<&str>> = HashMap::new();
        for d in &digests {
            digests_of.entry(&d.image_id).or_default().push(&d.name);
        }
        let mut out = Vec::new();
        for img in records {
            if before.as_ref().is_some_and(|b| img.added_at >= b.added_at)
                || since.as_ref().is_some_and(|s| img.added_at <= s.added_at)
            {
                continue;
            }
            if !filter.labels.is_empty() && !self.labels_match(&img.id, &filter.labels)? {
                continue;
            }
            let refs = refs_of.get(&img.id).map_or(&[][..], Vec::as_slice);
            let dangling = refs.is_empty();
            if filter.dangling.is_some_and(|d| d != dangling) {
                continue;
            }
            let created = img.created.as_deref().and_then(parse_time);
            // The repo digest of the row's repository, as `images --digests` shows it.
            let repo_digests = digests_of.get(&img.id).map_or(&[][..], Vec::as_slice);
            let digest_of = |repository: &Option<String>| {
                repository.as_ref().and_then(|repo| {
                    repo_digests.iter().find_map(|d| {
                        let r = Reference::parse(d).ok()?;
                        r.digest()
                            .filter(|_| r.familiar_repository() == *repo)
                            .map(|d| d.to_string())
                    })
                })
            };
            let row = |repository: Option<String>, tag| ImageSummary {
                id: img.id.clone(),
                digest: digest_of(&repository),
                repository,
                tag,
                created,
                size: img.size,
            };
            if dangling {
                let intermediate = parents.contains(&img.id);
                if filter.references.is_empty()
                    && (filter.all || !intermediate || filter.dangling == Some(true))
                {
                    out.push(row(None, None));
                }
                continue;
            }
            for r in refs
                .iter()
                .filter(|r| reference_matches(&filter.references, r))
            {
                out.push(row(
                    Some(r.familiar_repository()),
                    r.tag().map(str::to_string),
                ));
            }
        }
        out.sort_by(|a, b| {
            b.created
                .cmp(&a.created)
                .then_with(|| a.repository.cmp(&b.repository))
                .then_with(|| a.tag.cmp(&b.tag))
        });
        Ok(out)
    }

    fn labels_match(&self, id: &Digest, wanted: &[String]) -> EngineResult<bool> {
        let config = ImageConfig::from_slice(&self.store.read_blob(id)?).unwrap_or_default();
        let labels = config.config.and_then(|c| c.labels).unwrap_or_default();
        Ok(wanted.iter().all(|w| match w.split_once('=') {
            Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
            None => labels.contains_key(w.as_str()),
        }))
    }
}

/// IDs that are some image's parent.
fn parents_of(records: &[ImageRecord]) -> std::collections::HashSet<Digest> {
    records.iter().filter_map(|r| r.parent.clone()).collect()
}
