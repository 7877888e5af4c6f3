//! `--cache-to` / `--cache-from`: the build cache carried to another root or
//! machine in BuildKit's distributable cache format — an OCI image index
//! whose manifests are the layer blobs plus one
//! `application/vnd.buildkit.cacheconfig.v0` config (layer chains and
//! records), in a local OCI layout (`type=local`), a registry
//! (`type=registry`), or the records alone inside the image config under
//! `moby.buildkit.cache.v0` (`type=inline`, layers being the image's own).
//!
//! A record's digest is wharf's cache key of the step (`sha256:<key>`);
//! keys chain from the base image ID and hash content, not paths or times,
//! so they are the same on every root. Import reads only the index and
//! config up front; a layer is fetched when a step's key first misses the
//! local cache and the import has it.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use wharf_oci::media_types as mt;
use wharf_oci::{Digest, ImageConfig, Reference};
use wharf_registry::{artifact, RegistryOptions, Session};
use wharf_store::build_cache::CacheEntry;
use wharf_store::{layers, LayerRecord, Store};

use crate::progress::Progress;
use crate::{BuildError, BuildHost, BuildResult};

/// BuildKit's media type of the cache config blob.
pub const CACHE_CONFIG_MEDIA_TYPE: &str = "application/vnd.buildkit.cacheconfig.v0";
/// The image config key of an inline cache.
pub const INLINE_KEY: &str = "moby.buildkit.cache.v0";
const REF_NAME: &str = "org.opencontainers.image.ref.name";
const UNCOMPRESSED: &str = "containerd.io/uncompressed";

/// `mode=`: `min` exports the steps of the result, `max` every step of
/// every stage built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CacheMode {
    #[default]
    Min,
    Max,
}

/// One `--cache-to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheTo {
    Local { dest: PathBuf, mode: CacheMode },
    Registry { reference: String, mode: CacheMode },
    Inline,
}

/// One `--cache-from`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheFrom {
    Local {
        src: PathBuf,
    },
    /// A cache index, or an image with an inline cache, in a registry.
    Registry {
        reference: String,
    },
    /// A bare name: an image of the store with an inline cache (or, for a
    /// name with a registry other than Docker Hub, that registry's).
    Image(String),
}

/// `type=T,k=v,...` fields; a bare string has none.
fn fields(spec: &str, flag: &str) -> BuildResult<Option<BTreeMap<String, String>>> {
    if !spec.contains('=') {
        return Ok(None);
    }
    let mut out = BTreeMap::new();
    for f in spec.split(',') {
        let (k, v) = f.split_once('=').ok_or_else(|| {
            BuildError::Invalid(format!(
                "invalid value {f:?} in {flag} {spec:?}: expected key=value"
            ))
        })?;
        out.insert(k.trim().to_string(), v.trim().to_string());
    }
    Ok(Some(out))
}

fn mode(f: &BTreeMap<String, String>) -> BuildResult<CacheMode> {
    match f.get("mode").map(String::as_str) {
        None | Some("min") => Ok(CacheMode::Min),
        Some("max") => Ok(CacheMode::Max),
        Some(m) => Err(BuildError::Invalid(format!(
            "invalid cache mode {m:?}: expected min or max"
        ))),
    }
}

fn required(f: &BTreeMap<String, String>, key: &str, kind: &str) -> BuildResult<String> {
    f.get(key)
        .filter(|v| !v.is_empty())
        .cloned()
        .ok_or_else(|| BuildError::Invalid(format!("{key} is required for {kind} cache")))
}

impl CacheTo {
    pub fn parse(spec: &str) -> BuildResult<CacheTo> {
        let Some(f) = fields(spec, "--cache-to")? else {
            return Ok(CacheTo::Registry {
                reference: spec.to_string(),
                mode: CacheMode::Min,
            });
        };
        match f.get("type").map(String::as_str).unwrap_or("registry") {
            "local" => Ok(CacheTo::Local {
                dest: required(&f, "dest", "local")?.into(),
                mode: mode(&f)?,
            }),
            "registry" => Ok(CacheTo::Registry {
                reference: required(&f, "ref", "registry")?,
                mode: mode(&f)?,
            }),
            "inline" => Ok(CacheTo::Inline),
            other => Err(BuildError::Invalid(format!(
                "unknown cache exporter: {other:?}"
            ))),
        }
    }
}

