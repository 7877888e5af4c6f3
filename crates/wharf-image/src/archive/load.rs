//! `docker load`: read an archive in one streaming pass.
//!
//! The archive is read once, front to back. Small files (JSON) are kept in
//! memory; anything that looks like a layer (a tar, or gzip/zstd data) is
//! unpacked into the store's temp area as it streams by, since docker's own
//! archives put `manifest.json` last. When the archive ends, the manifests
//! say which of those layers belong to which image; the images are then
//! committed and any unreferenced temp layers are dropped.

use std::collections::HashMap;
use std::io::{self, BufRead, BufReader, Cursor, Read};
use std::path::{Component, Path, PathBuf};

use oci_spec::image::{ImageIndex, ImageManifest};
use serde::Deserialize;
use wharf_oci::media_types::{self, Compression};
use wharf_oci::{Digest, ImageConfig, Reference};
use wharf_store::{layers, Store};

use crate::commit::commit_image;
use crate::ingest::{ingest_layer, IngestedLayer};
use crate::{ImageError, ImageResult};

/// Bigger than any manifest or config; keeps a hostile archive from
/// exhausting memory with a huge "JSON" file.
const MAX_METADATA: u64 = 64 << 20;

/// One image made visible by a load.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub id: Digest,
    pub tags: Vec<Reference>,
    /// Tags that moved here from another image: (tag, previous image).
    pub moved_tags: Vec<(Reference, Digest)>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// What was found in the archive.
#[derive(Default)]
struct Contents {
    small: HashMap<PathBuf, Vec<u8>>,
    layers: HashMap<PathBuf, IngestedLayer>,
    links: HashMap<PathBuf, PathBuf>,
}

impl Contents {
    fn resolve(&self, p: &Path) -> PathBuf {
        let mut p = p.to_path_buf();
        for _ in 0..16 {
            match self.links.get(&p) {
                Some(t) => p = t.clone(),
                None => break,
            }
        }
        p
    }

    fn small(&self, name: &str) -> ImageResult<&[u8]> {
        let p = self.resolve(&clean(name)?);
        self.small
            .get(&p)
            .map(|v| v.as_slice())
            .ok_or_else(|| ImageError::invalid(format!("invalid archive: {name} is missing")))
    }
}

/// Normalize a path inside the archive; reject ones that climb out of it.
fn clean(name: &str) -> ImageResult<PathBuf> {
    let mut out = PathBuf::new();
    for c in Path::new(name).components() {
        match c {
            Component::Normal(x) => out.push(x),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return Err(ImageError::invalid(format!(
                        "invalid archive: path {name:?} leaves the archive"
                    )));
                }
            }
            Component::Prefix(_) => {}
        }
    }
    Ok(out)
}

fn looks_like_layer(head: &[u8]) -> bool {
    if Compression::sniff(head) != Compression::None {
        return true;
    }
    let ustar = head.len() >= 262 && &head[257..262] == b"ustar";
    // An empty layer is nothing but zero blocks.
    let zeros = head.len() >= 512 && head.iter().all(|b| *b == 0);
    ustar || zeros
}

/// Load every image in the archive read from `src` (maybe gzip/zstd compressed).
pub fn load<R: Read>(store: &Store, src: R) -> ImageResult<Vec<Loaded>> {
    store.sweep();
    let mut src = BufReader::with_capacity(1 << 20, src);
    let head = src
        .fill_buf()
        .map_err(|e| ImageError::io("reading archive", e))?;
    if head.is_empty() {
        return Err(ImageError::invalid("empty archive: nothing to load"));
    }
    let contents = match Compression::sniff(head) {
        Compression::None => read_archive(store, src)?,
        Compression::Gzip => read_archive(store, flate2::bufread::MultiGzDecoder::new(src))?,
        Compression::Zstd => read_archive(
            store,
            zstd::stream::read::Decoder::with_buffer(src)
                .map_err(|e| ImageError::invalid(format!("invalid archive: {e}")))?,
        )?,
    };
    if contents.small.contains_key(Path::new("manifest.json")) {
        load_docker(store, contents)
    } else if contents.small.contains_key(Path::new("index.json")) {
        load_oci(store, contents)
    } else {
        Err(ImageError::invalid(
            "invalid archive: no manifest.json or index.json found (is this an image archive?)",
        ))
    }
}

