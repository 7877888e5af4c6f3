//! `wharf kube generate|play|down` (podman's `kube` verbs): a Compose
//! project and a container round-tripped through Kubernetes YAML (checked
//! against the Kubernetes schemas with kubernetes-validate, see
//! scripts/kube-validate.sh) and served on their ports; a hand-written
//! manifest with replicas, a sidecar, a Service, ConfigMaps and Secrets;
//! bad manifests refused with one line, exit 125 and nothing left.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, http_get, repo, Wharf};

/// `kube down --force FILE` when the test ends, however it ends: the
/// shared network's bridge must not outlive the test.
struct Down<'a>(&'a Wharf, PathBuf);

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = self.0.run([
            Path::new("kube"),
            Path::new("down"),
            Path::new("--force"),
            &self.1,
        ]);
    }
}

/// The body served on 127.0.0.1:`port` once it answers 200.
fn body(port: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(r) = http_get(port) {
            if r.starts_with("HTTP/1.0 200") || r.starts_with("HTTP/1.1 200") {
                return r.split_once("\r\n\r\n").unwrap().1.to_string();
            }
        }
        assert!(Instant::now() < deadline, "nothing served on port {port}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The manifests pass the Kubernetes schemas (strict: no unknown field).
fn validate(file: &Path) {
    let out = Command::new(repo().join("scripts/kube-validate.sh"))
        .arg(file)
        .output()
        .expect("run scripts/kube-validate.sh (python3 and PyPI's kubernetes-validate)");
    assert!(
        out.status.success(),
        "kubernetes-validate refused {}:\n{}{}\n{}",
        file.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(file).unwrap()
    );
}

fn write(path: &Path, text: &str) -> PathBuf {
    std::fs::write(path, text).unwrap();
    path.to_path_buf()
}

fn names(w: &Wharf) -> Vec<String> {
    let mut v: Vec<String> = w
        .ok(["ps", "-a", "--format", "{{.Names}}"])
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

fn volumes(w: &Wharf) -> Vec<String> {
    w.ok(["volume", "ls", "-q"])
        .lines()
        .map(str::to_string)
        .collect()
}

fn has_kube_network(w: &Wharf) -> bool {
    w.ok(["network", "ls", "--format", "{{.Name}}"])
        .lines()
        .any(|n| n == "wharf-kube")
}

fn health(w: &Wharf, name: &str) -> String {
    w.ok(["inspect", "--format", "{{.State.Health.Status}}", name])
        .trim()
        .to_string()
}

#[test]
fn kube_round_trip_of_a_compose_project() {
    let w = Wharf::new();
    w.import_busybox("busybox:latest");
    let port = free_port();
    let dir = w.scratch().join("kube-rt");
    std::fs::create_dir_all(&dir).unwrap();
    write(
        &dir.join("compose.yaml"),
        &format!(
            r#"services:
  web:
    image: busybox:latest
    command: ["sh", "-c", "echo $$GREETING from $$MODE > /data/index.html && exec httpd -f -p 8080 -h /data"]
    ports:
      - "127.0.0.1:{port}:8080"
    volumes:
      - site:/data
    env_file: web.env
    environment:
      MODE: compose
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://localhost:8080/"]
      interval: 1s
      retries: 3
    mem_limit: 64m
    cpus: 0.5
volumes:
  site:
"#
        ),
    );
    write(&dir.join("web.env"), "GREETING=hello\nMODE=file\n");

    let out = w
        .command(["kube", "generate", "--compose", "-p", "kube-rt"])
        .current_dir(&dir)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let yaml = String::from_utf8(out.stdout).unwrap();
    let file = write(&dir.join("kube.yaml"), &yaml);
    validate(&file);
    for part in [
        "kind: PersistentVolumeClaim\nmetadata:\n  name: kube-rt-site\n",
        "kind: ConfigMap\nmetadata:\n  name: web-env\n",
        "  GREETING: hello\n",
        "kind: Deployment\nmetadata:\n  name: web\n",
        "hostPort: ",
        "hostIP: 127.0.0.1\n",
        "claimName: kube-rt-site\n",
        "livenessProbe:\n",
        "cpu: 500m\n",
        "memory: 67108864\n",
        "kind: Service\n",
        "targetPort: 8080\n",
    ] {
        assert!(yaml.contains(part), "{part:?} missing in:\n{yaml}");
    }
    // MODE: the service's value wins over the env file's, as `env` wins
    // over `envFrom` in Kubernetes.
    assert!(
        yaml.contains("- name: MODE\n              value: compose\n"),
        "{yaml}"
    );

    let _down = Down(&w, file.clone());
    let played = w.ok([Path::new("kube"), Path::new("play"), &file]);
    assert!(
        played.starts_with("Volume:\nkube-rt-site\nPod:\nweb-pod\nContainer:\n"),
        "{played}"
    );
    assert_eq!(names(&w), ["web-pod-web"]);
    assert_eq!(body(port), "hello from compose\n");
    common::eventually(20, "web-pod-web healthy", || {
        health(&w, "web-pod-web") == "healthy"
    });
    let limits = w.ok([
        "inspect",
        "--format",
        "{{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{.HostConfig.RestartPolicy.Name}}",
        "web-pod-web",
    ]);
    assert_eq!(limits.trim(), "67108864 500000000 always");

    // A second play is refused; --replace recreates (the claim's volume,
    // and so the page, stay).
    let (code, err) = w.fails([Path::new("kube"), Path::new("play"), &file]);
    assert_eq!(code, 125);
    assert_eq!(
        err,
        "Error: pod \"web-pod\": already exists (use --replace, or kube down first)\n"
    );
    w.ok([
        Path::new("kube"),
        Path::new("play"),
        Path::new("--replace"),
        &file,
    ]);
    assert_eq!(body(port), "hello from compose\n");

    // down: the pod goes, the claim's volume stays (podman); --force
    // takes it too, and nothing of the play is left.
    let down = w.ok([Path::new("kube"), Path::new("down"), &file]);
    assert_eq!(
        down,
        "Pods stopped:\nweb-pod\nPods removed:\nweb-pod\nSecrets removed:\nVolumes removed:\n"
    );
    assert!(names(&w).is_empty());
    assert!(!has_kube_network(&w));
    assert_eq!(volumes(&w), ["kube-rt-site"]);
    let down = w.ok([
        Path::new("kube"),
        Path::new("down"),
        Path::new("--force"),
        &file,
    ]);
    assert!(down.ends_with("Volumes removed:\nkube-rt-site\n"), "{down}");
    assert!(volumes(&w).is_empty());
    assert!(http_get(port).is_none(), "port {port} still answers");
}

#[test]
fn kube_round_trip_of_a_container() {
    let w = Wharf::new();
    w.import_busybox("busybox:latest");
    let port = free_port();
    let publish = format!("127.0.0.1:{port}:8080");
    w.ok([
        "run",
        "-d",
        "--name",
        "solo",
        "-p",
        &publish,
        "-v",
        "solo-data:/data",
        "--memory",
        "32m",
        "-e",
        "WHO=solo",
        "--health-cmd",
        "wget -q -O /dev/null http://localhost:8080/",
        "busybox:latest",
        "sh",
        "-c",
        "echo $WHO > /data/index.html && exec httpd -f -p 8080 -h /data",
    ]);
    let dir = w.scratch();
    let deployment = write(
        &dir.join("deploy.yaml"),
        &w.ok(["kube", "generate", "solo"]),
    );
    validate(&deployment);
    let text = std::fs::read_to_string(&deployment).unwrap();
    for part in [
        "name: solo-pod-deployment\n",
        "claimName: solo-data\n",
        "- name: WHO\n",
        "/bin/sh\n",
        "memory: 33554432\n",
    ] {
        assert!(text.contains(part), "{part:?} missing in:\n{text}");
    }
    let pod_file = dir.join("pod.yaml");
    w.ok([
        Path::new("kube"),
        Path::new("generate"),
        Path::new("--type"),
        Path::new("pod"),
        Path::new("--filename"),
        &pod_file,
        Path::new("solo"),
    ]);
    validate(&pod_file);
    let pod = std::fs::read_to_string(&pod_file).unwrap();
    assert!(
        pod.contains("kind: Pod\nmetadata:\n  name: solo-pod\n")
            && pod.contains("restartPolicy: Never\n"),
        "{pod}"
    );
    // podman refuses to overwrite the file.
    let (code, err) = w.fails([
        Path::new("kube"),
        Path::new("generate"),
        Path::new("--filename"),
        &pod_file,
        Path::new("solo"),
    ]);
    assert_eq!(code, 125);
    assert!(err.contains("file exists"), "{err}");

    // The container makes way for its pod, which finds its volume.
    w.ok(["rm", "-f", "solo"]);
    let _down = Down(&w, pod_file.clone());
    w.ok([Path::new("kube"), Path::new("play"), &pod_file]);
    assert_eq!(names(&w), ["solo-pod-solo"]);
    assert_eq!(body(port), "solo\n");
    w.ok([Path::new("kube"), Path::new("down"), &pod_file]);
    assert!(names(&w).is_empty());
    assert_eq!(volumes(&w), ["solo-data"], "not the file's claim: kept");
}

const MANIFEST: &str = r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: site
data:
  index.html: |
    from a configmap
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  COLOR: blue
---
apiVersion: v1
kind: Secret
metadata:
  name: creds
type: Opaque
stringData:
  PASSWORD: s3cret
data:
  TOKEN: dG9r
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
        - name: web
          image: busybox:latest
          command: [httpd, -f, -p, "8080", -h, /www]
          env:
            - name: PASSWORD
              valueFrom:
                secretKeyRef: {name: creds, key: PASSWORD}
            - name: POD
              valueFrom:
                fieldRef: {fieldPath: metadata.name}
          envFrom:
            - configMapRef: {name: settings}
            - secretRef: {name: creds}
              prefix: S_
          ports:
            - containerPort: 8080
              name: http
          volumeMounts:
            - {name: site, mountPath: /www}
        - name: side
          image: busybox:latest
          command: [sleep, "3600"]
          volumeMounts:
            - {name: creds, mountPath: /creds, readOnly: true}
      volumes:
        - name: site
          configMap: {name: site}
        - name: creds
          secret:
            secretName: creds
            items:
              - {key: TOKEN, path: token/value}
---
apiVersion: v1
kind: Service
metadata:
  name: web-svc
spec:
  type: NodePort
  selector:
    app: web
  ports:
    - port: PORT
      targetPort: http
---
apiVersion: v1
kind: Pod
metadata:
  name: client
spec:
  restartPolicy: Never
  containers:
    - name: c
      image: busybox:latest
      command: [sleep, "3600"]
"#;

#[test]
fn kube_play_runs_a_manifest() {
    let w = Wharf::new();
    w.import_busybox("busybox:latest");
    let port = free_port();
    let file = write(
        &w.scratch().join("app.yaml"),
        &MANIFEST.replace("PORT", &port.to_string()),
    );
    validate(&file);
    let _down = Down(&w, file.clone());
    let played = w.ok([Path::new("kube"), Path::new("play"), &file]);
    for pod in ["web-pod", "web-pod-1", "client"] {
        assert!(
            played.contains(&format!("Pod:\n{pod}\nContainer:\n")),
            "{played}"
        );
    }
    assert_eq!(
        names(&w),
        [
            "client-c",
            "web-pod-1-side",
            "web-pod-1-web",
            "web-pod-side",
            "web-pod-web"
        ]
    );
    // The Service publishes on the host; its name resolves on the pods'
    // network; the sidecar shares its pod's network namespace.
    assert_eq!(body(port), "from a configmap\n");
    let via_dns = w.ok([
        "exec",
        "client-c",
        "wget",
        "-q",
        "-O",
        "-",
        "http://web-svc:8080/",
    ]);
    assert_eq!(via_dns, "from a configmap\n");
    let via_pod_name = w.ok([
        "exec",
        "client-c",
        "wget",
        "-q",
        "-O",
        "-",
        "http://web-pod-1:8080/",
    ]);
    assert_eq!(via_pod_name, "from a configmap\n");
    let local = w.ok([
        "exec",
        "web-pod-side",
        "wget",
        "-q",
        "-O",
        "-",
        "http://localhost:8080/",
    ]);
    assert_eq!(local, "from a configmap\n");
    // ConfigMaps and Secrets as environment and as files.
    let env = w.ok(["exec", "web-pod-1-web", "env"]);
    for var in [
        "PASSWORD=s3cret",
        "COLOR=blue",
        "S_TOKEN=tok",
        "S_PASSWORD=s3cret",
        "POD=web-pod-1",
        "HOSTNAME=web-pod-1",
    ] {
        assert!(env.lines().any(|l| l == var), "{var} missing in:\n{env}");
    }
    assert_eq!(
        w.ok(["exec", "web-pod-side", "cat", "/creds/token/value"]),
        "tok"
    );
    let (_, err) = w.fails(["exec", "web-pod-side", "sh", "-c", "echo x > /creds/new"]);
    assert!(err.contains("Read-only file system"), "{err}");

    let down = w.ok([Path::new("kube"), Path::new("down"), &file]);
    assert!(
        down.starts_with("Pods stopped:\nweb-pod\nweb-pod-1\nclient\nPods removed:\n"),
        "{down}"
    );
    assert!(names(&w).is_empty());
    assert!(
        volumes(&w).is_empty(),
        "config volumes left: {:?}",
        volumes(&w)
    );
    assert!(!has_kube_network(&w));
}

#[test]
fn kube_play_refuses_bad_manifests_and_leaves_nothing() {
    let w = Wharf::new();
    w.import_busybox("busybox:latest");
    let dir = w.scratch();
    let pod = |extra: &str| {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: web\nspec:\n  containers:\n    - name: web\n      image: busybox:latest\n{extra}"
        )
    };
    let deployment = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n  template:\n    metadata:\n      labels: {app: other}\n    spec:\n      containers:\n        - {name: web, image: busybox:latest}\n";
    let cases: Vec<(String, &str)> = vec![
        (
            format!("{}---\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: nightly\n", pod("")),
            "Error: Job \"nightly\": unsupported kind \"Job\" (wharf plays Pod, Deployment, Service, PersistentVolumeClaim, ConfigMap and Secret)\n",
        ),
        (
            pod("      imagePullPolicyy: Never\n"),
            "Error: Pod \"web\": spec.containers[0].imagePullPolicyy: unknown field \"imagePullPolicyy\"\n",
        ),
        (
            pod("      ports:\n        - containerPort: eighty\n"),
            "Error: Pod \"web\": spec.containers[0].ports[0].containerPort: invalid type: string \"eighty\", expected i64\n",
        ),
        (
            pod("      envFrom:\n        - configMapRef: {name: missing}\n"),
            "Error: Pod \"web\": container \"web\": envFrom: configMap \"missing\" not found in the file\n",
        ),
        (
            pod("      volumeMounts:\n        - {name: data, mountPath: /data}\n"),
            "Error: Pod \"web\": container \"web\": volumeMounts: volume \"data\" is not defined in the pod\n",
        ),
        (
            deployment.to_string(),
            "Error: Deployment \"web\": spec.template.metadata.labels: `selector` does not match template `labels`\n",
        ),
        (
            pod("").replace("apiVersion: v1", "apiVersion: v2"),
            "Error: Pod \"web\": apiVersion \"v2\" is not \"v1\"\n",
        ),
        (
            pod("").replace("name: web\nspec", "name: Web_1\nspec"),
            "Error: Pod \"Web_1\": metadata.name must be lowercase letters, digits, '-' and '.' (RFC 1123)\n",
        ),
        (
            "apiVersion: v1\nkind: Pod\nmetadata: {name: x\n".to_string(),
            "yaml: line 4, column 1",
        ),
    ];
    // A first command makes the store; then nothing may change it.
    w.ok(["volume", "ls"]);
    let before = w.store_listing();
    for (i, (text, expected)) in cases.iter().enumerate() {
        let file = write(&dir.join(format!("bad{i}.yaml")), text);
        let (code, err) = w.fails([Path::new("kube"), Path::new("play"), &file]);
        assert_eq!(code, 125, "{text}\n{err}");
        assert_eq!(err.lines().count(), 1, "one line: {err}");
        assert!(err.starts_with("Error: "), "{err}");
        assert!(
            err.contains(expected),
            "{text}\nwanted {expected:?}, got {err:?}"
        );
        assert_eq!(w.store_listing(), before, "{text} left something");
    }
    let (code, err) = w.fails(["kube", "play", "/nonexistent/app.yaml"]);
    assert_eq!(
        (code, err.as_str()),
        (
            125,
            "Error: open /nonexistent/app.yaml: no such file or directory\n"
        )
    );
    let (code, err) = w.fails(["kube", "generate", "nosuch"]);
    assert_eq!(code, 125);
    assert!(err.contains("nosuch"), "{err}");
    let (code, err) = w.fails(["kube", "generate", "--type", "job", "x"]);
    assert_eq!(
        (code, err.as_str()),
        (
            125,
            "Error: invalid type \"job\": only \"deployment\" and \"pod\" are supported\n"
        )
    );

    // A failure part way (the second pod's host port is taken) removes
    // the first pod, the claim's volume, the config volume and the
    // network the play made.
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let file = write(
        &dir.join("conflict.yaml"),
        &format!(
            r#"apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: keep
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: cfg
data:
  index.html: hi
---
apiVersion: v1
kind: Pod
metadata:
  name: a
spec:
  containers:
    - name: web
      image: busybox:latest
      command: [httpd, -f, -p, "8080", -h, /www]
      volumeMounts:
        - {{name: cfg, mountPath: /www}}
        - {{name: keep, mountPath: /data}}
  volumes:
    - name: cfg
      configMap: {{name: cfg}}
    - name: keep
      persistentVolumeClaim: {{claimName: keep}}
---
apiVersion: v1
kind: Pod
metadata:
  name: b
spec:
  containers:
    - name: web
      image: busybox:latest
      command: [httpd, -f, -p, "8080"]
      ports:
        - containerPort: 8080
          hostPort: {port}
          hostIP: 127.0.0.1
"#
        ),
    );
    let _down = Down(&w, file.clone());
    let (code, err) = w.fails([Path::new("kube"), Path::new("play"), &file]);
    assert_eq!(code, 125);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("Error: pod \"b\": ") && err.contains("already allocated"),
        "{err}"
    );
    assert!(names(&w).is_empty());
    assert!(volumes(&w).is_empty());
    assert!(!has_kube_network(&w));
    drop(taken);
}