impl CacheFrom {
    pub fn parse(spec: &str) -> BuildResult<CacheFrom> {
        let Some(f) = fields(spec, "--cache-from")? else {
            return Ok(CacheFrom::Image(spec.to_string()));
        };
        match f.get("type").map(String::as_str).unwrap_or("registry") {
            "local" => Ok(CacheFrom::Local {
                src: required(&f, "src", "local")?.into(),
            }),
            "registry" => Ok(CacheFrom::Registry {
                reference: required(&f, "ref", "registry")?,
            }),
            other => Err(BuildError::Invalid(format!(
                "unknown cache importer: {other:?}"
            ))),
        }
    }
}

// --- BuildKit's cache config (cache/remotecache/v1/spec.go) -------------

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CacheConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    layers: Vec<CacheLayer>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    records: Vec<CacheRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CacheLayer {
    blob: Digest,
    /// -1 for none; Go omits 0, so a missing field is 0.
    #[serde(default)]
    parent: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    annotations: Option<LayerAnnotations>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct LayerAnnotations {
    #[serde(
        rename = "mediaType",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    media_type: String,
    #[serde(rename = "diffID", default, skip_serializing_if = "Option::is_none")]
    diff_id: Option<Digest>,
    #[serde(default, skip_serializing_if = "is_zero")]
    size: u64,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct CacheRecord {
    #[serde(rename = "layers", default, skip_serializing_if = "Vec::is_empty")]
    results: Vec<CacheResult>,
    #[serde(default)]
    digest: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    inputs: Vec<Vec<CacheInput>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CacheResult {
    #[serde(default)]
    layer: i64,
    #[serde(rename = "createdAt", default)]
    created_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct CacheInput {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    selector: String,
    #[serde(default)]
    link: i64,
}

/// An index descriptor (the fields this needs).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType")]
    media_type: String,
    digest: Digest,
    size: u64,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Index {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType", default)]
    media_type: String,
    manifests: Vec<Descriptor>,
}

// --- What a build records -----------------------------------------------

/// One cache key the build went through: a layer step (with the layer
/// chain it produced and when) or a stage's start (no result).
#[derive(Debug, Clone)]
pub struct StepRecord {
    pub key: String,
    pub parent: Option<String>,
    /// The diff IDs of the result, bottom first.
    pub chain: Vec<Digest>,
    /// The step's history time; `None` for a stage start.
    pub created: Option<String>,
}

/// The records of one build, in the order they happened.
#[derive(Default)]
pub struct Recorder(Mutex<Vec<StepRecord>>);

impl Recorder {
    pub fn push(&self, r: StepRecord) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(r);
    }

    /// Another build's records after these (the platforms of a
    /// multi-platform build share one cache export).
    pub fn append(&self, other: Recorder) {
        let more = other.0.into_inner().unwrap_or_else(|e| e.into_inner());
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(more);
    }

    /// `min`: the chains of keys ending at `lasts`; `max`: all.
    fn select(&self, lasts: &[&str], mode: CacheMode) -> Vec<StepRecord> {
        let all = self.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let mut seen = HashSet::new();
        let unique: Vec<StepRecord> = all
            .into_iter()
            .filter(|r| seen.insert(r.key.clone()))
            .collect();
        if mode == CacheMode::Max {
            return unique;
        }
        let by_key: HashMap<&str, &StepRecord> =
            unique.iter().map(|r| (r.key.as_str(), r)).collect();
        let mut keep = HashSet::new();
        for last in lasts {
            let mut at = Some(*last);
            while let Some(k) = at {
                let Some(r) = by_key.get(k) else { break };
                if !keep.insert(k.to_string()) {
                    break;
                }
                at = r.parent.as_deref();
            }
        }
        unique
            .iter()
            .filter(|r| keep.contains(&r.key))
            .cloned()
            .collect()
    }
}

fn record_digest(key: &str) -> String {
    format!("sha256:{key}")
}

/// The record of `r`: linked to its parent's record (by its position in
/// `index`), its result at layer `layer` when it has one.
fn cache_record(r: &StepRecord, index: &HashMap<String, i64>, layer: i64) -> CacheRecord {
    let mut rec = CacheRecord {
        digest: record_digest(&r.key),
        ..Default::default()
    };
    if let Some(link) = r.parent.as_ref().and_then(|p| index.get(p)) {
        rec.inputs.push(vec![CacheInput {
            selector: String::new(),
            link: *link,
        }]);
    }
    if let Some(created) = &r.created {
        rec.results.push(CacheResult {
            layer,
            created_at: created.clone(),
        });
    }
    rec
}

/// The cache config of `records`; the layers are the store's records of
/// every diff ID their chains hold, in the config's layer order.
fn cache_config(
    store: &Store,
    records: &[StepRecord],
) -> BuildResult<(CacheConfig, Vec<LayerRecord>)> {
    let mut cfg = CacheConfig::default();
    let mut blobs = Vec::new();
    // (parent layer index, diff ID) -> layer index.
    let mut layer_index: HashMap<(i64, Digest), i64> = HashMap::new();
    let mut record_index: HashMap<String, i64> = HashMap::new();
    for r in records {
        let mut parent = -1;
        for d in &r.chain {
            parent = match layer_index.get(&(parent, d.clone())) {
                Some(i) => *i,
                None => {
                    let l = store.read(|tx| layers::get(tx, d))?.ok_or_else(|| {
                        BuildError::NotFound(format!("layer {d} is not in the store"))
                    })?;
                    cfg.layers.push(CacheLayer {
                        blob: l.blob.clone(),
                        parent,
                        annotations: Some(LayerAnnotations {
                            media_type: l.compression.oci_layer_media_type().to_string(),
                            diff_id: Some(l.diff_id.clone()),
                            size: l.blob_size,
                        }),
                    });
                    blobs.push(l);
                    let i = cfg.layers.len() as i64 - 1;
                    layer_index.insert((parent, d.clone()), i);
                    i
                }
            };
        }
        cfg.records.push(cache_record(r, &record_index, parent));
        record_index.insert(r.key.clone(), cfg.records.len() as i64 - 1);
    }
    Ok((cfg, blobs))
}

fn json<T: Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).expect("cache metadata serializes")
}

/// The index of a cache export: layer descriptors, then the config's.
fn cache_index(cfg_bytes: &[u8], blobs: &[LayerRecord]) -> Index {
    let mut manifests: Vec<Descriptor> = blobs
        .iter()
        .map(|l| Descriptor {
            media_type: l.compression.oci_layer_media_type().to_string(),
            digest: l.blob.clone(),
            size: l.blob_size,
            annotations: BTreeMap::from([(UNCOMPRESSED.to_string(), l.diff_id.to_string())]),
        })
        .collect();
    manifests.push(Descriptor {
        media_type: CACHE_CONFIG_MEDIA_TYPE.into(),
        digest: Digest::of(cfg_bytes),
        size: cfg_bytes.len() as u64,
        annotations: BTreeMap::new(),
    });
    Index {
        schema_version: 2,
        media_type: mt::OCI_INDEX.into(),
        manifests,
    }
}

/// The inline cache of an image whose diff IDs are `diff_ids`: the
/// records whose results are a prefix of the image's layers, their layer
/// indexes being positions in the image (BuildKit's `ExportForLayers`).
pub fn inline_cache(recorder: &Recorder, last: &str, diff_ids: &[Digest]) -> Option<String> {
    let records = recorder.select(&[last], CacheMode::Min);
    let mut out: Vec<CacheRecord> = Vec::new();
    let mut index: HashMap<String, i64> = HashMap::new();
    for r in &records {
        if !diff_ids.starts_with(&r.chain) {
            continue;
        }
        out.push(cache_record(r, &index, r.chain.len() as i64 - 1));
        index.insert(r.key.clone(), out.len() as i64 - 1);
    }
    if !out.iter().any(|r| !r.results.is_empty()) {
        return None;
    }
    Some(base64::engine::general_purpose::STANDARD.encode(json(&out)))
}

// --- Export ---------------------------------------------------------------

/// Write the cache of this build to `to` (not `inline`, which goes into
/// the image config before it is written); `lasts`: the key of each
/// result (one per platform).
pub fn export(
    store: &Store,
    to: &CacheTo,
    recorder: &Recorder,
    lasts: &[&str],
    progress: &Progress,
) -> BuildResult<()> {
    let records = match to {
        CacheTo::Inline => return Ok(()),
        CacheTo::Local { mode, .. } | CacheTo::Registry { mode, .. } => {
            recorder.select(lasts, *mode)
        }
    };
    let mut step = progress.step("exporting cache");
    let r = (|| -> BuildResult<()> {
        let (cfg, blobs) = cache_config(store, &records)?;
        step.note("preparing build cache for export done");
        let cfg_bytes = json(&cfg);
        let index = cache_index(&cfg_bytes, &blobs);
        let index_bytes = json(&index);
        match to {
            CacheTo::Local { dest, .. } => {
                write_local(store, dest, &blobs, &cfg_bytes, &index_bytes, &mut step)?
            }
            CacheTo::Registry { reference, .. } => {
                let r = Reference::parse_tagged(reference).map_err(|e| {
                    BuildError::Invalid(format!("invalid cache reference {reference:?}: {e}"))
                })?;
                let session = session(&r)?;
                for l in &blobs {
                    artifact::push_blob_file(
                        &session,
                        r.path(),
                        &l.blob,
                        &store.blob_path(&l.blob),
                        l.blob_size,
                    )?;
                    step.note(&format!("writing layer {} done", l.blob));
                }
                artifact::push_blob_bytes(&session, r.path(), &cfg_bytes)?;
                step.note(&format!("writing config {} done", Digest::of(&cfg_bytes)));
                let d = artifact::put_manifest(
                    &session,
                    r.path(),
                    r.tag().unwrap_or("latest"),
                    mt::OCI_INDEX,
                    &index_bytes,
                )?;
                step.note(&format!("writing manifest {d} done"));
            }
            CacheTo::Inline => {}
        }
        Ok(())
    })();
    match r {
        Ok(()) => {
            step.done();
            Ok(())
        }
        Err(e) => {
            step.failed(&e.to_string());
            Err(e)
        }
    }
}

fn session(r: &Reference) -> BuildResult<Session> {
    Ok(Session::open(&RegistryOptions::from_env(), r.domain())?)
}

fn blob_file(dir: &Path, d: &Digest) -> PathBuf {
    dir.join("blobs/sha256").join(d.hex())
}

/// Write a file whole or not at all (a reader never sees half of it).
fn write_atomic(path: &Path, data: &[u8]) -> BuildResult<()> {
    let tmp = path.with_extension("tmp");
    fs::write(&tmp, data)
        .and_then(|()| fs::rename(&tmp, path))
        .map_err(|e| BuildError::io(format!("writing {}", path.display()), e))
}

/// An OCI layout in `dest` (BuildKit's local cache exporter): blobs, then
/// `index.json` naming the cache index as `latest`.
fn write_local(
    store: &Store,
    dest: &Path,
    blobs: &[LayerRecord],
    cfg: &[u8],
    index: &[u8],
    step: &mut crate::progress::Step<'_>,
) -> BuildResult<()> {
    let err = |what: &str, e| BuildError::io(format!("{what} {}", dest.display()), e);
    fs::create_dir_all(dest.join("blobs/sha256")).map_err(|e| err("creating", e))?;
    for l in blobs {
        let to = blob_file(dest, &l.blob);
        if to.exists() {
            continue;
        }
        let from = store.blob_path(&l.blob);
        let tmp = to.with_extension("tmp");
        if fs::hard_link(&from, &tmp).is_err() {
            fs::copy(&from, &tmp).map_err(|e| err("copying a layer into", e))?;
        }
        fs::rename(&tmp, &to).map_err(|e| err("writing", e))?;
        step.note(&format!("writing layer {} done", l.blob));
    }
    let cfg_digest = Digest::of(cfg);
    write_atomic(&blob_file(dest, &cfg_digest), cfg)?;
    step.note(&format!("writing config {cfg_digest} done"));
    let index_digest = Digest::of(index);
    write_atomic(&blob_file(dest, &index_digest), index)?;
    step.note(&format!("writing manifest {index_digest} done"));
    write_atomic(
        &dest.join("oci-layout"),
        &json(&serde_json::json!({"imageLayoutVersion": mt::OCI_LAYOUT_VERSION})),
    )?;
    let top = Index {
        schema_version: 2,
        media_type: mt::OCI_INDEX.into(),
        manifests: vec![Descriptor {
            media_type: mt::OCI_INDEX.into(),
            digest: index_digest,
            size: index.len() as u64,
            annotations: BTreeMap::from([(REF_NAME.to_string(), "latest".to_string())]),
        }],
    };
    write_atomic(&dest.join("index.json"), &json(&top))
}

// --- Import ---------------------------------------------------------------

/// A layer an imported result needs.
#[derive(Debug, Clone)]
struct LayerRef {
    blob: Digest,
    diff_id: Option<Digest>,
    size: u64,
}

/// Where imported layer blobs come from.
enum BlobSource {
    Dir(PathBuf),
    Registry {
        session: Session,
        path: String,
    },
    /// The image is in the store: its layers are too.
    Store,
}

struct Imported {
    source: usize,
    chain: Vec<LayerRef>,
    created: String,
}

/// The results `--cache-from` offers, by cache key.
#[derive(Default)]
pub struct Imports {
    sources: Vec<BlobSource>,
    results: HashMap<String, Imported>,
}

impl Imports {
    /// Read the index and config of every `--cache-from` (a source that
    /// cannot be read is a warning, as BuildKit's).
    pub fn load(
        store: &Store,
        host: &dyn BuildHost,
        from: &[CacheFrom],
        progress: &Progress,
    ) -> Imports {
        let mut imports = Imports::default();
        for f in from {
            let shown = match f {
                CacheFrom::Local { src } => src.display().to_string(),
                CacheFrom::Registry { reference } | CacheFrom::Image(reference) => {
                    reference.clone()
                }
            };
            let step = progress.step(&format!("importing cache manifest from {shown}"));
            match imports.add(store, host, f) {
                Ok(()) => step.done(),
                Err(e) => {
                    tracing::debug!(source = %shown, error = %e, "cache import failed");
                    step.done();
                    progress.warn(&format!(
                        "failed to import cache from {shown}: {e}; continuing without it"
                    ));
                }
            }
        }
        imports
    }

    fn add(&mut self, store: &Store, host: &dyn BuildHost, from: &CacheFrom) -> BuildResult<()> {
        match from {
            CacheFrom::Local { src } => {
                let top: Index = read_json(&src.join("index.json"))?;
                let desc = top
                    .manifests
                    .iter()
                    .find(|d| d.annotations.get(REF_NAME).map(String::as_str) == Some("latest"))
                    .or_else(|| top.manifests.first())
                    .ok_or_else(|| {
                        BuildError::NotFound(format!("{} has no cache index", src.display()))
                    })?;
                let index: Index = read_json(&blob_file(src, &desc.digest))?;
                let cfg_desc = config_descriptor(&index)?;
                let cfg: CacheConfig = read_json(&blob_file(src, &cfg_desc.digest))?;
                self.sources.push(BlobSource::Dir(src.clone()));
                self.add_config(&index, cfg);
                Ok(())
            }
            CacheFrom::Registry { reference } => self.add_registry(store, reference),
            CacheFrom::Image(name) => {
                let in_store = host.image_in_store(name);
                match in_store {
                    Some(id) => {
                        let config = ImageConfig::from_slice(&store.read_blob(&id)?)
                            .map_err(|e| BuildError::Invalid(format!("image {name}: {e}")))?;
                        let layers = store.read(|tx| {
                            config
                                .diff_ids()
                                .iter()
                                .map(|d| layers::get(tx, d))
                                .collect::<Result<Vec<_>, _>>()
                        })?;
                        let chain = layers
                            .into_iter()
                            .zip(config.diff_ids())
                            .map(|(l, d)| LayerRef {
                                blob: l.map(|l| l.blob).unwrap_or_else(|| d.clone()),
                                diff_id: Some(d.clone()),
                                size: 0,
                            })
                            .collect();
                        self.sources.push(BlobSource::Store);
                        self.add_inline(&config, chain)
                    }
                    None => {
                        let r = Reference::parse(name).map_err(|e| {
                            BuildError::Invalid(format!("invalid cache source {name:?}: {e}"))
                        })?;
                        if r.domain() == "docker.io" {
                            return Err(BuildError::NotFound(format!(
                                "no image {name} in the store"
                            )));
                        }
                        self.add_registry(store, name)
                    }
                }
            }
        }
    }

    /// A registry reference: a cache index, or an image with an inline
    /// cache.
    fn add_registry(&mut self, _store: &Store, reference: &str) -> BuildResult<()> {
        let r = Reference::parse_tagged(reference).map_err(|e| {
            BuildError::Invalid(format!("invalid cache reference {reference:?}: {e}"))
        })?;
        let session = session(&r)?;
        let path = r.path().to_string();
        let (bytes, media_type) =
            artifact::get_manifest(&session, &path, r.tag().unwrap_or("latest"), &r.familiar())?;
        let parse = |b: &[u8]| {
            serde_json::from_slice::<serde_json::Value>(b)
                .map_err(|e| BuildError::Invalid(format!("cache manifest of {reference}: {e}")))
        };
        let v = parse(&bytes)?;
        if media_type == mt::OCI_INDEX || media_type == mt::DOCKER_MANIFEST_LIST {
            let index: Index = serde_json::from_value(v)
                .map_err(|e| BuildError::Invalid(format!("cache index of {reference}: {e}")))?;
            let cfg_desc = config_descriptor(&index)?;
            let cfg: CacheConfig = serde_json::from_slice(&artifact::get_small_blob(
                &session,
                &path,
                &cfg_desc.digest,
            )?)
            .map_err(|e| BuildError::Invalid(format!("cache config of {reference}: {e}")))?;
            self.sources.push(BlobSource::Registry { session, path });
            self.add_config(&index, cfg);
            return Ok(());
        }
        // An image manifest: its config may hold an inline cache.
        let config_digest: Digest = v["config"]["digest"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| BuildError::Invalid(format!("{reference} has no image config")))?;
        let config =
            ImageConfig::from_slice(&artifact::get_small_blob(&session, &path, &config_digest)?)
                .map_err(|e| BuildError::Invalid(format!("image config of {reference}: {e}")))?;
        let blobs = v["layers"].as_array().cloned().unwrap_or_default();
        let chain = blobs
            .iter()
            .zip(config.diff_ids())
            .filter_map(|(l, d)| {
                Some(LayerRef {
                    blob: l["digest"].as_str()?.parse().ok()?,
                    diff_id: Some(d.clone()),
                    size: l["size"].as_u64().unwrap_or(0),
                })
            })
            .collect();
        self.sources.push(BlobSource::Registry { session, path });
        self.add_inline(&config, chain)
    }

    fn add_config(&mut self, index: &Index, cfg: CacheConfig) {
        let sizes: HashMap<&Digest, u64> = index
            .manifests
            .iter()
            .map(|d| (&d.digest, d.size))
            .collect();
        let diff_of = |l: &CacheLayer| -> Option<Digest> {
            l.annotations
                .as_ref()
                .and_then(|a| a.diff_id.clone())
                .or_else(|| {
                    index
                        .manifests
                        .iter()
                        .find(|d| d.digest == l.blob)
                        .and_then(|d| d.annotations.get(UNCOMPRESSED)?.parse().ok())
                })
        };
        let source = self.sources.len() - 1;
        for r in &cfg.records {
            let Some(key) = r.digest.strip_prefix("sha256:") else {
                continue;
            };
            for res in &r.results {
                let mut chain = Vec::new();
                let mut at = res.layer;
                // A chain longer than the layer list is a cycle.
                while at >= 0 && (at as usize) < cfg.layers.len() && chain.len() <= cfg.layers.len()
                {
                    let l = &cfg.layers[at as usize];
                    chain.push(LayerRef {
                        blob: l.blob.clone(),
                        diff_id: diff_of(l),
                        size: sizes.get(&l.blob).copied().unwrap_or(0),
                    });
                    at = l.parent;
                }
                chain.reverse();
                self.results.insert(
                    key.to_string(),
                    Imported {
                        source,
                        chain,
                        created: res.created_at.clone(),
                    },
                );
            }
        }
    }

    fn add_inline(&mut self, config: &ImageConfig, chain: Vec<LayerRef>) -> BuildResult<()> {
        let Some(encoded) = config.extra.get(INLINE_KEY).and_then(|v| v.as_str()) else {
            return Err(BuildError::NotFound(
                "the image has no inline cache (build it with --cache-to type=inline)".into(),
            ));
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| BuildError::Invalid(format!("invalid inline cache: {e}")))?;
        let records: Vec<CacheRecord> = serde_json::from_slice(&bytes)
            .map_err(|e| BuildError::Invalid(format!("invalid inline cache: {e}")))?;
        let source = self.sources.len() - 1;
        tracing::debug!(
            records = records.len(),
            layers = chain.len(),
            "inline cache"
        );
        for r in &records {
            let Some(key) = r.digest.strip_prefix("sha256:") else {
                continue;
            };
            for res in &r.results {
                if res.layer < 0 || res.layer as usize >= chain.len() {
                    continue;
                }
                self.results.insert(
                    key.to_string(),
                    Imported {
                        source,
                        chain: chain[..=res.layer as usize].to_vec(),
                        created: res.created_at.clone(),
                    },
                );
            }
        }
        Ok(())
    }

    /// Whether an import has a result for `key` that `restore` can bring
    /// (a dry run's question: nothing is fetched).
    pub fn offers(&self, key: &str) -> bool {
        self.results.get(key).is_some_and(|imp| {
            !imp.chain.is_empty() && imp.chain.iter().all(|l| l.diff_id.is_some())
        })
    }

    /// The imported result of `key`, its layers brought into the store and
    /// recorded as a local cache entry; `None` when no import has it.
    pub fn restore(&self, store: &Store, key: &str) -> BuildResult<Option<CacheEntry>> {
        let Some(imp) = self.results.get(key) else {
            tracing::debug!(
                key,
                imported = self.results.len(),
                "not in the imported cache"
            );
            return Ok(None);
        };
        let Some(top) = imp.chain.last().and_then(|l| l.diff_id.clone()) else {
            return Ok(None);
        };
        let entry = CacheEntry {
            key: key.to_string(),
            diff_id: Some(top),
            created: imp.created.clone(),
        };
        for l in &imp.chain {
            let Some(diff_id) = &l.diff_id else {
                return Ok(None);
            };
            let have = store.read(|tx| layers::get(tx, diff_id))?.is_some()
                && store.layer_dir(diff_id).exists();
            if have {
                continue;
            }
            let src: Box<dyn Read + '_> = match &self.sources[imp.source] {
                BlobSource::Dir(dir) => {
                    Box::new(fs::File::open(blob_file(dir, &l.blob)).map_err(|e| {
                        BuildError::io(format!("opening cache layer {}", l.blob), e)
                    })?)
                }
                BlobSource::Registry { session, path } => {
                    artifact::blob_reader(session, path, &l.blob, l.size)
                }
                BlobSource::Store => return Ok(None),
            };
            let ingested = wharf_image::ingest::ingest_layer(store, src, Some(&l.blob))?;
            if ingested.diff_id() != diff_id {
                return Err(BuildError::Invalid(format!(
                    "cache layer {} has diff ID {}, not {diff_id}",
                    l.blob,
                    ingested.diff_id()
                )));
            }
            wharf_image::commit::commit_layer(store, ingested, |_| Ok(()))?;
        }
        store.write(|tx| wharf_store::build_cache::put(tx, &entry))?;
        Ok(Some(entry))
    }
}

