//! cgroup limits (`linux.resources`): memory and swap, CPU shares, CFS
//! and real-time periods, cpusets, pids, block I/O weights and throttles,
//! devices. What a container asks for is docker's `Resources` (the
//! record's); [`verify_resources`] is moby's `verifyPlatformContainerResources`
//! at create (limits this host cannot apply are dropped with docker's
//! warnings, bad values refused with its messages), and the spec is moby's
//! `getMemoryResources`, `getCPUResources` and `getBlkio*` output.

use std::collections::BTreeSet;

use oci_spec::runtime::{
    LinuxBlockIo, LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxDeviceCgroup, LinuxMemory,
    LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources, LinuxResourcesBuilder,
    LinuxThrottleDevice, LinuxThrottleDeviceBuilder, LinuxWeightDeviceBuilder,
};
use wharf_model::{list, Resources, ThrottleDevice};

use super::devices::{cgroup_rule, device_rules};
use super::host::{CgroupLayout, HostInfo};
use super::options::RunOptions;
use super::SpecError;
use crate::error::go_errno;

/// Docker's floor for `--memory` and `--memory-reservation`: 6 MiB.
pub const MIN_MEMORY: i64 = 6 * 1024 * 1024;
/// The CFS period `--cpus` uses: 100 ms.
pub const CPU_PERIOD: u64 = 100_000;

/// Check `r` as docker's daemon does at create, dropping what this host's
/// cgroups cannot apply; docker's warnings for what was dropped.
pub fn verify_resources(r: &mut Resources, host: &HostInfo) -> Result<Vec<String>, SpecError> {
    let mut warnings = Vec::new();
    let mut warn = |w: &str| warnings.push(w.to_string());
    let v1 = host.cgroup != CgroupLayout::V2;
    // `--memory-swappiness -1` is docker's "unset".
    if r.memory_swappiness == Some(-1) {
        r.memory_swappiness = None;
    }
    if r.memory != 0 && r.memory < MIN_MEMORY {
        return Err(SpecError::invalid("Minimum memory limit allowed is 6MB"));
    }
    if r.memory > 0 && r.memory_swap != -1 && !host.swap_limit {
        warn("Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.");
        r.memory_swap = -1;
    }
    if r.memory > 0 && r.memory_swap == 0 {
        // Docker's default, recorded: as much swap as memory.
        r.memory_swap = r.memory.saturating_mul(2);
    }
    if r.memory_swappiness.is_some() && !(v1 && host.cgroup_has("memory", "memory.swappiness")) {
        warn("Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.");
        r.memory_swappiness = None;
    }
    if r.memory_reservation > 0 && !host.cgroup_has("memory", "memory.soft_limit_in_bytes") {
        warn("Your kernel does not support memory soft limit capabilities or the cgroup is not mounted. Limitation discarded.");
        r.memory_reservation = 0;
    }
    if r.oom_kill_disable == Some(true) && !(v1 && host.cgroup_has("memory", "memory.oom_control"))
    {
        warn("Your kernel does not support OomKillDisable. OomKillDisable discarded.");
        r.oom_kill_disable = Some(false);
    }
    if r.oom_kill_disable == Some(true) && r.memory == 0 {
        warn("OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.");
    }
    if r.cpu_shares > 0 && !host.cgroup_has("cpu", "cpu.shares") {
        warn("Your kernel does not support CPU shares or the cgroup is not mounted. Shares discarded.");
        r.cpu_shares = 0;
    }
    if (r.cpu_period != 0 || r.cpu_quota != 0) && !host.cgroup_has("cpu", "cpu.cfs_quota_us") {
        warn("Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.");
        r.cpu_period = 0;
        r.cpu_quota = 0;
    }
    if r.cpu_percent > 0 {
        warn("linux does not support CPU percent. Percent discarded.");
        r.cpu_percent = 0;
    }
    if (!r.cpuset_cpus.is_empty() || !r.cpuset_mems.is_empty())
        && !host.cgroup_has("cpuset", "cpuset.cpus")
    {
        warn("Your kernel does not support cpuset or the cgroup is not mounted. Cpuset discarded.");
        r.cpuset_cpus.clear();
        r.cpuset_mems.clear();
    }
    if r.blkio_weight > 0 && !host.cgroup_has("blkio", "blkio.weight") {
        warn("Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.");
        r.blkio_weight = 0;
    }
    if !list(&r.blkio_weight_device).is_empty() && !host.cgroup_has("blkio", "blkio.weight_device")
    {
        warn("Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.");
        r.blkio_weight_device = Some(Vec::new());
    }
    for (devices, file, what) in [
        (
            &mut r.blkio_device_read_bps,
            "blkio.throttle.read_bps_device",
            "BPS Block I/O read limit or the cgroup is not mounted. Block I/O BPS read limit",
        ),
        (
            &mut r.blkio_device_write_bps,
            "blkio.throttle.write_bps_device",
            "BPS Block I/O write limit or the cgroup is not mounted. Block I/O BPS write limit",
        ),
        (
            &mut r.blkio_device_read_iops,
            "blkio.throttle.read_iops_device",
            "IOPS Block I/O read limit or the cgroup is not mounted. Block I/O IOPS read limit",
        ),
        (
            &mut r.blkio_device_write_iops,
            "blkio.throttle.write_iops_device",
            "IOPS Block I/O write limit or the cgroup is not mounted. Block I/O IOPS write limit",
        ),
    ] {
        if !list(devices).is_empty() && !host.cgroup_has("blkio", file) {
            warn(&format!("Your kernel does not support {what} discarded."));
            *devices = Some(Vec::new());
        }
    }
    check_resources(r, host)?;
    Ok(warnings)
}

