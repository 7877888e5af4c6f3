//! `docker info` / `docker system info`: docker 20.10's Client and Server
//! sections, or `--format` over the same keys as docker's `{{json .}}`
//! (the engine's `SystemInfo` plus `ClientInfo`).

use std::fmt::Write as _;
use std::process::ExitCode;

use serde_json::json;
use wharf_engine::Engine;
use wharf_format::bytes_size;
use wharf_model::SystemInfo;

use crate::cli::InfoArgs;
use crate::output::print_inspect;

/// Docker 20.10 CLI's `prettyPrintServerInfo`, for what wharf has.
fn server_text(i: &SystemInfo) -> String {
    let mut o = String::new();
    let yes = |b: bool| if b { "true" } else { "false" };
    let _ = writeln!(o, "Server:");
    let _ = writeln!(o, " Containers: {}", i.containers);
    let _ = writeln!(o, "  Running: {}", i.containers_running);
    let _ = writeln!(o, "  Paused: {}", i.containers_paused);
    let _ = writeln!(o, "  Stopped: {}", i.containers_stopped);
    let _ = writeln!(o, " Images: {}", i.images);
    let _ = writeln!(o, " Server Version: {}", i.server_version);
    let _ = writeln!(o, " Storage Driver: {}", i.driver);
    for [k, v] in &i.driver_status {
        let _ = writeln!(o, "  {k}: {v}");
    }
    let _ = writeln!(o, " Logging Driver: {}", i.logging_driver);
    let _ = writeln!(o, " Cgroup Driver: {}", i.cgroup_driver);
    let _ = writeln!(o, " Cgroup Version: {}", i.cgroup_version);
    let _ = writeln!(o, " Plugins:");
    let _ = writeln!(o, "  Volume: {}", i.plugins.volume.join(" "));
    let _ = writeln!(o, "  Network: {}", i.plugins.network.join(" "));
    let _ = writeln!(o, "  Log: {}", i.plugins.log.join(" "));
    let _ = writeln!(o, " Swarm: {}", i.swarm.local_node_state);
    let runtimes: Vec<&str> = i.runtimes.keys().map(String::as_str).collect();
    let _ = writeln!(o, " Runtimes: {}", runtimes.join(" "));
    let _ = writeln!(o, " Default Runtime: {}", i.default_runtime);
    let _ = writeln!(o, " Init Binary: {}", i.init_binary);
    if !i.security_options.is_empty() {
        let _ = writeln!(o, " Security Options:");
        for opt in &i.security_options {
            // `name=seccomp,profile=default` → "seccomp" and "Profile: default".
            let mut parts = opt.split(',');
            let name = parts.next().unwrap_or_default();
            let _ = writeln!(o, "  {}", name.strip_prefix("name=").unwrap_or(name));
            for kv in parts {
                if let Some((k, v)) = kv.split_once('=') {
                    let mut key = k.to_string();
                    if let Some(first) = key.get_mut(0..1) {
                        first.make_ascii_uppercase();
                    }
                    let _ = writeln!(o, "   {key}: {v}");
                }
            }
        }
    }
    let _ = writeln!(o, " Kernel Version: {}", i.kernel_version);
    let _ = writeln!(o, " Operating System: {}", i.operating_system);
    let _ = writeln!(o, " OSType: {}", i.os_type);
    let _ = writeln!(o, " Architecture: {}", i.architecture);
    let _ = writeln!(o, " CPUs: {}", i.ncpu);
    let _ = writeln!(o, " Total Memory: {}", bytes_size(i.mem_total as f64));
    let _ = writeln!(o, " Name: {}", i.name);
    let _ = writeln!(o, " ID: {}", i.id);
    let _ = writeln!(o, " Docker Root Dir: {}", i.docker_root_dir);
    let _ = writeln!(o, " Debug Mode: {}", yes(i.debug));
    if i.debug {
        let _ = writeln!(o, "  File Descriptors: {}", i.n_fd);
        let _ = writeln!(o, "  Goroutines: {}", i.n_goroutines);
        let _ = writeln!(o, "  System Time: {}", i.system_time);
        let _ = writeln!(o, "  EventsListeners: {}", i.n_events_listener);
    }
    for (label, v) in [
        ("HTTP Proxy", &i.http_proxy),
        ("HTTPS Proxy", &i.https_proxy),
        ("No Proxy", &i.no_proxy),
    ] {
        if !v.is_empty() {
            let _ = writeln!(o, " {label}: {v}");
        }
    }
    let _ = writeln!(o, " Registry: {}", i.index_server_address);
    let _ = writeln!(o, " Labels:");
    for l in &i.labels {
        let _ = writeln!(o, "  {l}");
    }
    let _ = writeln!(o, " Experimental: {}", yes(i.experimental_build));
    let r = &i.registry_config;
    let insecure_names: Vec<&str> = r
        .index_configs
        .values()
        .filter(|c| !c.secure)
        .map(|c| c.name.as_str())
        .collect();
    if !insecure_names.is_empty() || !r.insecure_registry_cidrs.is_empty() {
        let _ = writeln!(o, " Insecure Registries:");
        for n in insecure_names
            .into_iter()
            .chain(r.insecure_registry_cidrs.iter().map(String::as_str))
        {
            let _ = writeln!(o, "  {n}");
        }
    }
    if !r.mirrors.is_empty() {
        let _ = writeln!(o, " Registry Mirrors:");
        for m in &r.mirrors {
            let _ = writeln!(o, "  {m}");
        }
    }
    let _ = writeln!(o, " Live Restore Enabled: {}", yes(i.live_restore_enabled));
    o
}

pub fn info(engine: &Engine, a: InfoArgs, debug: bool) -> anyhow::Result<ExitCode> {
    let info = engine.system_info(debug)?;
    let client = json!({
        "Debug": debug,
        "Context": "default",
        "Plugins": [],
        "Warnings": null,
    });
    if let Some(f) = a.format.as_deref().filter(|f| !f.is_empty()) {
        let mut v = serde_json::to_value(&info)?;
        v["ClientInfo"] = client;
        print_inspect(&[v], Some(f))?;
        return Ok(ExitCode::SUCCESS);
    }
    let yes = if debug { "true" } else { "false" };
    print!(
        "Client:\n Context:    default\n Debug Mode: {yes}\n\n{}\n",
        server_text(&info)
    );
    for w in info.warnings.iter().flatten() {
        eprintln!("{w}");
    }
    Ok(ExitCode::SUCCESS)
}
