//! The flags of `run`/`create` as docker's CLI turns them into the Engine
//! API's `Config`, `HostConfig` and `NetworkingConfig` (docker 20.10's
//! `cli/command/container/opts.go`): client-side parsing and checks, with
//! docker's messages; what only the daemon can judge is left to the engine.

use std::collections::BTreeMap;
use std::path::PathBuf;

use wharf_engine::containers::CreateRequest;
use wharf_format::parse_size;
use wharf_model::{Config, HostConfig, RestartPolicy};
use wharf_network::ports::{parse_expose, parse_publish, to_port_map};

use crate::cli::RunArgs;
use crate::exit::fail;

/// Docker's client-side env handling: `--env-file` lines first, then `-e`;
/// a bare `NAME` takes the host's value, or is dropped when unset.
pub(crate) fn merged_env(files: &[PathBuf], env: &[String]) -> anyhow::Result<Vec<String>> {
    let mut lines = Vec::new();
    for f in files {
        lines.extend(crate::env_file::read(f).map_err(|e| fail(e.to_string()))?);
    }
    lines.extend(env.iter().cloned());
    let mut out = Vec::new();
    for l in lines {
        match l.split_once('=') {
            Some(("", _)) => return Err(fail(format!("invalid environment variable: {l}"))),
            Some(_) => out.push(l),
            None => {
                if let Ok(v) = std::env::var(&l) {
                    out.push(format!("{l}={v}"));
                }
            }
        }
    }
    Ok(out)
}

/// docker's message for a flag value pflag could not take.
fn bad_flag(value: &str, flag: &str, why: impl std::fmt::Display) -> anyhow::Error {
    fail(format!(
        "invalid argument \"{value}\" for \"{flag}\" flag: {why}"
    ))
}

/// `--memory`-style sizes, with docker's message for a bad one.
pub(crate) fn size_flag(value: &Option<String>, flag: &str) -> anyhow::Result<i64> {
    match value {
        Some(m) => parse_size(m).map_err(|e| bad_flag(m, flag, e)),
        None => Ok(0),
    }
}

/// `--memory-swap`: a size, or -1 for unlimited swap.
pub(crate) fn memory_swap_flag(value: &Option<String>) -> anyhow::Result<i64> {
    match value.as_deref() {
        Some("-1") => Ok(-1),
        _ => size_flag(value, "--memory-swap"),
    }
}

/// Each value of a repeated flag through `parse`.
fn parse_all<T>(
    values: &[String],
    parse: impl Fn(&str) -> anyhow::Result<T>,
) -> anyhow::Result<Vec<T>> {
    values.iter().map(|v| parse(v)).collect()
}

fn some_if<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

/// `--security-opt` split as docker's CLI does (`parseSystemPaths`):
/// `systempaths=unconfined` is no option for the daemon but empty masked
/// and read-only path lists; every other option goes on as given.
struct SystemPaths {
    security_opt: Option<Vec<String>>,
    masked_paths: Option<Vec<String>>,
}

fn system_paths(opts: &[String]) -> SystemPaths {
    let unconfined = opts.iter().any(|o| o == "systempaths=unconfined");
    let rest: Vec<String> = opts
        .iter()
        .filter(|o| *o != "systempaths=unconfined")
        .cloned()
        .collect();
    SystemPaths {
        // docker's filtered slice stays non-nil: `[]` in inspect.
        security_opt: (!opts.is_empty()).then_some(rest),
        masked_paths: unconfined.then(Vec::new),
    }
}

/// `--label-file` lines then `-l` values (docker's `ReadKVStrings`): a
/// file's bare names are dropped, a flag's get an empty value.
fn labels(a: &RunArgs) -> anyhow::Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for f in &a.label_file {
        for line in crate::env_file::read(f).map_err(|e| fail(e.to_string()))? {
            if let Some((k, v)) = line.split_once('=') {
                out.insert(k.to_string(), v.to_string());
            }
        }
    }
    for l in &a.label {
        if l.starts_with('=') {
            return Err(bad_flag(
                l,
                "-l, --label",
                format!("invalid label '{l}': empty name"),
            ));
        }
        let (k, v) = l.split_once('=').unwrap_or((l, ""));
        out.insert(k.to_string(), v.to_string());
    }
    Ok(out)
}

