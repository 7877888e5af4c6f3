//! Docker's `HostConfig` (API 1.41, docker 20.10): how the container runs
//! on the host. Field order and empty-value rules follow what docker's
//! daemon returns from `inspect`, so key sets compare equal; the same
//! types deserialize an Engine API create body.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::mount::Mount;
use crate::ModelError;

/// `HostConfig.PortBindings`: `"80/tcp" -> [{HostIp, HostPort}]`.
pub type PortMap = BTreeMap<String, Option<Vec<PortBinding>>>;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct PortBinding {
    pub host_ip: String,
    pub host_port: String,
}

/// `HostConfig.LogConfig`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct LogConfig {
    #[serde(rename = "Type")]
    pub kind: String,
    pub config: BTreeMap<String, String>,
}

impl Default for LogConfig {
    fn default() -> LogConfig {
        LogConfig {
            kind: "json-file".into(),
            config: BTreeMap::new(),
        }
    }
}

/// `--restart`: docker's policies.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RestartPolicy {
    #[default]
    No,
    Always,
    UnlessStopped,
    /// Restart after a non-zero exit, at most this many times (0 = no limit).
    OnFailure(u32),
}

impl RestartPolicy {
    /// Docker's `--restart` syntax.
    pub fn parse(s: &str) -> Result<RestartPolicy, ModelError> {
        let bad = || ModelError::Invalid(format!("invalid restart policy '{s}'"));
        Ok(match s.split_once(':') {
            None if s == "no" || s.is_empty() => RestartPolicy::No,
            None if s == "always" => RestartPolicy::Always,
            None if s == "unless-stopped" => RestartPolicy::UnlessStopped,
            None if s == "on-failure" => RestartPolicy::OnFailure(0),
            Some(("on-failure", n)) => RestartPolicy::OnFailure(n.parse().map_err(|_| {
                ModelError::Invalid(format!(
                    "invalid restart policy '{s}': maximum retry count must be an integer"
                ))
            })?),
            Some((p @ ("always" | "unless-stopped" | "no"), _)) => {
                return Err(ModelError::Invalid(format!(
                    "maximum retry count cannot be used with restart policy '{p}'"
                )))
            }
            _ => return Err(bad()),
        })
    }

    /// Docker's `Name`.
    pub fn name(self) -> &'static str {
        match self {
            RestartPolicy::No => "no",
            RestartPolicy::Always => "always",
            RestartPolicy::UnlessStopped => "unless-stopped",
            RestartPolicy::OnFailure(_) => "on-failure",
        }
    }

    /// Whether to start again after an exit with `code`, `restarts` restarts
    /// so far, and whether a user stopped it (`stop`, `rm -f`).
    pub fn should_restart(self, code: i32, restarts: u32, stopped_by_user: bool) -> bool {
        if stopped_by_user {
            return false;
        }
        match self {
            RestartPolicy::No => false,
            RestartPolicy::Always | RestartPolicy::UnlessStopped => true,
            RestartPolicy::OnFailure(max) => code != 0 && (max == 0 || restarts < max),
        }
    }

    /// Docker's back-off before restart number `restarts + 1`: 100 ms
    /// doubling per restart, capped at a minute.
    pub fn backoff(restarts: u32) -> Duration {
        Duration::from_millis(100u64.saturating_mul(1 << restarts.min(10)))
            .min(Duration::from_secs(60))
    }
}

#[derive(Serialize, Deserialize, Default)]
#[serde(rename_all = "PascalCase", default)]
struct RestartPolicyJson {
    name: String,
    maximum_retry_count: i64,
}

impl Serialize for RestartPolicy {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        RestartPolicyJson {
            name: self.name().into(),
            maximum_retry_count: match self {
                RestartPolicy::OnFailure(n) => *n as i64,
                _ => 0,
            },
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for RestartPolicy {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RestartPolicy, D::Error> {
        let j = Option::<RestartPolicyJson>::deserialize(d)?.unwrap_or_default();
        match j.name.as_str() {
            "" | "no" => Ok(RestartPolicy::No),
            "always" => Ok(RestartPolicy::Always),
            "unless-stopped" => Ok(RestartPolicy::UnlessStopped),
            "on-failure" => Ok(RestartPolicy::OnFailure(
                j.maximum_retry_count.clamp(0, u32::MAX as i64) as u32,
            )),
            other => Err(serde::de::Error::custom(format!(
                "invalid restart policy '{other}'"
            ))),
        }
    }
}

/// `--ulimit name=soft[:hard]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct Ulimit {
    pub name: String,
    pub hard: i64,
    pub soft: i64,
}

/// `--device host[:container[:perms]]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeviceMapping {
    pub path_on_host: String,
    pub path_in_container: String,
    pub cgroup_permissions: String,
}

