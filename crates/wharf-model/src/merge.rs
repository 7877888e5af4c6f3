//! Docker's daemon merge of a container's `Config` with its image's
//! (moby `daemon/commit.go` `merge` and `mergeAndVerifyConfig`): what the
//! user left out comes from the image, so the container's record says
//! everything the container runs with.

use crate::Config;

fn env_key(e: &str) -> &str {
    e.split_once('=').map_or(e, |(k, _)| k)
}

/// Fill `user` from `image` as docker's daemon does at create.
pub fn merge_with_image(user: &mut Config, image: &Config) {
    if user.user.is_empty() {
        user.user = image.user.clone();
    }
    match (&mut user.exposed_ports, &image.exposed_ports) {
        (None, Some(i)) => user.exposed_ports = Some(i.clone()),
        (Some(u), Some(i)) if u.is_empty() => *u = i.clone(),
        (Some(u), Some(i)) => {
            for (k, v) in i {
                u.entry(k.clone()).or_insert_with(|| v.clone());
            }
        }
        _ => {}
    }
    if user.env.is_empty() {
        user.env = image.env.clone();
    } else {
        for e in &image.env {
            if !user.env.iter().any(|u| env_key(u) == env_key(e)) {
                user.env.push(e.clone());
            }
        }
    }
    let labels = user.labels.get_or_insert_with(Default::default);
    for (k, v) in image.labels.iter().flatten() {
        labels.entry(k.clone()).or_insert_with(|| v.clone());
    }
    if user.entrypoint.as_ref().is_none_or(|e| e.is_empty()) {
        if user.cmd.as_ref().is_none_or(|c| c.is_empty()) {
            user.cmd = image.cmd.clone();
            user.args_escaped = image.args_escaped;
        }
        if user.entrypoint.is_none() {
            user.entrypoint = image.entrypoint.clone();
        }
    }
    if let Some(ih) = &image.healthcheck {
        match &mut user.healthcheck {
            None => user.healthcheck = Some(ih.clone()),
            Some(uh) => {
                if uh.test.as_ref().is_none_or(|t| t.is_empty()) {
                    uh.test = ih.test.clone();
                }
                if uh.interval == 0 {
                    uh.interval = ih.interval;
                }
                if uh.timeout == 0 {
                    uh.timeout = ih.timeout;
                }
                if uh.start_period == 0 {
                    uh.start_period = ih.start_period;
                }
                if uh.retries == 0 {
                    uh.retries = ih.retries;
                }
            }
        }
    }
    if user.working_dir.is_empty() {
        user.working_dir = image.working_dir.clone();
    }
    match (&mut user.volumes, &image.volumes) {
        (None, Some(i)) => user.volumes = Some(i.clone()),
        (Some(u), Some(i)) => {
            for (k, v) in i {
                u.insert(k.clone(), v.clone());
            }
        }
        _ => {}
    }
    if user.stop_signal.is_empty() {
        user.stop_signal = image.stop_signal.clone();
    }
    // docker resets an entrypoint of [""] (`--entrypoint ""`).
    if user
        .entrypoint
        .as_ref()
        .is_some_and(|e| e.len() == 1 && e[0].is_empty())
    {
        user.entrypoint = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Option<Vec<String>> {
        Some(s.iter().map(|x| x.to_string()).collect())
    }

    #[test]
    fn user_values_win_and_the_image_fills_the_rest() {
        let image = Config {
            env: vec!["PATH=/bin".into(), "A=image".into()],
            cmd: v(&["sh"]),
            entrypoint: v(&["/init"]),
            working_dir: "/srv".into(),
            user: "app".into(),
            stop_signal: "SIGQUIT".into(),
            ..Default::default()
        };
        let mut user = Config {
            env: vec!["A=user".into()],
            cmd: v(&["echo", "hi"]),
            ..Default::default()
        };
        merge_with_image(&mut user, &image);
        assert_eq!(user.env, vec!["A=user".to_string(), "PATH=/bin".into()]);
        assert_eq!(user.cmd, v(&["echo", "hi"]));
        assert_eq!(user.entrypoint, v(&["/init"]));
        assert_eq!(
            (user.working_dir.as_str(), user.user.as_str()),
            ("/srv", "app")
        );
        assert_eq!(user.stop_signal, "SIGQUIT");
    }

    #[test]
    fn an_entrypoint_drops_the_image_command() {
        let image = Config {
            cmd: v(&["sh"]),
            entrypoint: v(&["/init"]),
            ..Default::default()
        };
        let mut user = Config {
            entrypoint: v(&["/bin/date"]),
            ..Default::default()
        };
        merge_with_image(&mut user, &image);
        assert_eq!((user.entrypoint, user.cmd), (v(&["/bin/date"]), None));
        // `--entrypoint ""`: no entrypoint and no image command.
        let mut cleared = Config {
            entrypoint: v(&[""]),
            cmd: v(&["ls"]),
            ..Default::default()
        };
        merge_with_image(&mut cleared, &image);
        assert_eq!((cleared.entrypoint, cleared.cmd), (None, v(&["ls"])));
    }
}