/// `--blkio-weight-device path:weight` (docker's `ValidateWeightDevice`).
fn weight_device(v: &str) -> anyhow::Result<wharf_model::WeightDevice> {
    let flag = "--blkio-weight-device";
    let (path, weight) = device_and_value(v, flag)?;
    let weight: u16 = weight
        .parse()
        .ok()
        .filter(|w| *w == 0 || (10..=1000).contains(w))
        .ok_or_else(|| bad_flag(v, flag, format!("invalid weight for device: {v}")))?;
    Ok(wharf_model::WeightDevice {
        path: path.to_string(),
        weight,
    })
}

/// `--device-read-bps path:rate` and the other throttles (docker's
/// `ValidateThrottleBpsDevice`/`ValidateThrottleIOpsDevice`): bytes take
/// units (`1mb`), operations a plain number.
fn throttle(v: &str, flag: &str, bytes: bool) -> anyhow::Result<wharf_model::ThrottleDevice> {
    let (path, rate) = device_and_value(v, flag)?;
    let rate = if bytes {
        parse_size(rate).ok().and_then(|r| u64::try_from(r).ok())
    } else {
        rate.parse().ok()
    };
    let rate = rate.ok_or_else(|| {
        let unit = if bytes {
            "[<unit>]. Number must be a positive integer. Unit is optional and can be kb, mb, or gb"
        } else {
            ". Number must be a positive integer"
        };
        bad_flag(
            v,
            flag,
            format!(
                "invalid rate for device: {v}. The correct format is <device-path>:<number>{unit}"
            ),
        )
    })?;
    Ok(wharf_model::ThrottleDevice {
        path: path.to_string(),
        rate,
    })
}

/// `/dev/...:value`, split, with docker's messages.
fn device_and_value<'a>(v: &'a str, flag: &str) -> anyhow::Result<(&'a str, &'a str)> {
    let (path, value) = v
        .split_once(':')
        .ok_or_else(|| bad_flag(v, flag, format!("bad format: {v}")))?;
    if !path.starts_with("/dev/") {
        return Err(bad_flag(
            v,
            flag,
            format!("bad format for device path: {v}"),
        ));
    }
    Ok((path, value))
}

/// Docker's `validDeviceMode`: some of `r`, `w`, `m`, each at most once.
fn device_mode(mode: &str) -> bool {
    !mode.is_empty()
        && mode.chars().all(|c| "rwm".contains(c))
        && mode.chars().collect::<std::collections::HashSet<_>>().len() == mode.len()
}

/// `--device host[:container][:permissions]` (docker's `ValidateDevice`
/// then `parseDevice`).
fn device(v: &str) -> anyhow::Result<wharf_model::DeviceMapping> {
    // Checked after the flags are read: docker's message has no flag in it.
    let bad = |why: String| fail(why);
    let parts: Vec<&str> = v.split(':').collect();
    if parts.len() > 3 || parts[0].is_empty() {
        return Err(bad(format!("bad format for path: {v}")));
    }
    let (host, container, mode) = match parts[..] {
        [h] => (h, h, "rwm"),
        [h, m] if device_mode(m) => (h, h, m),
        [h, c] => (h, c, "rwm"),
        [h, c, m] => {
            if !device_mode(m) {
                return Err(bad(format!("bad mode specified: {m}")));
            }
            (h, c, m)
        }
        _ => return Err(bad(format!("bad format for path: {v}"))),
    };
    if !container.starts_with('/') {
        return Err(bad(format!("{container} is not an absolute path")));
    }
    Ok(wharf_model::DeviceMapping {
        path_on_host: host.to_string(),
        path_in_container: container.to_string(),
        cgroup_permissions: mode.to_string(),
    })
}

