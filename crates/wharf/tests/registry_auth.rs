//! Registries that want credentials or TLS: htpasswd (Basic), token auth
//! (a token server in the test), HTTPS with a CA from certs.d, and
//! credential helpers.

mod common;
mod registry_env;

use std::process::Stdio;

use registry_env::client::Client;
use registry_env::{htpasswd, make_certs, Registry, RegistryConfig, TokenServer};

#[test]
fn htpasswd_login_push_pull_logout() {
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start(RegistryConfig {
        htpasswd: Some(htpasswd(dir.path(), "me", "s3cret")),
        ..Default::default()
    });
    let c = Client::new();
    let name = format!("{}/me/private:1", reg.host());
    c.w.import_busybox(&name);
    let (code, err) = c.fails(["push", &name]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&reg.host()) && err.contains("unauthorized"),
        "{err}"
    );

    let out = c.run(
        ["login", "-u", "me", "--password-stdin", &reg.host()],
        b"wrong\n",
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("401 Unauthorized") && err.contains(&reg.host()),
        "{err}"
    );
    assert!(
        !c.config_dir().join("config.json").exists(),
        "nothing stored for a failed login"
    );

    let out = c.run(
        ["login", "-u", "me", "--password-stdin", &reg.host()],
        b"s3cret\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Login Succeeded\n");
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(c.config_dir().join("config.json")).unwrap())
            .unwrap();
    assert_eq!(
        config["auths"][reg.host()]["auth"],
        "bWU6czNjcmV0",
        "{config}"
    );

    c.ok(["push", &name]);
    let d = Client::new();
    let (code, err) = d.fails(["pull", &name]);
    assert_eq!(code, 1);
    assert!(err.contains(&name), "names the image: {err}");
    std::fs::create_dir_all(d.config_dir()).unwrap();
    std::fs::copy(
        c.config_dir().join("config.json"),
        d.config_dir().join("config.json"),
    )
    .unwrap();
    d.ok(["pull", &name]);
    assert_eq!(
        c.ok(["logout", &reg.host()]),
        format!("Removing login credentials for {}\n", reg.host())
    );
    assert_eq!(
        c.ok(["logout", &reg.host()]),
        format!("Not logged in to {}\n", reg.host())
    );
}

#[test]
fn https_with_the_registry_ca_from_certs_d() {
    let dir = tempfile::tempdir().unwrap();
    let certs = make_certs(dir.path(), "good");
    let other = make_certs(dir.path(), "other");
    let reg = Registry::start(RegistryConfig {
        tls: Some((certs.cert.clone(), certs.key.clone())),
        ..Default::default()
    });
    let c = Client::new();
    let name = format!("{}/me/tls:1", reg.host());
    c.w.import_busybox(&name);
    // A CA in certs.d is always checked, even for a loopback registry.
    let ca_dir = c.certs_dir().join(reg.host());
    std::fs::create_dir_all(&ca_dir).unwrap();
    std::fs::copy(&other.ca, ca_dir.join("ca.crt")).unwrap();
    let (code, err) = c.fails(["push", &name]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("https://{}/v2/", reg.host())),
        "{err}"
    );
    assert!(err.to_lowercase().contains("certificate"), "{err}");

    std::fs::copy(&certs.ca, ca_dir.join("ca.crt")).unwrap();
    c.ok(["push", &name]);
    let d = Client::new();
    let d_ca = d.certs_dir().join(reg.host());
    std::fs::create_dir_all(&d_ca).unwrap();
    std::fs::copy(&certs.ca, d_ca.join("ca.crt")).unwrap();
    d.ok(["pull", &name]);
    assert_eq!(d.ok(["run", "--rm", &name, "echo", "tls"]), "tls\n");
}

#[test]
fn token_auth_login_push_pull() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = TokenServer::start(dir.path(), "me", "t0ken-pass");
    let reg = Registry::start(RegistryConfig {
        token: Some((tokens.realm(), tokens.cert.clone())),
        ..Default::default()
    });
    let c = Client::new();
    let name = format!("{}/me/tok:1", reg.host());
    c.w.import_busybox(&name);
    let (code, err) = c.fails(["push", &name]);
    assert_eq!(code, 1, "{err}");
    let out = c.run(["login", "-u", "me", "-p", "nope", &reg.host()], b"");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("incorrect username or password"), "{err}");
    let out = c.run(["login", "-u", "me", "-p", "t0ken-pass", &reg.host()], b"");
    assert!(out.status.success(), "{out:?}");
    c.ok(["push", &name]);
    assert!(tokens.granted.load(std::sync::atomic::Ordering::SeqCst) > 0);
    let d = Client::new();
    let (code, err) = d.fails(["pull", &name]);
    assert_eq!(code, 1);
    assert!(err.contains("pull access denied"), "{err}");
    std::fs::create_dir_all(d.config_dir()).unwrap();
    std::fs::copy(
        c.config_dir().join("config.json"),
        d.config_dir().join("config.json"),
    )
    .unwrap();
    d.ok(["pull", &name]);
    assert_eq!(d.ok(["run", "--rm", &name, "echo", "token"]), "token\n");
}

#[test]
fn credentials_go_through_the_configured_helper() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let reg = Registry::start(RegistryConfig {
        htpasswd: Some(htpasswd(dir.path(), "me", "helped")),
        ..Default::default()
    });
    // A docker-credential-* helper keeping one entry in a file.
    let bin = dir.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let store = dir.path().join("helper-store.json");
    let helper = bin.join("docker-credential-wharftest");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\ncase \"$1\" in\n store) cat > {s} ;;\n get) read url; [ -f {s} ] && cat {s} || {{ echo 'credentials not found in native keychain'; exit 1; }} ;;\n erase) rm -f {s} ;;\nesac\n",
            s = store.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let c = Client::new();
    std::fs::create_dir_all(c.config_dir()).unwrap();
    std::fs::write(
        c.config_dir().join("config.json"),
        r#"{"credsStore":"wharftest"}"#,
    )
    .unwrap();
    let run = |args: &[&str], stdin: &[u8]| {
        let mut cmd = c.cmd(args);
        cmd.env("PATH", &path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(stdin).unwrap();
        }
        child.wait_with_output().unwrap()
    };
    let out = run(
        &["login", "-u", "me", "--password-stdin", &reg.host()],
        b"helped\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("unencrypted"),
        "{out:?}"
    );
    let kept = std::fs::read_to_string(&store).unwrap();
    assert!(kept.contains("\"Secret\":\"helped\""), "{kept}");
    let config = std::fs::read_to_string(c.config_dir().join("config.json")).unwrap();
    assert!(
        !config.contains("helped") && config.contains(&reg.host()),
        "{config}"
    );

    let name = format!("{}/me/helped:1", reg.host());
    c.w.import_busybox(&name);
    let out = run(&["push", &name], b"");
    assert!(out.status.success(), "{out:?}");
    let out = run(&["logout", &reg.host()], b"");
    assert!(out.status.success(), "{out:?}");
    assert!(!store.exists(), "erased from the helper");
}
