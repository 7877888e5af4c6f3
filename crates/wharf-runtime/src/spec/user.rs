//! `--user` / the image's `User`, resolved against the image's /etc/passwd
//! and /etc/group the way Docker does (moby/sys/user `GetExecUser`):
//!
//! - `name` or `uid`, optionally `:group` or `:gid`;
//! - a name must exist in passwd; a numeric uid need not (its gid is then 0
//!   unless given), and a numeric gid need not exist in group;
//! - without an explicit group, the user's supplementary groups are the
//!   /etc/group entries that list the user's name;
//! - `HOME` is the passwd entry's home, or `/` without one (runc's default).
//!
//! The files are read through the rootfs with symlinks resolved inside it,
//! never escaping to the host.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::fs;
use std::path::{Component, Path, PathBuf};

use super::SpecError;

/// A resolved user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    /// Groups from /etc/group that list the user (only when no group was
    /// given explicitly), in file order.
    pub supplementary_gids: Vec<u32>,
    /// The passwd entry's home directory, `/` when there is none.
    pub home: String,
}

struct PasswdEntry {
    name: String,
    uid: i64,
    gid: i64,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: i64,
    members: Vec<String>,
}

const MAX_ID: i64 = (1 << 31) - 1;

fn range_error() -> SpecError {
    SpecError::invalid(format!("uids and gids must be in range 0-{MAX_ID}"))
}

/// Go's `strconv.Atoi` as moby's `parseNumeric` uses it: `None` for a name,
/// an error for a number out of range.
fn parse_numeric(value: &str) -> Result<Option<u32>, SpecError> {
    if value.is_empty() {
        return Ok(None);
    }
    let digits = value.strip_prefix(['+', '-']).unwrap_or(value);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    match value.parse::<i64>() {
        Ok(id) if (0..=MAX_ID).contains(&id) => Ok(Some(id as u32)),
        _ => Err(range_error()),
    }
}

/// A numeric field of passwd/group; Go ignores conversion errors (→ 0).
fn field_id(field: Option<&str>) -> i64 {
    field.and_then(|f| f.parse().ok()).unwrap_or(0)
}

fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            PasswdEntry {
                name: f[0].to_string(),
                uid: field_id(f.get(2).copied()),
                gid: field_id(f.get(3).copied()),
                home: f.get(5).copied().unwrap_or("").to_string(),
            }
        })
        .collect()
}

fn parse_group(text: &str) -> Vec<GroupEntry> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            GroupEntry {
                name: f[0].to_string(),
                gid: field_id(f.get(2).copied()),
                members: f
                    .get(3)
                    .filter(|m| !m.is_empty())
                    .map(|m| m.split(',').map(str::to_string).collect())
                    .unwrap_or_default(),
            }
        })
        .collect()
}

fn to_id(id: i64) -> Result<u32, SpecError> {
    u32::try_from(id)
        .ok()
        .filter(|&i| i64::from(i) <= MAX_ID)
        .ok_or_else(range_error)
}

/// Resolve `user` (`name`, `uid`, `name:group`, `uid:gid` ...; empty =
/// root) against the image at `rootfs`.
pub fn resolve_user(rootfs: &Path, user: &str) -> Result<ResolvedUser, SpecError> {
    let passwd = read_image_file(rootfs, "/etc/passwd")?.map(|t| parse_passwd(&t));
    let group = read_image_file(rootfs, "/etc/group")?.map(|t| parse_group(&t));
    resolve_user_in(passwd.as_deref(), group.as_deref(), user)
}

