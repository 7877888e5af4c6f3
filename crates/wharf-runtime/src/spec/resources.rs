//! cgroup limits (`linux.resources`): memory and swap, CPU quota and
//! shares, pids, devices. Validation and defaults are moby's
//! (`verifyPlatformContainerResources`, `adaptContainerSettings`,
//! `getMemoryResources`, `getCPUResources`), messages included.

use oci_spec::runtime::{
    LinuxCpuBuilder, LinuxMemory, LinuxMemoryBuilder, LinuxPidsBuilder, LinuxResources,
    LinuxResourcesBuilder,
};

use super::devices::device_rules;
use super::host::HostInfo;
use super::options::RunOptions;
use super::SpecError;

/// Docker's floor for `--memory`: 6 MiB.
pub const MIN_MEMORY: i64 = 6 * 1024 * 1024;
/// The CFS period `--cpus` uses: 100 ms.
pub const CPU_PERIOD: u64 = 100_000;

pub(crate) fn build_resources(
    opts: &RunOptions,
    host: &HostInfo,
) -> Result<LinuxResources, SpecError> {
    let mut resources = LinuxResourcesBuilder::default().devices(device_rules(opts.privileged)?);
    if let Some(memory) = memory(opts, host)? {
        resources = resources.memory(memory);
    }
    let mut cpu = LinuxCpuBuilder::default();
    let mut any_cpu = false;
    if let Some(nano) = nano_cpus(opts.cpus, host.ncpu)? {
        cpu = cpu
            .period(CPU_PERIOD)
            .quota(nano * CPU_PERIOD as i64 / 1_000_000_000);
        any_cpu = true;
    }
    if let Some(shares) = opts.cpu_shares.filter(|&s| s != 0) {
        cpu = cpu.shares(shares);
        any_cpu = true;
    }
    if any_cpu {
        resources = resources.cpu(cpu.build()?);
    }
    if let Some(limit) = opts.pids_limit.filter(|&l| l > 0) {
        resources = resources.pids(LinuxPidsBuilder::default().limit(limit).build()?);
    }
    Ok(resources.build()?)
}

fn memory(opts: &RunOptions, host: &HostInfo) -> Result<Option<LinuxMemory>, SpecError> {
    let memory = opts.memory.unwrap_or(0);
    let mut swap = opts.memory_swap.unwrap_or(0);
    if memory != 0 && memory < MIN_MEMORY {
        return Err(SpecError::invalid("Minimum memory limit allowed is 6MB"));
    }
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
    if memory > 0 && swap > 0 && swap < memory {
        return Err(SpecError::invalid(
            "Minimum memoryswap limit should be larger than memory limit, see usage",
        ));
    }
    if memory == 0 && swap > 0 {
        return Err(SpecError::invalid(
            "You should always set the Memory limit when using Memoryswap limit, see usage",
        ));
    }
    if memory <= 0 {
        return Ok(None);
    }
    let mut b = LinuxMemoryBuilder::default().limit(memory);
    if swap > 0 {
        b = b.swap(swap);
    }
    Ok(Some(b.build()?))
}

/// `--cpus` in billionths of a CPU; `None` for no limit.
fn nano_cpus(cpus: Option<f64>, ncpu: usize) -> Result<Option<i64>, SpecError> {
    let Some(cpus) = cpus else { return Ok(None) };
    let nano = (cpus * 1e9).round();
    if nano == 0.0 {
        return Ok(None);
    }
    let max = ncpu as f64 * 1e9;
    if !(0.0..=max).contains(&nano) {
        return Err(SpecError::invalid(format!(
            "Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"
        )));
    }
    Ok(Some(nano as i64))
}

#[cfg(test)]
mod tests {
    use super::super::tests::test_host;
    use super::*;

    fn build(opts: RunOptions) -> Result<LinuxResources, SpecError> {
        build_resources(&opts, &test_host())
    }

    #[test]
    fn no_flags_no_limits() {
        let r = build(RunOptions::default()).unwrap();
        assert!(r.memory().is_none());
        assert!(r.cpu().is_none());
        assert!(r.pids().is_none());
        assert_eq!(r.devices().as_ref().unwrap().len(), 14);
    }

    #[test]
    fn memory_defaults_swap_to_twice_memory() {
        let r = build(RunOptions {
            memory: Some(64 << 20),
            ..Default::default()
        })
        .unwrap();
        let m = r.memory().unwrap();
        assert_eq!(m.limit(), Some(64 << 20));
        assert_eq!(m.swap(), Some(128 << 20));

        let r = build(RunOptions {
            memory: Some(64 << 20),
            memory_swap: Some(-1),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(r.memory().unwrap().swap(), None);

        let mut host = test_host();
        host.swap_limit = false;
        let opts = RunOptions {
            memory: Some(64 << 20),
            ..Default::default()
        };
        let r = build_resources(&opts, &host).unwrap();
        assert_eq!(r.memory().unwrap().swap(), None);
    }

    #[test]
    fn memory_errors() {
        let e = build(RunOptions {
            memory: Some(4 << 20),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "Minimum memory limit allowed is 6MB");
        assert_eq!(e.kind(), wharf_oci::ErrorKind::InvalidArgument);
        let e = build(RunOptions {
            memory: Some(64 << 20),
            memory_swap: Some(32 << 20),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Minimum memoryswap limit should be larger than memory limit, see usage"
        );
        let e = build(RunOptions {
            memory_swap: Some(32 << 20),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "You should always set the Memory limit when using Memoryswap limit, see usage"
        );
    }

    #[test]
    fn cpus_become_a_cfs_quota() {
        let r = build(RunOptions {
            cpus: Some(1.5),
            cpu_shares: Some(512),
            ..Default::default()
        })
        .unwrap();
        let cpu = r.cpu().as_ref().unwrap();
        assert_eq!(cpu.period(), Some(100_000));
        assert_eq!(cpu.quota(), Some(150_000));
        assert_eq!(cpu.shares(), Some(512));
        let r = build(RunOptions {
            cpus: Some(0.01),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(r.cpu().as_ref().unwrap().quota(), Some(1_000));
    }

    #[test]
    fn too_many_cpus() {
        // test_host has 4 CPUs.
        let e = build(RunOptions {
            cpus: Some(5.0),
            ..Default::default()
        })
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Range of CPUs is from 0.01 to 4.00, as there are only 4 CPUs available"
        );
        assert!(build(RunOptions {
            cpus: Some(-1.0),
            ..Default::default()
        })
        .is_err());
        assert!(build(RunOptions {
            cpus: Some(4.0),
            ..Default::default()
        })
        .is_ok());
    }

    #[test]
    fn pids_limit() {
        let r = build(RunOptions {
            pids_limit: Some(100),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(r.pids().unwrap().limit(), 100);
        for unlimited in [0, -1] {
            let r = build(RunOptions {
                pids_limit: Some(unlimited),
                ..Default::default()
            })
            .unwrap();
            assert!(r.pids().is_none());
        }
    }
}