fn read_archive<R: Read>(store: &Store, src: R) -> ImageResult<Contents> {
    let bad = |e: io::Error| ImageError::invalid(format!("invalid archive: {e}"));
    let mut archive = tar::Archive::new(src);
    let mut contents = Contents::default();
    for entry in archive.entries().map_err(bad)? {
        let mut entry = entry.map_err(bad)?;
        let path = clean(&String::from_utf8_lossy(&entry.path_bytes()))?;
        match entry.header().entry_type() {
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = entry.link_name().map_err(bad)?.unwrap_or_default();
                let target = if entry.header().entry_type() == tar::EntryType::Symlink {
                    path.parent().unwrap_or(Path::new("")).join(target)
                } else {
                    target.into_owned()
                };
                contents
                    .links
                    .insert(path, clean(&target.to_string_lossy())?);
                continue;
            }
            t if !t.is_file() => continue,
            _ => {}
        }
        let mut head = Vec::with_capacity(512);
        (&mut entry).take(512).read_to_end(&mut head).map_err(bad)?;
        if looks_like_layer(&head) {
            let expected = blob_name_digest(&path);
            let layer = ingest_layer(
                store,
                Cursor::new(head).chain(&mut entry),
                expected.as_ref(),
            )
            .map_err(|e| in_file(&path, e))?;
            contents.layers.insert(path, layer);
        } else {
            if entry.size() > MAX_METADATA {
                return Err(ImageError::invalid(format!(
                    "invalid archive: {} is too large for metadata",
                    path.display()
                )));
            }
            let mut data = head;
            entry.read_to_end(&mut data).map_err(bad)?;
            if let Some(want) = blob_name_digest(&path) {
                let got = Digest::of(&data);
                if got != want {
                    return Err(ImageError::invalid(format!(
                        "digest mismatch for {}: got {got}",
                        path.display()
                    )));
                }
            }
            contents.small.insert(path, data);
        }
    }
    Ok(contents)
}

fn in_file(path: &Path, e: ImageError) -> ImageError {
    match e {
        ImageError::Layer(l) => {
            ImageError::invalid(format!("invalid archive: {}: {l}", path.display()))
        }
        other => other,
    }
}

/// `blobs/sha256/<hex>` names its own digest.
fn blob_name_digest(path: &Path) -> Option<Digest> {
    let s = path.to_str()?;
    Digest::from_hex(s.strip_prefix("blobs/sha256/")?).ok()
}

fn parse_json<'a, T: Deserialize<'a>>(what: &str, bytes: &'a [u8]) -> ImageResult<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| ImageError::invalid(format!("invalid archive: {what}: {e}")))
}

/// Commit one image: its config and, in order, the archive paths of its layers.
fn commit_one(
    store: &Store,
    contents: &mut Contents,
    config: &[u8],
    layer_paths: &[PathBuf],
    tags: Vec<Reference>,
) -> ImageResult<Loaded> {
    let parsed: ImageConfig = parse_json("image config", config)?;
    let diff_ids = parsed.diff_ids();
    if diff_ids.len() != layer_paths.len() {
        return Err(ImageError::invalid(format!(
            "invalid archive: image config lists {} layers, manifest {}",
            diff_ids.len(),
            layer_paths.len()
        )));
    }
    let mut new_layers = Vec::new();
    for (want, path) in diff_ids.iter().zip(layer_paths) {
        let path = contents.resolve(path);
        match contents.layers.remove(&path) {
            Some(l) if l.diff_id() == want => new_layers.push(l),
            Some(l) => {
                return Err(ImageError::invalid(format!(
                    "invalid archive: layer {} has diff ID {}, the image config expects {want}",
                    path.display(),
                    l.diff_id()
                )))
            }
            // Already taken by an earlier image of this archive, or stored before.
            None => {
                if store.read(|tx| layers::get(tx, want))?.is_none()
                    && !new_layers
                        .iter()
                        .any(|l: &IngestedLayer| l.diff_id() == want)
                {
                    return Err(ImageError::invalid(format!(
                        "invalid archive: layer {} is missing",
                        path.display()
                    )));
                }
            }
        }
    }
    let committed = commit_image(store, new_layers, config, &tags, None)?;
    Ok(Loaded {
        id: committed.id,
        tags,
        moved_tags: committed.moved_tags,
    })
}

