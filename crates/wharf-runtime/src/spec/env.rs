//! The process environment, in Docker's order:
//!
//! 1. `PATH` (Docker's default), `HOSTNAME`, `TERM=xterm` with a tty —
//!    replaced in place when the container's env sets them;
//! 2. the `run` env (`--env-file` lines, then `-e`; for a repeated name the
//!    later value wins, at the first one's position), then the image's env
//!    entries that `run` did not set (moby's `merge` puts the user's env
//!    first);
//! 3. `HOME` from the user's passwd entry when nothing set it (runc adds
//!    it last, at exec time; we put it in the spec so the runtime never has
//!    to look it up).
//!
//! `NAME` without `=` takes the value from wharf's own environment; if wharf
//! has none it unsets `NAME` (the image's value and the defaults included).

use super::SpecError;

/// Docker's default `PATH`.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn key(entry: &str) -> &str {
    entry.split_once('=').map_or(entry, |(k, _)| k)
}

/// The container's environment; `NAME` alone is looked up in this process's
/// environment.
pub fn merge_env(
    image_env: &[String],
    run_env: &[String],
    hostname: &str,
    tty: bool,
    home: &str,
) -> Vec<String> {
    let lookup = |name: &str| std::env::var(name).ok();
    merge_env_with(image_env, run_env, &[], hostname, tty, home, lookup)
}