/// `--device-cgroup-rule` (docker's `ValidateDeviceCgroupRule`:
/// `^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$`).
fn device_cgroup_rule(v: &str) -> anyhow::Result<String> {
    let number = |n: &str| n == "*" || (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()));
    let ok = match v.split(' ').collect::<Vec<_>>()[..] {
        [t, numbers, access] => {
            ["a", "b", "c"].contains(&t)
                && numbers
                    .split_once(':')
                    .is_some_and(|(a, b)| number(a) && number(b))
                && (1..=3).contains(&access.len())
                && access.chars().all(|c| "rwm".contains(c))
        }
        _ => false,
    };
    if !ok {
        return Err(bad_flag(
            v,
            "--device-cgroup-rule",
            format!("invalid device cgroup format '{v}'"),
        ));
    }
    Ok(v.to_string())
}

/// `--sysctl key=value` (docker's `ValidateSysctl`): the IPC namespace's
/// `kernel.*` keys, `fs.mqueue.*` and `net.*`.
fn sysctl(v: &str) -> anyhow::Result<(String, String)> {
    let allowed = v
        .split_once('=')
        .is_some_and(|(k, _)| wharf_runtime::spec::sysctl_allowed(k));
    if !allowed {
        return Err(bad_flag(
            v,
            "--sysctl",
            format!("sysctl '{v}' is not whitelisted"),
        ));
    }
    let (k, val) = v.split_once('=').unwrap_or((v, ""));
    Ok((k.to_string(), val.to_string()))
}

/// `--pid`, `--uts`, `--userns`, `--cgroupns` as docker's CLI checks them.
fn namespace_modes(a: &RunArgs) -> anyhow::Result<()> {
    use wharf_model::modes::*;
    let checks: [(&Option<String>, ModeCheck, &str); 4] = [
        (&a.pid, valid_pid_mode, "--pid: invalid PID mode"),
        (&a.uts, valid_uts_mode, "--uts: invalid UTS mode"),
        (&a.userns, valid_userns_mode, "--userns: invalid USER mode"),
        (
            &a.cgroupns,
            valid_cgroupns_mode,
            "--cgroupns: invalid CGROUP mode",
        ),
    ];
    for (value, valid, message) in checks {
        if value.as_deref().is_some_and(|v| !valid(v)) {
            return Err(fail(message));
        }
    }
    Ok(())
}

/// `--ulimit` values, checked as docker's CLI checks them.
pub(crate) fn ulimits(values: &[String]) -> anyhow::Result<Vec<wharf_model::Ulimit>> {
    parse_all(values, |u| {
        let parsed = wharf_runtime::spec::parse_ulimit(u).map_err(|e| fail(e.to_string()))?;
        Ok(wharf_model::Ulimit {
            name: parsed.resource.name().to_string(),
            soft: parsed.soft,
            hard: parsed.hard,
        })
    })
}