fn config_descriptor(index: &Index) -> BuildResult<&Descriptor> {
    index
        .manifests
        .iter()
        .find(|d| d.media_type == CACHE_CONFIG_MEDIA_TYPE)
        .ok_or_else(|| {
            BuildError::Invalid(format!(
                "not a build cache: the index has no {CACHE_CONFIG_MEDIA_TYPE}"
            ))
        })
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> BuildResult<T> {
    let bytes =
        fs::read(path).map_err(|e| BuildError::io(format!("reading {}", path.display()), e))?;
    serde_json::from_slice(&bytes)
        .map_err(|e| BuildError::Invalid(format!("invalid {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_as_buildx() {
        assert_eq!(
            CacheTo::parse("type=local,dest=/c,mode=max").unwrap(),
            CacheTo::Local {
                dest: "/c".into(),
                mode: CacheMode::Max
            }
        );
        assert_eq!(CacheTo::parse("type=inline").unwrap(), CacheTo::Inline);
        assert_eq!(
            CacheTo::parse("r:5000/c").unwrap(),
            CacheTo::Registry {
                reference: "r:5000/c".into(),
                mode: CacheMode::Min
            }
        );
        assert!(CacheTo::parse("type=local")
            .unwrap_err()
            .to_string()
            .contains("dest is required for local cache"));
        assert!(CacheTo::parse("type=s4,x=y")
            .unwrap_err()
            .to_string()
            .contains("unknown cache exporter: \"s4\""));
        assert!(CacheTo::parse("type=local,dest=d,mode=all").is_err());
        assert_eq!(
            CacheFrom::parse("type=local,src=/c").unwrap(),
            CacheFrom::Local { src: "/c".into() }
        );
        assert_eq!(
            CacheFrom::parse("app:1").unwrap(),
            CacheFrom::Image("app:1".into())
        );
    }

    #[test]
    fn config_matches_buildkit_field_names() {
        let cfg = CacheConfig {
            layers: vec![CacheLayer {
                blob: Digest::of(b"x"),
                parent: -1,
                annotations: None,
            }],
            records: vec![CacheRecord {
                results: vec![CacheResult {
                    layer: 0,
                    created_at: "2024-01-01T00:00:00Z".into(),
                }],
                digest: "sha256:k".into(),
                inputs: vec![vec![CacheInput {
                    selector: String::new(),
                    link: 0,
                }]],
            }],
        };
        let v: serde_json::Value = serde_json::from_slice(&json(&cfg)).unwrap();
        assert_eq!(v["layers"][0]["parent"], -1);
        assert_eq!(
            v["records"][0]["layers"][0]["createdAt"],
            "2024-01-01T00:00:00Z"
        );
        assert_eq!(v["records"][0]["inputs"][0][0]["link"], 0);
        // Go omits a 0 parent: reading it back gives 0.
        let back: CacheConfig =
            serde_json::from_str(r#"{"layers":[{"blob":"sha256:2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"}]}"#)
                .unwrap();
        assert_eq!(back.layers[0].parent, 0);
    }
}