/// Docker's refusals of values no host takes (the spec builder checks
/// them again: a build step's limits never went through create).
pub(crate) fn check_resources(r: &Resources, host: &HostInfo) -> Result<(), SpecError> {
    let fail = |m: &str| Err(SpecError::invalid(m));
    if r.memory != 0 && r.memory < MIN_MEMORY {
        return fail("Minimum memory limit allowed is 6MB");
    }
    if r.memory > 0 && r.memory_swap > 0 && r.memory_swap < r.memory {
        return fail("Minimum memoryswap limit should be larger than memory limit, see usage");
    }
    if r.memory == 0 && r.memory_swap > 0 {
        return fail(
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        );
    }
    if let Some(s) = r.memory_swappiness.filter(|s| *s != -1) {
        if !(0..=100).contains(&s) {
            return Err(SpecError::invalid(format!(
                "invalid value: {s}. Valid memory swappiness range is 0-100"
            )));
        }
    }
    if r.memory_reservation > 0 && r.memory_reservation < MIN_MEMORY {
        return fail("Minimum memory reservation allowed is 6MB");
    }
    if r.memory > 0 && r.memory_reservation > 0 && r.memory < r.memory_reservation {
        return fail(
            "Minimum memory limit can not be less than memory reservation limit, see usage",
        );
    }
    if r.nano_cpus > 0 && r.cpu_period > 0 {
        return fail("Conflicting options: Nano CPUs and CPU Period cannot both be set");
    }
    if r.nano_cpus > 0 && r.cpu_quota > 0 {
        return fail("Conflicting options: Nano CPUs and CPU Quota cannot both be set");
    }
    let max = host.ncpu as i64 * 1_000_000_000;
    if !(0..=max).contains(&r.nano_cpus) {
        return Err(SpecError::invalid(format!(
            "Range of CPUs is from 0.01 to {n}.00, as there are only {n} CPUs available",
            n = host.ncpu
        )));
    }
    if r.cpu_period != 0 && !(1000..=1_000_000).contains(&r.cpu_period) {
        return fail(
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)",
        );
    }
    if r.cpu_quota > 0 && r.cpu_quota < 1000 {
        return fail("CPU cfs quota can not be less than 1ms (i.e. 1000)");
    }
    if r.cpu_shares < 0 {
        return fail("shares: invalid argument");
    }
    if r.cpu_realtime_period > 0 || r.cpu_realtime_runtime > 0 {
        let supported =
            host.cgroup != CgroupLayout::V2 && host.cgroup_has("cpu", "cpu.rt_period_us");
        if !supported {
            let which = if r.cpu_realtime_period > 0 {
                "period"
            } else {
                "runtime"
            };
            return Err(SpecError::invalid(format!(
                "Your kernel does not support cgroup cpu real-time {which}"
            )));
        }
        if r.cpu_realtime_period != 0 && r.cpu_realtime_runtime > r.cpu_realtime_period {
            return fail("cpu-rt-runtime cannot be higher than cpu-rt-period");
        }
    }
    cpuset_available(&r.cpuset_cpus, "cpus", "CPUs", || host.cpuset("cpus"))?;
    cpuset_available(&r.cpuset_mems, "mems", "memory nodes", || {
        host.cpuset("mems")
    })?;
    if r.blkio_weight > 0 && !(10..=1000).contains(&r.blkio_weight) {
        return fail("Range of blkio weight is from 10 to 1000");
    }
    if r.io_maximum_bandwidth != 0 || r.io_maximum_iops != 0 {
        return fail(
            "Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps",
        );
    }
    Ok(())
}