/// The cgroup limits of `run`/`create` (docker's `container.Resources`).
fn resources(a: &RunArgs) -> anyhow::Result<wharf_model::Resources> {
    let throttles = |values: &[String], flag: &str, bytes: bool| {
        anyhow::Ok(some_if(parse_all(values, |v| throttle(v, flag, bytes))?))
    };
    let memory_swap = memory_swap_flag(&a.memory_swap)?;
    Ok(wharf_model::Resources {
        cpu_shares: a.cpu_shares.unwrap_or(0),
        memory: size_flag(&a.memory, "-m, --memory")?,
        nano_cpus: a.cpus.map(|c| (c * 1e9) as i64).unwrap_or(0),
        cgroup_parent: a.cgroup_parent.clone().unwrap_or_default(),
        blkio_weight: a.blkio_weight.unwrap_or(0),
        blkio_weight_device: Some(parse_all(&a.blkio_weight_device, weight_device)?),
        blkio_device_read_bps: throttles(&a.device_read_bps, "--device-read-bps", true)?,
        blkio_device_write_bps: throttles(&a.device_write_bps, "--device-write-bps", true)?,
        blkio_device_read_iops: throttles(&a.device_read_iops, "--device-read-iops", false)?,
        blkio_device_write_iops: throttles(&a.device_write_iops, "--device-write-iops", false)?,
        cpu_period: a.cpu_period.unwrap_or(0),
        cpu_quota: a.cpu_quota.unwrap_or(0),
        cpu_realtime_period: a.cpu_rt_period.unwrap_or(0),
        cpu_realtime_runtime: a.cpu_rt_runtime.unwrap_or(0),
        cpuset_cpus: a.cpuset_cpus.clone().unwrap_or_default(),
        cpuset_mems: a.cpuset_mems.clone().unwrap_or_default(),
        devices: Some(parse_all(&a.device, device)?),
        device_cgroup_rules: some_if(parse_all(&a.device_cgroup_rule, device_cgroup_rule)?),
        kernel_memory: size_flag(&a.kernel_memory, "--kernel-memory")?,
        memory_reservation: size_flag(&a.memory_reservation, "--memory-reservation")?,
        memory_swap,
        memory_swappiness: a.memory_swappiness,
        oom_kill_disable: Some(a.oom_kill_disable),
        pids_limit: a.pids_limit,
        ..HostConfig::default().resources
    })
}

/// A Go duration flag (`--health-interval 1m30s`) in nanoseconds.
fn duration_flag(value: &Option<String>, flag: &str) -> anyhow::Result<i64> {
    let Some(v) = value else { return Ok(0) };
    let nanos = wharf_dockerfile::parse_go_duration(v).map_err(|e| bad_flag(v, flag, e))?;
    i64::try_from(nanos).map_err(|_| bad_flag(v, flag, format!("time: invalid duration {v:?}")))
}

/// `--health-*` and `--no-healthcheck` as `Config.Healthcheck` (docker's
/// CLI: the daemon fills what is left from the image's HEALTHCHECK).
fn healthcheck(a: &RunArgs) -> anyhow::Result<Option<wharf_model::HealthConfig>> {
    let interval = duration_flag(&a.health_interval, "--health-interval")?;
    let timeout = duration_flag(&a.health_timeout, "--health-timeout")?;
    let start_period = duration_flag(&a.health_start_period, "--health-start-period")?;
    let retries = a.health_retries.unwrap_or(0);
    let cmd = a.health_cmd.clone().unwrap_or_default();
    let any = !cmd.is_empty() || interval != 0 || timeout != 0 || start_period != 0 || retries != 0;
    if a.no_healthcheck {
        if any {
            return Err(fail("--no-healthcheck conflicts with --health-* options"));
        }
        return Ok(Some(wharf_model::HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        }));
    }
    if !any {
        return Ok(None);
    }
    for (value, flag) in [
        (interval, "--health-interval"),
        (timeout, "--health-timeout"),
        (retries, "--health-retries"),
        (start_period, "--health-start-period"),
    ] {
        if value < 0 {
            return Err(fail(format!("{flag} cannot be negative")));
        }
    }
    Ok(Some(wharf_model::HealthConfig {
        test: (!cmd.is_empty()).then(|| vec!["CMD-SHELL".into(), cmd]),
        interval,
        timeout,
        start_period,
        retries,
        ..Default::default()
    }))
}