fn load_docker(store: &Store, mut contents: Contents) -> ImageResult<Vec<Loaded>> {
    let entries: Vec<DockerManifestEntry> =
        parse_json("manifest.json", contents.small("manifest.json")?)?;
    let mut out = Vec::new();
    for e in entries {
        let config = contents.small(&e.config)?.to_vec();
        let tags = e
            .repo_tags
            .unwrap_or_default()
            .iter()
            .map(|t| {
                Reference::parse_tagged(t).map_err(|err| {
                    ImageError::invalid(format!("invalid archive: tag {t:?}: {err}"))
                })
            })
            .collect::<ImageResult<Vec<_>>>()?;
        let paths = e
            .layers
            .iter()
            .map(|l| clean(l))
            .collect::<ImageResult<Vec<_>>>()?;
        out.push(commit_one(store, &mut contents, &config, &paths, tags)?);
    }
    Ok(out)
}

fn load_oci(store: &Store, mut contents: Contents) -> ImageResult<Vec<Loaded>> {
    let index: ImageIndex = parse_json("index.json", contents.small("index.json")?)?;
    // (manifest digest, tags), in index order, one entry per manifest.
    let mut manifests: Vec<(Digest, Vec<Reference>)> = Vec::new();
    collect_manifests(&contents, &index, &mut manifests, 0)?;
    let mut out = Vec::new();
    for (digest, tags) in manifests {
        let manifest: ImageManifest = parse_json("manifest", contents.small(&blob_path(&digest))?)?;
        let config_digest = to_digest(manifest.config().digest().as_ref())?;
        let config = contents.small(&blob_path(&config_digest))?.to_vec();
        let paths = manifest
            .layers()
            .iter()
            .map(|l| {
                let media_type = l.media_type().to_string();
                if Compression::from_media_type(&media_type).is_none() {
                    return Err(ImageError::invalid(format!(
                        "invalid archive: layer {} has unsupported media type {media_type}",
                        l.digest()
                    )));
                }
                Ok(PathBuf::from(blob_path(&to_digest(l.digest().as_ref())?)))
            })
            .collect::<ImageResult<Vec<_>>>()?;
        out.push(commit_one(store, &mut contents, &config, &paths, tags)?);
    }
    Ok(out)
}

fn blob_path(d: &Digest) -> String {
    format!("blobs/sha256/{}", d.hex())
}

fn to_digest(s: &str) -> ImageResult<Digest> {
    s.parse()
        .map_err(|e| ImageError::invalid(format!("invalid archive: {e}")))
}

/// Walk an index (and nested indexes, picking this machine's platform from
/// multi-platform ones) down to image manifests, with the tags annotated.
fn collect_manifests(
    contents: &Contents,
    index: &ImageIndex,
    out: &mut Vec<(Digest, Vec<Reference>)>,
    depth: usize,
) -> ImageResult<()> {
    if depth > 4 {
        return Err(ImageError::invalid(
            "invalid archive: indexes nested too deep",
        ));
    }
    let multi_platform = index.manifests().iter().any(|m| m.platform().is_some());
    for m in index.manifests() {
        if multi_platform && depth > 0 {
            if let Some(p) = m.platform() {
                if p.os().to_string() != wharf_oci::platform::OS
                    || p.architecture().to_string() != wharf_oci::platform::go_arch()
                {
                    continue;
                }
            }
        }
        let digest = to_digest(m.digest().as_ref())?;
        let tags = tags_of(m.annotations().as_ref());
        let media_type = m.media_type().to_string();
        if media_type == media_types::OCI_INDEX || media_type == media_types::DOCKER_MANIFEST_LIST {
            let nested: ImageIndex =
                parse_json("nested index", contents.small(&blob_path(&digest))?)?;
            let before = out.len();
            collect_manifests(contents, &nested, out, depth + 1)?;
            for entry in &mut out[before..] {
                entry.1.extend(tags.iter().cloned());
            }
        } else if media_type == media_types::OCI_MANIFEST
            || media_type == media_types::DOCKER_MANIFEST
        {
            match out.iter_mut().find(|(d, _)| *d == digest) {
                Some(entry) => entry.1.extend(tags),
                None => out.push((digest, tags)),
            }
        } else {
            return Err(ImageError::invalid(format!(
                "invalid archive: {digest} has unsupported media type {media_type}"
            )));
        }
    }
    Ok(())
}

fn tags_of(annotations: Option<&HashMap<String, String>>) -> Vec<Reference> {
    let Some(a) = annotations else {
        return Vec::new();
    };
    let name = a.get("io.containerd.image.name").or_else(|| {
        // Some tools put the whole reference in ref.name; a bare tag says no repository.
        a.get("org.opencontainers.image.ref.name")
            .filter(|n| n.contains(['/', ':']))
    });
    name.and_then(|n| Reference::parse_tagged(n).ok())
        .into_iter()
        .collect()
}