/// [`merge_env`] with the lookup for `NAME`-only entries supplied, and
/// `--link`'s variables (`WEB_PORT`, `WEB_NAME` ...), which docker puts
/// after its defaults, where the container's own env may replace them.
pub fn merge_env_with(
    image_env: &[String],
    run_env: &[String],
    linked: &[String],
    hostname: &str,
    tty: bool,
    home: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Vec<String> {
    // The user's env, NAME resolved, later duplicates replacing in place.
    let mut user: Vec<String> = Vec::with_capacity(run_env.len());
    for entry in run_env.iter().filter(|e| !e.is_empty()) {
        let entry = if entry.contains('=') {
            entry.clone()
        } else {
            match lookup(entry) {
                Some(value) => format!("{entry}={value}"),
                None => entry.clone(),
            }
        };
        match user.iter_mut().find(|u| key(u) == key(&entry)) {
            Some(existing) => *existing = entry,
            None => user.push(entry),
        }
    }
    // moby's merge: the user's entries, then the image's other entries.
    let mut config = user.clone();
    for entry in image_env {
        if !user.iter().any(|u| key(u) == key(entry)) {
            config.push(entry.clone());
        }
    }

    let mut env = vec![
        format!("PATH={DEFAULT_PATH}"),
        format!("HOSTNAME={hostname}"),
    ];
    if tty {
        env.push("TERM=xterm".into());
    }
    env.extend(linked.iter().cloned());
    // moby's ReplaceOrAppendEnvValues: only the defaults (and links) are
    // replaced in place; an entry without `=` unsets one.
    let defaults = env.len();
    let mut removed = vec![false; defaults];
    for entry in config {
        let slot = env[..defaults].iter().position(|d| key(d) == key(&entry));
        match (entry.contains('='), slot) {
            (true, Some(i)) => {
                env[i] = entry;
                removed[i] = false;
            }
            (true, None) => env.push(entry),
            (false, Some(i)) => removed[i] = true,
            (false, None) => {}
        }
    }
    let mut i = 0;
    env.retain(|_| {
        let keep = i >= defaults || !removed[i];
        i += 1;
        keep
    });
    if !home.is_empty() && !env.iter().any(|e| key(e) == "HOME") {
        env.push(format!("HOME={home}"));
    }
    env
}

/// A process environment cannot hold a NUL byte. runc refuses one when
/// the container starts; an image's `Env` can carry one, so the check
/// runs with the rest of the spec's validation, before anything is made,
/// with runc's message.
pub(crate) fn check_env(env: &[String]) -> Result<(), SpecError> {
    let Some(entry) = env.iter().find(|e| e.contains('\0')) else {
        return Ok(());
    };
    let part = if key(entry).contains('\0') {
        "name"
    } else {
        "value"
    };
    Err(SpecError::invalid(format!(
        "environment variable {part} can't contain null(\\x00): \"{}\"",
        entry.replace('\0', "\\x00")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn no_host(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn nul_bytes_are_refused_with_runcs_message() {
        assert!(check_env(&strs(&["A=1", "B=x"])).is_ok());
        assert_eq!(
            check_env(&strs(&["A=1", "B=x\0y"]))
                .unwrap_err()
                .to_string(),
            r#"environment variable value can't contain null(\x00): "B=x\x00y""#
        );
        assert_eq!(
            check_env(&strs(&["B\0C=2"])).unwrap_err().to_string(),
            r#"environment variable name can't contain null(\x00): "B\x00C=2""#
        );
    }

    #[test]
    fn defaults_path_hostname_home() {
        let env = merge_env_with(&[], &[], &[], "0123456789ab", false, "/root", no_host);
        assert_eq!(
            env,
            [
                "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "HOSTNAME=0123456789ab",
                "HOME=/root"
            ]
        );
    }

    #[test]
    fn tty_adds_term_after_hostname() {
        let env = merge_env_with(&[], &[], &[], "h", true, "/root", no_host);
        assert_eq!(env[1..], ["HOSTNAME=h", "TERM=xterm", "HOME=/root"]);
    }

    #[test]
    fn image_path_replaces_the_default_in_place() {
        let image = strs(&["PATH=/opt/bin:/usr/bin", "LANG=C.UTF-8"]);
        let env = merge_env_with(&image, &[], &[], "h", false, "/root", no_host);
        assert_eq!(
            env,
            [
                "PATH=/opt/bin:/usr/bin",
                "HOSTNAME=h",
                "LANG=C.UTF-8",
                "HOME=/root"
            ]
        );
        let env = merge_env_with(&image, &strs(&["PATH=/x"]), &[], "h", false, "/", no_host);
        assert_eq!(env[0], "PATH=/x");
    }

    #[test]
    fn precedence_image_then_env_file_then_dash_e() {
        // Image: ENV A=1 B=2 C=3; --env-file: B=3; -e A=4 -e WHARF_TEST_NAME
        // (taken from the host).
        let image = strs(&["A=1", "B=2", "C=3"]);
        let run = strs(&["B=3", "A=4", "WHARF_TEST_NAME"]);
        let host = |k: &str| (k == "WHARF_TEST_NAME").then(|| "from-host".to_string());
        let env = merge_env_with(&image, &run, &[], "h", false, "/root", host);
        assert_eq!(
            env[2..],
            [
                "B=3",
                "A=4",
                "WHARF_TEST_NAME=from-host",
                "C=3",
                "HOME=/root"
            ]
        );
    }

    #[test]
    fn dash_e_beats_env_file_for_the_same_name() {
        let image = strs(&["B=2"]);
        let run = strs(&["B=3", "X=1", "B=5"]);
        let env = merge_env_with(&image, &run, &[], "h", false, "", no_host);
        assert_eq!(env[2..], ["B=5", "X=1"]);
    }

    #[test]
    fn name_missing_on_the_host_unsets_it() {
        let image = strs(&["A=1", "B=2"]);
        let env = merge_env_with(
            &image,
            &strs(&["A", "HOSTNAME"]),
            &[],
            "h",
            false,
            "",
            no_host,
        );
        assert_eq!(env, [format!("PATH={DEFAULT_PATH}"), "B=2".to_string()]);
    }

    #[test]
    fn explicit_home_is_kept() {
        let env = merge_env_with(
            &strs(&["HOME=/srv"]),
            &[],
            &[],
            "h",
            false,
            "/root",
            no_host,
        );
        assert_eq!(env.last().unwrap(), "HOME=/srv");
        assert_eq!(env.iter().filter(|e| e.starts_with("HOME=")).count(), 1);
    }
}