/// `--gpus` (docker's `GpuOpts.Set`): `all`, a count, or
/// `driver=,count=,device=,capabilities=,options=` pairs.
fn gpu_request(value: &str) -> anyhow::Result<wharf_model::DeviceRequest> {
    let bad = |why: String| bad_flag(value, "--gpus", why);
    let count = |s: &str| -> anyhow::Result<i64> {
        if s == "all" {
            return Ok(-1);
        }
        s.parse().map_err(|_| {
            bad(format!(
                "count must be an integer: strconv.Atoi: parsing \"{s}\": invalid syntax"
            ))
        })
    };
    let mut req = wharf_model::DeviceRequest::default();
    let mut seen: Vec<&str> = Vec::new();
    let fields = split_csv(value);
    for field in &fields {
        let (key, val) = match field.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (field.as_str(), None),
        };
        if seen.contains(&key) {
            return Err(bad(format!(
                "gpu request key '{key}' can be specified only once"
            )));
        }
        seen.push(key);
        let Some(val) = val else {
            seen.push("count");
            req.count = count(key)?;
            continue;
        };
        match key {
            "driver" => req.driver = val.to_string(),
            "count" => req.count = count(val)?,
            "device" => req.device_ids = Some(val.split(',').map(str::to_string).collect()),
            "capabilities" => {
                let mut caps: Vec<String> = val.split(',').map(str::to_string).collect();
                caps.push("gpu".into());
                req.capabilities = Some(vec![caps]);
            }
            "options" => {
                req.options = Some(
                    split_csv(val)
                        .into_iter()
                        .map(|o| match o.split_once('=') {
                            Some((k, v)) => (k.to_string(), v.to_string()),
                            None => (o, String::new()),
                        })
                        .collect(),
                )
            }
            _ => return Err(bad(format!("unexpected key '{key}' in '{field}'"))),
        }
    }
    if !seen.contains(&"count") && req.device_ids.is_none() {
        req.count = 1;
    }
    req.options.get_or_insert_with(BTreeMap::new);
    req.capabilities
        .get_or_insert_with(|| vec![vec!["gpu".to_string()]]);
    Ok(req)
}

/// One CSV record (Go's `encoding/csv` for the simple cases docker's
/// flags see: commas, double-quoted fields with `""` escapes).
fn split_csv(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    out.push(field);
    out
}