/// `--cpuset-cpus`/`--cpuset-mems` against what this host has (its root
/// cpuset, read only when asked).
fn cpuset_available(
    requested: &str,
    kind: &str,
    what: &str,
    available: impl FnOnce() -> String,
) -> Result<(), SpecError> {
    if requested.is_empty() {
        return Ok(());
    }
    let wanted = parse_list(requested).ok_or_else(|| {
        SpecError::invalid(format!(
            "Invalid value {requested} for cpuset {kind}: invalid format: {requested}"
        ))
    })?;
    let available = available();
    let have = parse_list(&available).unwrap_or_default();
    if !wanted.is_subset(&have) {
        return Err(SpecError::invalid(format!(
            "Requested {what} are not available - requested {requested}, available: {available}"
        )));
    }
    Ok(())
}

/// A kernel list (`0-3,5`): docker's `parsers.ParseUintList`.
pub(crate) fn parse_list(s: &str) -> Option<BTreeSet<u32>> {
    let mut out = BTreeSet::new();
    if s.is_empty() {
        return Some(out);
    }
    for part in s.split(',') {
        match part.split_once('-') {
            None => {
                out.insert(part.parse().ok()?);
            }
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                if b < a {
                    return None;
                }
                out.extend(a..=b);
            }
        }
    }
    Some(out)
}

/// `linux.resources`; `device_rules`: the rules of `--device` nodes, after
/// docker's defaults (then `--device-cgroup-rule`).
pub(crate) fn build_resources(
    opts: &RunOptions,
    host: &HostInfo,
    device_rules_of_nodes: Vec<LinuxDeviceCgroup>,
) -> Result<LinuxResources, SpecError> {
    let r = &opts.resources;
    check_resources(r, host)?;
    let mut rules = device_rules(opts.privileged)?;
    if !opts.privileged {
        rules.extend(device_rules_of_nodes);
        for text in list(&r.device_cgroup_rules) {
            rules.push(cgroup_rule(text)?);
        }
    }
    let mut resources = LinuxResourcesBuilder::default().devices(rules);
    if let Some(memory) = memory(r, host)? {
        resources = resources.memory(memory);
    }
    let mut cpu = LinuxCpuBuilder::default();
    let mut any_cpu = false;
    if r.nano_cpus > 0 {
        cpu = cpu
            .period(CPU_PERIOD)
            .quota(r.nano_cpus * CPU_PERIOD as i64 / 1_000_000_000);
        any_cpu = true;
    }
    if r.cpu_shares > 0 {
        cpu = cpu.shares(r.cpu_shares as u64);
        any_cpu = true;
    }
    if r.cpu_period > 0 {
        cpu = cpu.period(r.cpu_period as u64);
        any_cpu = true;
    }
    if r.cpu_quota != 0 {
        cpu = cpu.quota(r.cpu_quota);
        any_cpu = true;
    }
    if r.cpu_realtime_period > 0 {
        cpu = cpu.realtime_period(r.cpu_realtime_period as u64);
        any_cpu = true;
    }
    if r.cpu_realtime_runtime != 0 {
        cpu = cpu.realtime_runtime(r.cpu_realtime_runtime);
        any_cpu = true;
    }
    if !r.cpuset_cpus.is_empty() {
        cpu = cpu.cpus(r.cpuset_cpus.clone());
        any_cpu = true;
    }
    if !r.cpuset_mems.is_empty() {
        cpu = cpu.mems(r.cpuset_mems.clone());
        any_cpu = true;
    }
    if any_cpu {
        resources = resources.cpu(cpu.build()?);
    }
    if let Some(limit) = r.pids_limit.filter(|&l| l > 0) {
        resources = resources.pids(LinuxPidsBuilder::default().limit(limit).build()?);
    }
    if let Some(io) = block_io(r)? {
        resources = resources.block_io(io);
    }
    Ok(resources.build()?)
}