fn resolve_user_in(
    passwd: Option<&[PasswdEntry]>,
    group: Option<&[GroupEntry]>,
    spec: &str,
) -> Result<ResolvedUser, SpecError> {
    let mut parts = spec.split(':');
    let user_arg = parts.next().unwrap_or("");
    let group_arg = parts.next().unwrap_or("");
    let uid_arg = parse_numeric(user_arg)?;
    let gid_arg = parse_numeric(group_arg)?;

    let mut resolved = ResolvedUser {
        uid: 0,
        gid: 0,
        supplementary_gids: Vec::new(),
        home: "/".into(),
    };
    let found = passwd.unwrap_or_default().iter().find(|u| {
        if user_arg.is_empty() {
            u.uid == 0
        } else if let Some(uid) = uid_arg {
            u.uid == i64::from(uid)
        } else {
            u.name == user_arg
        }
    });
    let matched_name = match found {
        Some(u) => {
            resolved.uid = to_id(u.uid)?;
            resolved.gid = to_id(u.gid)?;
            resolved.home = u.home.clone();
            Some(u.name.as_str())
        }
        None if user_arg.is_empty() => None,
        None => match uid_arg {
            Some(uid) => {
                resolved.uid = uid;
                None
            }
            None => return Err(SpecError::UserNotFound(user_arg.to_string())),
        },
    };

    let groups = group.unwrap_or_default();
    if !group_arg.is_empty() {
        let explicit = groups.iter().find(|g| match gid_arg {
            Some(gid) => g.gid == i64::from(gid),
            None => g.name == group_arg,
        });
        resolved.gid = match (explicit, gid_arg) {
            (Some(g), _) => to_id(g.gid)?,
            (None, Some(gid)) => gid,
            (None, None) => return Err(SpecError::GroupNotFound(group_arg.to_string())),
        };
    } else if let Some(name) = matched_name {
        resolved.supplementary_gids = groups
            .iter()
            .filter(|g| g.members.iter().any(|m| m == name))
            .map(|g| to_id(g.gid))
            .collect::<Result<_, _>>()?;
    }
    Ok(resolved)
}

/// `--group-add`: names (must exist in the image's /etc/group) or gids.
pub fn resolve_group_add(rootfs: &Path, groups: &[String]) -> Result<Vec<u32>, SpecError> {
    if groups.is_empty() {
        return Ok(Vec::new());
    }
    let entries = read_image_file(rootfs, "/etc/group")?
        .map(|t| parse_group(&t))
        .unwrap_or_default();
    let mut gids = Vec::new();
    for name in groups {
        let numeric = parse_numeric(name)?;
        let found = entries
            .iter()
            .find(|g| g.name == *name || numeric.is_some_and(|n| g.gid == i64::from(n)));
        let gid = match (found, numeric) {
            (Some(g), _) => to_id(g.gid)?,
            (None, Some(gid)) => gid,
            (None, None) => return Err(SpecError::AddGroupNotFound(name.clone())),
        };
        if !gids.contains(&gid) {
            gids.push(gid);
        }
    }
    Ok(gids)
}

/// The contents of `path` inside the image, `None` if it does not exist.
fn read_image_file(rootfs: &Path, path: &str) -> Result<Option<String>, SpecError> {
    let host_path = scoped_path(rootfs, Path::new(path));
    match fs::read(&host_path) {
        Ok(bytes) => Ok(Some(String::from_utf8_lossy(&bytes).into_owned())),
        Err(e)
            if matches!(
                e.kind(),
                std::io::ErrorKind::NotFound | std::io::ErrorKind::NotADirectory
            ) =>
        {
            Ok(None)
        }
        Err(source) => Err(SpecError::Io {
            path: host_path,
            source,
        }),
    }
}

enum Step {
    Up,
    Name(OsString),
}

fn steps(path: &Path) -> impl Iterator<Item = Step> + '_ {
    path.components().filter_map(|c| match c {
        Component::ParentDir => Some(Step::Up),
        Component::Normal(n) => Some(Step::Name(n.to_os_string())),
        Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
    })
}