/// The flags of `run`/`create` as docker's CLI turns them into the
/// Engine API's `Config`, `HostConfig` and `NetworkingConfig`.
pub(crate) fn create_request(a: &RunArgs) -> anyhow::Result<CreateRequest> {
    let restart = RestartPolicy::parse(&a.restart).map_err(|e| fail(e.to_string()))?;
    if a.rm && restart != RestartPolicy::No {
        return Err(fail("Conflicting options: --restart and --rm"));
    }
    let mut mounts = Vec::new();
    for m in &a.mount {
        mounts.push(crate::mount_flag::parse_mount_flag(m).map_err(|e| bad_flag(m, "--mount", e))?);
    }
    if a.network.as_deref() == Some("host") && (!a.publish.is_empty() || a.publish_all) {
        eprintln!("WARNING: Published ports are discarded when using host network mode");
    }
    let mut exposed = BTreeMap::new();
    for e in &a.expose {
        for (port, proto) in parse_expose(e).map_err(|e| fail(e.to_string()))? {
            exposed.insert(format!("{port}/{proto}"), Default::default());
        }
    }
    let mut bindings = Vec::new();
    for p in &a.publish {
        let b = parse_publish(p).map_err(|e| fail(e.to_string()))?;
        for x in &b {
            exposed.insert(
                format!("{}/{}", x.container_port, x.proto),
                Default::default(),
            );
        }
        bindings.extend(b);
    }
    let ulimits = ulimits(&a.ulimit)?;
    let mut storage_opt = BTreeMap::new();
    for o in &a.storage_opt {
        match o.split_once('=') {
            Some((k, v)) => storage_opt.insert(k.to_string(), v.to_string()),
            None => {
                return Err(fail(format!(
                    "invalid storage option {o}: must be in the form key=value"
                )))
            }
        };
    }
    let device_requests = a
        .gpus
        .iter()
        .map(|g| gpu_request(g))
        .collect::<anyhow::Result<Vec<_>>>()?;
    namespace_modes(a)?;
    if let Some(m) = &a.mac_address {
        if wharf_network::config::parse_mac(m).is_none() {
            return Err(fail(format!("{m} is not a valid mac address")));
        }
    }
    let log_driver = a.log_driver.clone().unwrap_or_default();
    if log_driver == "none" && !a.log_opt.is_empty() {
        return Err(fail("invalid logging opts for driver none"));
    }
    let log_opts: BTreeMap<String, String> = a
        .log_opt
        .iter()
        .map(|o| {
            let (k, v) = o.split_once('=').unwrap_or((o, ""));
            (k.to_string(), v.to_string())
        })
        .collect();
    let sysctls: BTreeMap<String, String> = parse_all(&a.sysctl, sysctl)?.into_iter().collect();
    // `-a`: only the streams named (stdin too with -i); without it,
    // stdout and stderr. Detached, none.
    let mut streams = [false; 3];
    for s in &a.attach {
        let i = ["stdin", "stdout", "stderr"]
            .iter()
            .position(|n| n.eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                bad_flag(
                    s,
                    "-a, --attach",
                    "valid streams are STDIN, STDOUT and STDERR",
                )
            })?;
        streams[i] = true;
    }
    if a.attach.is_empty() {
        streams[1] = true;
        streams[2] = true;
    }
    streams[0] |= a.interactive;
    let attached = !a.detach;
    let config = Config {
        hostname: a.hostname.clone().unwrap_or_default(),
        domainname: a.domainname.clone().unwrap_or_default(),
        user: a.user.clone().unwrap_or_default(),
        attach_stdin: attached && streams[0],
        attach_stdout: attached && streams[1],
        attach_stderr: attached && streams[2],
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        tty: a.tty,
        open_stdin: a.interactive,
        stdin_once: attached && a.interactive,
        env: merged_env(&a.env_file, &a.env)?,
        cmd: (!a.command.is_empty()).then(|| a.command.clone()),
        healthcheck: healthcheck(a)?,
        image: a.image.clone(),
        working_dir: a.workdir.clone().unwrap_or_default(),
        // docker's CLI: one word, or [""] for `--entrypoint ""`.
        entrypoint: a.entrypoint.clone().map(|e| vec![e]),
        labels: Some(labels(a)?),
        stop_signal: a.stop_signal.clone().unwrap_or_default(),
        stop_timeout: a.stop_timeout,
        mac_address: a.mac_address.clone().unwrap_or_default(),
        ..Default::default()
    };
    let defaults = HostConfig::default();
    let system_paths = system_paths(&a.security_opt);
    let host_config = HostConfig {
        binds: some_if(a.volume.clone()),
        container_id_file: a
            .cidfile
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        log_config: wharf_model::LogConfig {
            // The daemon's default (json-file) when empty.
            kind: log_driver,
            config: log_opts,
        },
        network_mode: a.network.clone().unwrap_or_else(|| "default".into()),
        port_bindings: Some(to_port_map(&bindings)),
        restart_policy: restart,
        auto_remove: a.rm,
        volume_driver: a.volume_driver.clone().unwrap_or_default(),
        volumes_from: some_if(a.volumes_from.clone()),
        cap_add: some_if(a.cap_add.clone()),
        cap_drop: some_if(a.cap_drop.clone()),
        dns: Some(a.dns.clone()),
        dns_options: Some(a.dns_option.clone()),
        dns_search: Some(a.dns_search.clone()),
        extra_hosts: some_if(a.add_host.clone()),
        links: some_if(a.link.clone()),
        privileged: a.privileged,
        publish_all_ports: a.publish_all,
        readonly_rootfs: a.read_only,
        security_opt: system_paths.security_opt,
        masked_paths: system_paths.masked_paths.clone(),
        readonly_paths: system_paths.masked_paths,
        storage_opt: (!storage_opt.is_empty()).then_some(storage_opt),
        tmpfs: (!a.tmpfs.is_empty()).then(|| {
            a.tmpfs
                .iter()
                .map(|t| {
                    let (d, o) = t.split_once(':').unwrap_or((t, ""));
                    (d.to_string(), o.to_string())
                })
                .collect()
        }),
        runtime: a.runtime.clone().unwrap_or_default(),
        isolation: a.isolation.clone().unwrap_or_default(),
        oom_score_adj: a.oom_score_adj.unwrap_or(0),
        pid_mode: a.pid.clone().unwrap_or_default(),
        ipc_mode: a.ipc.clone().unwrap_or_default(),
        uts_mode: a.uts.clone().unwrap_or_default(),
        userns_mode: a.userns.clone().unwrap_or_default(),
        cgroupns_mode: a.cgroupns.clone().unwrap_or_default(),
        shm_size: size_flag(&a.shm_size, "--shm-size")?,
        sysctls: (!sysctls.is_empty()).then_some(sysctls),
        group_add: some_if(a.group_add.clone()),
        resources: wharf_model::Resources {
            ulimits: some_if(ulimits),
            device_requests: some_if(device_requests),
            ..resources(a)?
        },
        mounts: some_if(mounts),
        init: a.init.then_some(true),
        ..defaults
    };
    let mut networking_config = wharf_model::NetworkingConfig::default();
    let ipam = a.ip.is_some() || a.ip6.is_some() || !a.link_local_ip.is_empty();
    // docker's CLI: links are the endpoint's on a user-defined network.
    let user_defined = !matches!(
        host_config.network_mode.as_str(),
        "default" | "bridge" | "host" | "none"
    ) && !host_config.network_mode.starts_with("container:");
    let links = (user_defined && !a.link.is_empty()).then(|| a.link.clone());
    if !a.network_alias.is_empty() || ipam || links.is_some() {
        networking_config.endpoints_config.insert(
            host_config.network_mode.clone(),
            wharf_model::EndpointSettings {
                aliases: some_if(a.network_alias.clone()),
                links,
                ipam_config: ipam.then(|| wharf_model::EndpointIpamConfig {
                    ipv4_address: a.ip.clone().unwrap_or_default(),
                    ipv6_address: a.ip6.clone().unwrap_or_default(),
                    link_local_ips: some_if(a.link_local_ip.clone()),
                }),
                ..Default::default()
            },
        );
    }
    Ok(CreateRequest {
        name: a.name.clone(),
        config,
        host_config,
        networking_config,
    })
}