fn memory(r: &Resources, host: &HostInfo) -> Result<Option<LinuxMemory>, SpecError> {
    let memory = r.memory;
    let mut swap = r.memory_swap;
    if memory > 0 && swap == 0 {
        // Docker's default: as much swap as memory.
        swap = memory.saturating_mul(2);
    }
    if memory > 0 && swap != -1 && !host.swap_limit {
        tracing::warn!(
            "Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap."
        );
        swap = -1;
    }
    let swappiness = r.memory_swappiness.filter(|s| *s >= 0);
    let oom = r.oom_kill_disable == Some(true);
    if memory <= 0 && r.memory_reservation <= 0 && swappiness.is_none() && !oom {
        return Ok(None);
    }
    let mut b = LinuxMemoryBuilder::default();
    if memory > 0 {
        b = b.limit(memory);
    }
    if swap > 0 {
        b = b.swap(swap);
    }
    if r.memory_reservation > 0 {
        b = b.reservation(r.memory_reservation);
    }
    if let Some(s) = swappiness {
        b = b.swappiness(s as u64);
    }
    if oom {
        b = b.disable_oom_killer(true);
    }
    Ok(Some(b.build()?))
}

/// The block device `path` names: (major, minor), as docker stats it.
fn device_numbers(path: &str) -> Result<(i64, i64), SpecError> {
    let st = nix::sys::stat::stat(path)
        .map_err(|e| SpecError::invalid(format!("stat {path}: {}", go_errno(e))))?;
    let rdev = st.st_rdev;
    Ok((
        nix::sys::stat::major(rdev) as i64,
        nix::sys::stat::minor(rdev) as i64,
    ))
}

fn throttles(devices: &Option<Vec<ThrottleDevice>>) -> Result<Vec<LinuxThrottleDevice>, SpecError> {
    list(devices)
        .iter()
        .map(|d| {
            let (major, minor) = device_numbers(&d.path)?;
            Ok(LinuxThrottleDeviceBuilder::default()
                .major(major)
                .minor(minor)
                .rate(d.rate)
                .build()?)
        })
        .collect()
}

