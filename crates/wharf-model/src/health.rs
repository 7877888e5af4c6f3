//! What a container's health check runs and when: Docker's reading of
//! `Config.Healthcheck` (moby `daemon/health.go`: `CMD`, `CMD-SHELL` with
//! the container's shell, `NONE`; zero durations take Docker's defaults).

use std::time::Duration;

use wharf_oci::ContainerConfig;

/// Docker's defaults for a zero `Interval`, `Timeout`, `StartPeriod`, `Retries`.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30);
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
pub const DEFAULT_START_PERIOD: Duration = Duration::ZERO;
pub const DEFAULT_RETRIES: u32 = 3;

/// Docker keeps this much of a probe's output (then `...`).
pub const MAX_OUTPUT: usize = 4096;

/// One container's health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Probe {
    /// The command run in the container: `CMD`'s arguments, or the shell
    /// and `CMD-SHELL`'s string.
    pub args: Vec<String>,
    /// From the container's start to the first probe, and from the end of
    /// one probe to the start of the next.
    pub interval: Duration,
    pub timeout: Duration,
    /// Failures this soon after the start do not count while the
    /// container has not been healthy yet.
    pub start_period: Duration,
    /// Consecutive failures that make it unhealthy.
    pub retries: u32,
}

fn or_default(ns: i64, default: Duration) -> Duration {
    if ns > 0 {
        Duration::from_nanos(ns as u64)
    } else {
        default
    }
}

impl Probe {
    /// The check a container with `config` runs, if any (`NONE`, no test,
    /// or a test type Docker does not know: none).
    pub fn from_config(config: &ContainerConfig) -> Option<Probe> {
        let h = config.healthcheck.as_ref()?;
        let test = h.test.as_deref()?;
        let (kind, rest) = test.split_first()?;
        let args = match kind.as_str() {
            "CMD" => rest.to_vec(),
            "CMD-SHELL" => {
                let shell = config
                    .shell
                    .clone()
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
                shell.into_iter().chain(rest.iter().cloned()).collect()
            }
            _ => return None,
        };
        if args.is_empty() {
            return None;
        }
        Some(Probe {
            args,
            interval: or_default(h.interval, DEFAULT_INTERVAL),
            timeout: or_default(h.timeout, DEFAULT_TIMEOUT),
            start_period: or_default(h.start_period, DEFAULT_START_PERIOD),
            retries: u32::try_from(h.retries)
                .ok()
                .filter(|r| *r > 0)
                .unwrap_or(DEFAULT_RETRIES),
        })
    }

    /// The action of the probe's `exec_create`/`exec_start` events:
    /// `exec_create: /bin/sh -c curl -f localhost` (Docker joins the
    /// entrypoint and the arguments with a space, even when there are none).
    pub fn exec_action(&self, what: &str) -> String {
        let (first, rest) = self.args.split_first().expect("a probe has a command");
        format!("{what}: {first} {}", rest.join(" "))
    }

    /// What a probe that outlived its timeout records as output.
    pub fn timeout_message(&self) -> String {
        format!(
            "Health check exceeded timeout ({})",
            go_duration(self.timeout.as_nanos().min(i64::MAX as u128) as i64)
        )
    }
}

/// Go's `time.Duration.String()`: `1h2m3.5s`, `2m0s`, `1.5s`, `500ms`, `0s`.
pub fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let u = ns.unsigned_abs();
    // `v` in units of 10^-prec, with the fraction's trailing zeros dropped.
    let frac = |v: u64, prec: u32| {
        let p = 10u64.pow(prec);
        let (int, fr) = (v / p, v % p);
        if fr == 0 {
            int.to_string()
        } else {
            let digits = format!("{fr:0width$}", width = prec as usize);
            format!("{int}.{}", digits.trim_end_matches('0'))
        }
    };
    if u < 1_000_000_000 {
        let (unit, prec) = match u {
            0..=999 => ("ns", 0),
            1_000..=999_999 => ("µs", 3),
            _ => ("ms", 6),
        };
        return format!("{sign}{}{unit}", frac(u, prec));
    }
    let secs = frac(u % 60_000_000_000, 9);
    let mins = u / 60_000_000_000;
    let (h, m) = (mins / 60, mins % 60);
    match (h, m) {
        (0, 0) => format!("{sign}{secs}s"),
        (0, m) => format!("{sign}{m}m{secs}s"),
        (h, m) => format!("{sign}{h}h{m}m{secs}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_oci::config::HealthConfig;

    fn config(test: &[&str], interval: i64, retries: i64) -> ContainerConfig {
        ContainerConfig {
            healthcheck: Some(HealthConfig {
                test: Some(test.iter().map(|s| s.to_string()).collect()),
                interval,
                retries,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn probes_read_like_docker() {
        let p = Probe::from_config(&config(&["CMD-SHELL", "echo ok"], 1_000_000_000, 0)).unwrap();
        assert_eq!(p.args, ["/bin/sh", "-c", "echo ok"]);
        assert_eq!(p.interval, Duration::from_secs(1));
        assert_eq!((p.timeout, p.retries), (DEFAULT_TIMEOUT, DEFAULT_RETRIES));
        assert_eq!(
            p.exec_action("exec_create"),
            "exec_create: /bin/sh -c echo ok"
        );
        assert_eq!(p.timeout_message(), "Health check exceeded timeout (30s)");
        let p = Probe::from_config(&config(&["CMD", "true"], 0, 2)).unwrap();
        assert_eq!(
            (p.args.as_slice(), p.retries),
            (&["true".to_string()][..], 2)
        );
        assert_eq!(p.exec_action("exec_start"), "exec_start: true ");
        let mut shell = config(&["CMD-SHELL", "x"], 0, 0);
        shell.shell = Some(vec!["/bin/bash".into(), "-ec".into()]);
        assert_eq!(
            Probe::from_config(&shell).unwrap().args,
            ["/bin/bash", "-ec", "x"]
        );
        assert!(Probe::from_config(&config(&["NONE"], 0, 0)).is_none());
        assert!(Probe::from_config(&config(&["CMD"], 0, 0)).is_none());
        assert!(Probe::from_config(&ContainerConfig::default()).is_none());
    }

    #[test]
    fn durations_print_like_go() {
        let cases = [
            (0, "0s"),
            (1, "1ns"),
            (1_500, "1.5µs"),
            (500_000_000, "500ms"),
            (1_000_000_000, "1s"),
            (1_500_000_000, "1.5s"),
            (90_000_000_000, "1m30s"),
            (120_000_000_000, "2m0s"),
            (3_600_000_000_000, "1h0m0s"),
            (3_723_500_000_000, "1h2m3.5s"),
        ];
        for (ns, want) in cases {
            assert_eq!(go_duration(ns), want, "{ns}");
        }
    }
}