/// `--cidfile`: docker's CLI refuses a file that is already there (another
/// container may own it), before creating anything.
pub(crate) fn check_cidfile(a: &RunArgs) -> anyhow::Result<()> {
    match &a.cidfile {
        Some(p) if p.exists() => Err(fail(format!(
            "container ID file found, make sure the other container isn't running or delete {}",
            p.display()
        ))),
        _ => Ok(()),
    }
}

/// Write the new container's ID to `--cidfile`.
pub(crate) fn write_cidfile(a: &RunArgs, id: &str) -> anyhow::Result<()> {
    if let Some(p) = &a.cidfile {
        std::fs::write(p, id)
            .map_err(|e| fail(format!("failed to create the container ID file: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gpu_requests_parse_like_dockers() {
        let all = gpu_request("all").unwrap();
        assert_eq!(all.count, -1);
        assert_eq!(all.capabilities, Some(vec![vec!["gpu".to_string()]]));
        assert_eq!(all.options, Some(BTreeMap::new()));
        let devs = gpu_request("\"device=0,1\",driver=nvidia").unwrap();
        assert_eq!(devs.count, 0);
        assert_eq!(devs.device_ids, Some(vec!["0".to_string(), "1".into()]));
        assert_eq!(devs.driver, "nvidia");
        assert_eq!(gpu_request("count=2").unwrap().count, 2);
        assert_eq!(gpu_request("driver=x").unwrap().count, 1);
        assert!(gpu_request("2,count=3").is_err());
        assert!(gpu_request("foo=1").is_err());
    }
}