/// `blockIO`: `--blkio-weight`, `--blkio-weight-device` and the four
/// throttles, devices named by their host paths.
fn block_io(r: &Resources) -> Result<Option<LinuxBlockIo>, SpecError> {
    let weight_devices = list(&r.blkio_weight_device)
        .iter()
        .map(|d| {
            let (major, minor) = device_numbers(&d.path)?;
            Ok(LinuxWeightDeviceBuilder::default()
                .major(major)
                .minor(minor)
                .weight(d.weight)
                .build()?)
        })
        .collect::<Result<Vec<_>, SpecError>>()?;
    let read_bps = throttles(&r.blkio_device_read_bps)?;
    let write_bps = throttles(&r.blkio_device_write_bps)?;
    let read_iops = throttles(&r.blkio_device_read_iops)?;
    let write_iops = throttles(&r.blkio_device_write_iops)?;
    if r.blkio_weight == 0
        && weight_devices.is_empty()
        && read_bps.is_empty()
        && write_bps.is_empty()
        && read_iops.is_empty()
        && write_iops.is_empty()
    {
        return Ok(None);
    }
    let mut b = LinuxBlockIoBuilder::default();
    if r.blkio_weight > 0 {
        b = b.weight(r.blkio_weight);
    }
    let some = |v: Vec<LinuxThrottleDevice>| (!v.is_empty()).then_some(v);
    let mut io = b.build()?;
    io.set_weight_device((!weight_devices.is_empty()).then_some(weight_devices));
    io.set_throttle_read_bps_device(some(read_bps));
    io.set_throttle_write_bps_device(some(write_bps));
    io.set_throttle_read_iops_device(some(read_iops));
    io.set_throttle_write_iops_device(some(write_iops));
    Ok(Some(io))
}

#[cfg(test)]
mod tests {
    use super::super::tests::test_host;
    use super::*;

    fn build(r: Resources) -> Result<LinuxResources, SpecError> {
        let opts = RunOptions {
            resources: r,
            ..Default::default()
        };
        build_resources(&opts, &test_host(), Vec::new())
    }

    #[test]
    fn no_flags_no_limits() {
        let r = build(Resources::default()).unwrap();
        assert!(r.memory().is_none());
        assert!(r.cpu().is_none());
        assert!(r.pids().is_none());
        assert!(r.block_io().is_none());
        assert_eq!(r.devices().as_ref().unwrap().len(), 14);
    }

    #[test]
    fn memory_defaults_swap_to_twice_memory() {
        let r = build(Resources {
            memory: 64 << 20,
            ..Default::default()
        })
        .unwrap();
        let m = r.memory().unwrap();
        assert_eq!(m.limit(), Some(64 << 20));
        assert_eq!(m.swap(), Some(128 << 20));

        let r = build(Resources {
            memory: 64 << 20,
            memory_swap: -1,
            ..Default::default()
        })
        .unwrap();
        assert_eq!(r.memory().unwrap().swap(), None);

        let mut host = test_host();
        host.swap_limit = false;
        let opts = RunOptions {
            resources: Resources {
                memory: 64 << 20,
                ..Default::default()
            },
            ..Default::default()
        };
        let r = build_resources(&opts, &host, Vec::new()).unwrap();
        assert_eq!(r.memory().unwrap().swap(), None);
    }

    #[test]
    fn soft_limits_swappiness_and_the_oom_killer() {
        let r = build(Resources {
            memory: 64 << 20,
            memory_reservation: 32 << 20,
            memory_swappiness: Some(10),
            oom_kill_disable: Some(true),
            ..Default::default()
        })
        .unwrap();
        let m = r.memory().unwrap();
        assert_eq!(m.reservation(), Some(32 << 20));
        assert_eq!(m.swappiness(), Some(10));
        assert_eq!(m.disable_oom_killer(), Some(true));
    }

    #[test]
    fn memory_errors() {
        let msg = |r: Resources| build(r).unwrap_err().to_string();
        assert_eq!(
            msg(Resources {
                memory: 4 << 20,
                ..Default::default()
            }),
            "Minimum memory limit allowed is 6MB"
        );
        assert_eq!(
            msg(Resources {
                memory: 64 << 20,
                memory_swap: 32 << 20,
                ..Default::default()
            }),
            "Minimum memoryswap limit should be larger than memory limit, see usage"
        );
        assert_eq!(
            msg(Resources {
                memory_swap: 32 << 20,
                ..Default::default()
            }),
            "You should always set the Memory limit when using Memoryswap limit, see usage"
        );
        assert_eq!(
            msg(Resources {
                memory: 16 << 20,
                memory_reservation: 32 << 20,
                ..Default::default()
            }),
            "Minimum memory limit can not be less than memory reservation limit, see usage"
        );
        assert_eq!(
            msg(Resources {
                memory_swappiness: Some(101),
                ..Default::default()
            }),
            "invalid value: 101. Valid memory swappiness range is 0-100"
        );
    }