/// `path` inside `root`, following symlinks as if `root` were `/` (an
/// absolute link restarts at `root`, `..` stops at it).
pub(crate) fn scoped_path(root: &Path, path: &Path) -> PathBuf {
    const MAX_LINKS: usize = 40;
    let mut resolved = PathBuf::new();
    let mut pending: VecDeque<Step> = steps(path).collect();
    let mut links = 0;
    while let Some(step) = pending.pop_front() {
        let name = match step {
            Step::Up => {
                resolved.pop();
                continue;
            }
            Step::Name(name) => name,
        };
        let candidate = resolved.join(&name);
        let on_host = root.join(&candidate);
        let is_link = fs::symlink_metadata(&on_host).is_ok_and(|m| m.file_type().is_symlink());
        if !is_link || links >= MAX_LINKS {
            resolved = candidate;
            continue;
        }
        links += 1;
        let Ok(target) = fs::read_link(&on_host) else {
            resolved = candidate;
            continue;
        };
        if target.is_absolute() {
            resolved = PathBuf::new();
        }
        let mut next: VecDeque<Step> = steps(&target).collect();
        next.extend(pending);
        pending = next;
    }
    root.join(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
alice:x:1000:1000:Alice:/home/alice:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
";
    const GROUP: &str = "root:x:0:
wheel:x:10:root,alice
# a comment
staff:x:50:alice
alice:x:1000:
nogroup:x:65534:
";

    fn rootfs() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("etc")).unwrap();
        fs::write(dir.path().join("etc/passwd"), PASSWD).unwrap();
        fs::write(dir.path().join("etc/group"), GROUP).unwrap();
        dir
    }

    fn user(uid: u32, gid: u32, sgids: &[u32], home: &str) -> ResolvedUser {
        ResolvedUser {
            uid,
            gid,
            supplementary_gids: sgids.to_vec(),
            home: home.into(),
        }
    }

    #[test]
    fn default_is_root_with_its_groups() {
        let dir = rootfs();
        assert_eq!(
            resolve_user(dir.path(), "").unwrap(),
            user(0, 0, &[10], "/root")
        );
        assert_eq!(
            resolve_user(dir.path(), "root").unwrap(),
            user(0, 0, &[10], "/root")
        );
    }

    #[test]
    fn names_and_ids() {
        let dir = rootfs();
        let r = |u: &str| resolve_user(dir.path(), u).unwrap();
        assert_eq!(r("nobody"), user(65534, 65534, &[], "/nonexistent"));
        assert_eq!(r("alice"), user(1000, 1000, &[10, 50], "/home/alice"));
        // A uid in passwd: its gid, home and groups.
        assert_eq!(r("1000"), user(1000, 1000, &[10, 50], "/home/alice"));
        // A uid not in passwd: gid 0, home /.
        assert_eq!(r("4242"), user(4242, 0, &[], "/"));
        assert_eq!(r("1000:1000"), user(1000, 1000, &[], "/home/alice"));
        assert_eq!(r("4242:4343"), user(4242, 4343, &[], "/"));
        // An explicit group replaces the primary one and the supplementary ones.
        assert_eq!(r("root:wheel"), user(0, 10, &[], "/root"));
        assert_eq!(r("alice:staff"), user(1000, 50, &[], "/home/alice"));
    }

    #[test]
    fn unknown_names_are_errors() {
        let dir = rootfs();
        let e = resolve_user(dir.path(), "bob").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unable to find user bob: no matching entries in passwd file"
        );
        assert_eq!(e.kind(), wharf_oci::ErrorKind::InvalidArgument);
        let e = resolve_user(dir.path(), "root:nosuch").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unable to find group nosuch: no matching entries in group file"
        );
        let e = resolve_user(dir.path(), "-1").unwrap_err();
        assert_eq!(e.to_string(), "uids and gids must be in range 0-2147483647");
    }

    #[test]
    fn image_without_passwd() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(resolve_user(dir.path(), "").unwrap(), user(0, 0, &[], "/"));
        assert_eq!(
            resolve_user(dir.path(), "1000:1000").unwrap(),
            user(1000, 1000, &[], "/")
        );
        assert!(matches!(
            resolve_user(dir.path(), "nobody"),
            Err(SpecError::UserNotFound(_))
        ));
    }

    #[test]
    fn symlinks_stay_inside_the_rootfs() {
        let dir = rootfs();
        // A relative link climbing above / stops at the rootfs.
        fs::remove_file(dir.path().join("etc/passwd")).unwrap();
        std::os::unix::fs::symlink(
            "../../../../../../../../real/passwd",
            dir.path().join("etc/passwd"),
        )
        .unwrap();
        fs::create_dir_all(dir.path().join("real")).unwrap();
        fs::write(dir.path().join("real/passwd"), "zed:x:7:7::/z:/bin/sh\n").unwrap();
        assert_eq!(
            resolve_user(dir.path(), "zed").unwrap(),
            user(7, 7, &[], "/z")
        );
        // An absolute link resolves against the rootfs too.
        fs::remove_file(dir.path().join("etc/passwd")).unwrap();
        std::os::unix::fs::symlink("/real/passwd", dir.path().join("etc/passwd")).unwrap();
        assert_eq!(resolve_user(dir.path(), "zed").unwrap().uid, 7);
    }

    #[test]
    fn group_add_names_and_ids() {
        let dir = rootfs();
        let groups = vec!["staff".to_string(), "777".to_string(), "10".to_string()];
        assert_eq!(
            resolve_group_add(dir.path(), &groups).unwrap(),
            [50, 777, 10]
        );
        let e = resolve_group_add(dir.path(), &["nosuch".to_string()]).unwrap_err();
        assert!(matches!(e, SpecError::AddGroupNotFound(_)));
    }
}