/// `--blkio-weight-device path:weight`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct WeightDevice {
    pub path: String,
    pub weight: u16,
}

/// `--device-read-bps path:rate` and the other throttles.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct ThrottleDevice {
    pub path: String,
    pub rate: u64,
}

/// `--gpus` (docker's `DeviceRequest`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct DeviceRequest {
    pub driver: String,
    pub count: i64,
    #[serde(rename = "DeviceIDs")]
    pub device_ids: Option<Vec<String>>,
    pub capabilities: Option<Vec<Vec<String>>>,
    pub options: Option<BTreeMap<String, String>>,
}

/// Declares [`HostConfig`] with [`Resources`] flattened into it, as
/// docker's JSON has them, from one list of fields. Serialized through
/// serde's `flatten`; deserialized through a flat twin holding every key
/// at one level (`HostConfigWire`): serde's `flatten` buffers each key it
/// does not know as generic content and then scans the field list for
/// each. A stored record's host config took 8.1-8.7 µs to decode that
/// way, 5.1-5.9 µs flat (release, same loaded host, back to back); with
/// 200 containers that was ~20% of the API server's CPU for `docker ps
/// -a`.
macro_rules! host_config {
    (
        before { $( $(#[$ba:meta])* $bf:ident : $bt:ty, )* }
        resources { $( $(#[$ra:meta])* $rf:ident : $rt:ty, )* }
        after { $( $(#[$aa:meta])* $af:ident : $at:ty, )* }
    ) => {
        /// Docker's `container.Resources`, flattened into `HostConfig`.
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "PascalCase", default)]
        pub struct Resources {
            $( $(#[$ra])* pub $rf: $rt, )*
        }

        /// Docker's `container.HostConfig`.
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(rename_all = "PascalCase")]
        pub struct HostConfig {
            $( $(#[$ba])* pub $bf: $bt, )*
            #[serde(flatten)]
            pub resources: Resources,
            $( $(#[$aa])* pub $af: $at, )*
        }

        /// Every key of a `HostConfig` at one level (see the macro).
        #[derive(Deserialize)]
        #[serde(rename_all = "PascalCase", default)]
        struct HostConfigWire {
            $( $(#[$ba])* $bf: $bt, )*
            $( $(#[$ra])* $rf: $rt, )*
            $( $(#[$aa])* $af: $at, )*
        }

        impl Default for HostConfigWire {
            /// A missing key means what it meant with `flatten`: the
            /// host config's default, or the resources' own.
            fn default() -> HostConfigWire {
                let h = HostConfig::default();
                let r = Resources::default();
                HostConfigWire {
                    $( $bf: h.$bf, )*
                    $( $rf: r.$rf, )*
                    $( $af: h.$af, )*
                }
            }
        }

        impl<'de> Deserialize<'de> for HostConfig {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<HostConfig, D::Error> {
                let w = HostConfigWire::deserialize(d)?;
                Ok(HostConfig {
                    $( $bf: w.$bf, )*
                    resources: Resources {
                        $( $rf: w.$rf, )*
                    },
                    $( $af: w.$af, )*
                })
            }
        }
    };
}

host_config! {
    before {
        /// `-v` entries, as given (relative sources made absolute by the CLI).
        binds: Option<Vec<String>>,
        #[serde(rename = "ContainerIDFile")]
        container_id_file: String,
        log_config: LogConfig,
        /// `--network`: `default`, `bridge`, `host`, `none`, `container:<id>`
        /// or a user-defined network.
        network_mode: String,
        port_bindings: Option<PortMap>,
        restart_policy: RestartPolicy,
        auto_remove: bool,
        volume_driver: String,
        volumes_from: Option<Vec<String>>,
        cap_add: Option<Vec<String>>,
        cap_drop: Option<Vec<String>>,
        cgroupns_mode: String,
        dns: Option<Vec<String>>,
        dns_options: Option<Vec<String>>,
        dns_search: Option<Vec<String>>,
        extra_hosts: Option<Vec<String>>,
        group_add: Option<Vec<String>>,
        ipc_mode: String,
        cgroup: String,
        links: Option<Vec<String>>,
        oom_score_adj: i64,
        pid_mode: String,
        privileged: bool,
        publish_all_ports: bool,
        readonly_rootfs: bool,
        security_opt: Option<Vec<String>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        storage_opt: Option<BTreeMap<String, String>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        tmpfs: Option<BTreeMap<String, String>>,
        #[serde(rename = "UTSMode")]
        uts_mode: String,
        userns_mode: String,
        shm_size: i64,
        #[serde(skip_serializing_if = "Option::is_none")]
        sysctls: Option<BTreeMap<String, String>>,
        runtime: String,
        console_size: [u32; 2],
        isolation: String,
    }
    resources {
        cpu_shares: i64,
        memory: i64,
        nano_cpus: i64,
        cgroup_parent: String,
        blkio_weight: u16,
        blkio_weight_device: Option<Vec<WeightDevice>>,
        blkio_device_read_bps: Option<Vec<ThrottleDevice>>,
        blkio_device_write_bps: Option<Vec<ThrottleDevice>>,
        #[serde(rename = "BlkioDeviceReadIOps")]
        blkio_device_read_iops: Option<Vec<ThrottleDevice>>,
        #[serde(rename = "BlkioDeviceWriteIOps")]
        blkio_device_write_iops: Option<Vec<ThrottleDevice>>,
        cpu_period: i64,
        cpu_quota: i64,
        cpu_realtime_period: i64,
        cpu_realtime_runtime: i64,
        cpuset_cpus: String,
        cpuset_mems: String,
        devices: Option<Vec<DeviceMapping>>,
        device_cgroup_rules: Option<Vec<String>>,
        device_requests: Option<Vec<DeviceRequest>>,
        kernel_memory: i64,
        #[serde(rename = "KernelMemoryTCP")]
        kernel_memory_tcp: i64,
        memory_reservation: i64,
        memory_swap: i64,
        memory_swappiness: Option<i64>,
        oom_kill_disable: Option<bool>,
        pids_limit: Option<i64>,
        ulimits: Option<Vec<Ulimit>>,
        cpu_count: i64,
        cpu_percent: i64,
        #[serde(rename = "IOMaximumIOps")]
        io_maximum_iops: u64,
        #[serde(rename = "IOMaximumBandwidth")]
        io_maximum_bandwidth: u64,
    }
    after {
        #[serde(skip_serializing_if = "Option::is_none")]
        mounts: Option<Vec<Mount>>,
        masked_paths: Option<Vec<String>>,
        readonly_paths: Option<Vec<String>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        init: Option<bool>,
    }
}

impl Default for HostConfig {
    /// What docker's CLI sends for `docker create IMAGE` with no flags
    /// (the daemon's defaults are applied at create).
    fn default() -> HostConfig {
        HostConfig {
            binds: None,
            container_id_file: String::new(),
            log_config: LogConfig::default(),
            network_mode: "default".into(),
            port_bindings: Some(PortMap::new()),
            restart_policy: RestartPolicy::No,
            auto_remove: false,
            volume_driver: String::new(),
            volumes_from: None,
            cap_add: None,
            cap_drop: None,
            cgroupns_mode: String::new(),
            dns: Some(Vec::new()),
            dns_options: Some(Vec::new()),
            dns_search: Some(Vec::new()),
            extra_hosts: None,
            group_add: None,
            ipc_mode: String::new(),
            cgroup: String::new(),
            links: None,
            oom_score_adj: 0,
            pid_mode: String::new(),
            privileged: false,
            publish_all_ports: false,
            readonly_rootfs: false,
            security_opt: None,
            storage_opt: None,
            tmpfs: None,
            uts_mode: String::new(),
            userns_mode: String::new(),
            shm_size: 0,
            sysctls: None,
            runtime: String::new(),
            console_size: [0, 0],
            isolation: String::new(),
            // docker's CLI sends `[]` for these two and null for the
            // throttles and ulimits it has none of.
            resources: Resources {
                blkio_weight_device: Some(Vec::new()),
                devices: Some(Vec::new()),
                ..Resources::default()
            },
            mounts: None,
            masked_paths: None,
            readonly_paths: None,
            init: None,
        }
    }
}

/// An empty `Option<Vec<T>>` as a slice.
pub fn list<T>(v: &Option<Vec<T>>) -> &[T] {
    v.as_deref().unwrap_or(&[])
}

impl HostConfig {
    /// The network mode with docker's `default` resolved (`bridge` on Linux).
    pub fn network(&self) -> &str {
        match self.network_mode.as_str() {
            "" | "default" => "bridge",
            other => other,
        }
    }

    /// `-p` bindings as (`port/proto`, binding) pairs, in key order.
    pub fn port_bindings(&self) -> impl Iterator<Item = (&str, &PortBinding)> {
        self.port_bindings
            .iter()
            .flatten()
            .flat_map(|(k, v)| list(v).iter().map(move |b| (k.as_str(), b)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_policies_parse_and_decide_like_docker() {
        assert_eq!(
            RestartPolicy::parse("on-failure:3").unwrap(),
            RestartPolicy::OnFailure(3)
        );
        assert_eq!(
            RestartPolicy::parse("unless-stopped").unwrap(),
            RestartPolicy::UnlessStopped
        );
        assert!(RestartPolicy::parse("sometimes").is_err());
        assert!(RestartPolicy::parse("always:2").is_err());
        let p = RestartPolicy::OnFailure(3);
        assert!(
            p.should_restart(1, 2, false)
                && !p.should_restart(1, 3, false)
                && !p.should_restart(0, 0, false)
        );
        assert!(RestartPolicy::Always.should_restart(0, 99, false));
        assert!(!RestartPolicy::Always.should_restart(1, 0, true));
        assert_eq!(RestartPolicy::backoff(0), Duration::from_millis(100));
        assert_eq!(RestartPolicy::backoff(20), Duration::from_secs(60));
        let j = serde_json::to_string(&RestartPolicy::OnFailure(3)).unwrap();
        assert_eq!(j, r#"{"Name":"on-failure","MaximumRetryCount":3}"#);
        let back: RestartPolicy = serde_json::from_str(&j).unwrap();
        assert_eq!(back, RestartPolicy::OnFailure(3));
        let none: RestartPolicy = serde_json::from_str("null").unwrap();
        assert_eq!(none, RestartPolicy::No);
    }

    /// The keys docker 20.10's `inspect` shows for a container made with
    /// no flags, in its order.
    #[test]
    fn default_host_config_has_docker_keys_in_order() {
        let v = serde_json::to_value(HostConfig::default()).unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        let docker = "Binds ContainerIDFile LogConfig NetworkMode PortBindings RestartPolicy AutoRemove VolumeDriver VolumesFrom CapAdd CapDrop CgroupnsMode Dns DnsOptions DnsSearch ExtraHosts GroupAdd IpcMode Cgroup Links OomScoreAdj PidMode Privileged PublishAllPorts ReadonlyRootfs SecurityOpt UTSMode UsernsMode ShmSize Runtime ConsoleSize Isolation CpuShares Memory NanoCpus CgroupParent BlkioWeight BlkioWeightDevice BlkioDeviceReadBps BlkioDeviceWriteBps BlkioDeviceReadIOps BlkioDeviceWriteIOps CpuPeriod CpuQuota CpuRealtimePeriod CpuRealtimeRuntime CpusetCpus CpusetMems Devices DeviceCgroupRules DeviceRequests KernelMemory KernelMemoryTCP MemoryReservation MemorySwap MemorySwappiness OomKillDisable PidsLimit Ulimits CpuCount CpuPercent IOMaximumIOps IOMaximumBandwidth MaskedPaths ReadonlyPaths";
        assert_eq!(keys.join(" "), docker);
    }

    #[test]
    fn an_api_body_with_nulls_deserializes() {
        let h: HostConfig = serde_json::from_str(
            r#"{"Binds":null,"PortBindings":{"80/tcp":[{"HostIp":"","HostPort":"8080"}]},"RestartPolicy":{"Name":"always"},"Memory":1048576}"#,
        )
        .unwrap();
        assert_eq!(h.resources.memory, 1 << 20);
        assert_eq!(h.restart_policy, RestartPolicy::Always);
        let b: Vec<_> = h.port_bindings().collect();
        assert_eq!(b[0].0, "80/tcp");
        assert_eq!(b[0].1.host_port, "8080");
        assert_eq!(h.network(), "bridge");
    }

    #[test]
    fn flat_decoding_keeps_flattens_meaning() {
        // Missing keys: the host config's defaults for its own fields,
        // the resources' own defaults for theirs (not the CLI's `[]`).
        let h: HostConfig = serde_json::from_str(r#"{"Memory": 5, "Bogus": 1}"#).unwrap();
        assert_eq!(h.resources.memory, 5);
        assert_eq!(h.resources.devices, None);
        assert_eq!(h.network_mode, "default");
        assert_eq!(h.port_bindings, Some(PortMap::new()));
        // What is written reads back the same.
        let mut full = HostConfig::default();
        full.resources.cpuset_cpus = "0-1".into();
        full.resources.ulimits = Some(vec![Ulimit {
            name: "nofile".into(),
            soft: 10,
            hard: 20,
        }]);
        full.mounts = Some(Vec::new());
        full.init = Some(true);
        let text = serde_json::to_string(&full).unwrap();
        assert_eq!(serde_json::from_str::<HostConfig>(&text).unwrap(), full);
        // And from a `Value` (the API's bodies go through one).
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(serde_json::from_value::<HostConfig>(v).unwrap(), full);
    }
}