    #[test]
    fn cpus_become_a_cfs_quota() {
        let r = build(Resources {
            nano_cpus: 1_500_000_000,
            cpu_shares: 512,
            ..Default::default()
        })
        .unwrap();
        let cpu = r.cpu().as_ref().unwrap();
        assert_eq!(cpu.period(), Some(100_000));
        assert_eq!(cpu.quota(), Some(150_000));
        assert_eq!(cpu.shares(), Some(512));
        let r = build(Resources {
            cpu_period: 50_000,
            cpu_quota: 25_000,
            cpuset_cpus: "0".into(),
            ..Default::default()
        })
        .unwrap();
        let cpu = r.cpu().as_ref().unwrap();
        assert_eq!((cpu.period(), cpu.quota()), (Some(50_000), Some(25_000)));
        assert_eq!(cpu.cpus().as_deref(), Some("0"));
    }

    #[test]
    fn cpu_errors_read_like_dockers() {
        let msg = |r: Resources| build(r).unwrap_err().to_string();
        assert_eq!(
            msg(Resources {
                nano_cpus: 5_000_000_000,
                ..Default::default()
            }),
            "Range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available"
        );
        assert_eq!(
            msg(Resources {
                nano_cpus: 1_000_000_000,
                cpu_quota: 50_000,
                ..Default::default()
            }),
            "Conflicting options: Nano CPUs and CPU Quota cannot both be set"
        );
        assert_eq!(
            msg(Resources {
                cpu_period: 500,
                ..Default::default()
            }),
            "CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)"
        );
        assert_eq!(
            msg(Resources {
                cpu_quota: 500,
                ..Default::default()
            }),
            "CPU cfs quota can not be less than 1ms (i.e. 1000)"
        );
        assert_eq!(
            msg(Resources {
                cpuset_cpus: "x".into(),
                ..Default::default()
            }),
            "Invalid value x for cpuset cpus: invalid format: x"
        );
        assert_eq!(
            msg(Resources {
                blkio_weight: 5,
                ..Default::default()
            }),
            "Range of blkio weight is from 10 to 1000"
        );
    }

    #[test]
    fn lists_parse_like_the_kernel_writes_them() {
        assert_eq!(
            parse_list("0-2,5").unwrap().into_iter().collect::<Vec<_>>(),
            [0, 1, 2, 5]
        );
        assert!(parse_list("x").is_none());
        assert!(parse_list("3-1").is_none());
        assert!(parse_list("").unwrap().is_empty());
    }

    #[test]
    fn pids_limit() {
        let r = build(Resources {
            pids_limit: Some(100),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(r.pids().unwrap().limit(), 100);
        for unlimited in [0, -1] {
            let r = build(Resources {
                pids_limit: Some(unlimited),
                ..Default::default()
            })
            .unwrap();
            assert!(r.pids().is_none());
        }
    }

    #[test]
    fn block_io_names_devices_by_number() {
        let r = build(Resources {
            blkio_weight: 300,
            blkio_device_read_bps: Some(vec![ThrottleDevice {
                path: "/dev/null".into(),
                rate: 1 << 20,
            }]),
            ..Default::default()
        })
        .unwrap();
        let io = r.block_io().as_ref().unwrap();
        assert_eq!(io.weight(), Some(300));
        let t = io.throttle_read_bps_device().as_ref().unwrap();
        assert_eq!((t[0].major(), t[0].minor(), t[0].rate()), (1, 3, 1 << 20));
        let e = build(Resources {
            blkio_device_write_iops: Some(vec![ThrottleDevice {
                path: "/dev/nonexistent-wharf".into(),
                rate: 10,
            }]),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "stat /dev/nonexistent-wharf: no such file or directory"
        );
    }
}
