//! Attacks on the host that docker 20.10 stops, tried against wharf
//! (issue 20, holes 5-7 and the bad-input items): a container sending to
//! the host's loopback services, a non-root user reading the store,
//! `--format` templates that exhaust memory, env files with NUL bytes and
//! sizes out of range. Each test reproduces the attack against a canary
//! of its own and checks that nothing gets through.

mod common;

use std::io::Read;
use std::net::{Ipv4Addr, UdpSocket};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::{docker, require_docker, sh, unique, DockerImages, Wharf};

// ---------------------------------------------------------------------------
// Hole 5: a container reaching services bound to the host's 127.0.0.1
// ---------------------------------------------------------------------------

/// An IPv4/UDP packet in an Ethernet frame, checksummed (UDP checksum 0:
/// none, allowed for IPv4).
fn udp_frame(
    dst_mac: [u8; 6],
    src: Ipv4Addr,
    dst: Ipv4Addr,
    dport: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&[0x02, 0, 0, 0x5e, 0xc0, 0x01]); // any local MAC
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    let total = (20 + 8 + payload.len()) as u16;
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0, 1, 0x40, 0, 64, 17, 0, 0]);
    ip.extend_from_slice(&src.octets());
    ip.extend_from_slice(&dst.octets());
    let mut sum: u32 = ip
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c[1]])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    ip[10..12].copy_from_slice(&(!(sum as u16)).to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&40000u16.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}

/// Sends `frames` out of `eth0` of the network namespace at `netns`, in
/// order, from a thread that enters it (root on the host holds what a
/// default container holds: CAP_NET_RAW in that namespace). The thread
/// is pinned to one CPU: frames queued on one CPU are handled in order,
/// so once the last one (the control) has arrived, so have the others.
fn send_frames(netns: &Path, frames: Vec<Vec<u8>>) {
    let ns = std::fs::File::open(netns).unwrap();
    std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        // SAFETY: plain syscalls on this thread's own state and on a
        // socket it owns; every buffer outlives its call.
        unsafe {
            assert_eq!(libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET), 0);
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(0, &mut set);
            assert_eq!(
                libc::sched_setaffinity(0, std::mem::size_of_val(&set), &set),
                0
            );
            let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW, 0);
            assert!(fd >= 0, "AF_PACKET: {}", std::io::Error::last_os_error());
            let index = libc::if_nametoindex(c"eth0".as_ptr());
            assert!(index > 0, "no eth0 in the container");
            for frame in &frames {
                let mut to: libc::sockaddr_ll = std::mem::zeroed();
                to.sll_family = libc::AF_PACKET as u16;
                to.sll_ifindex = index as i32;
                to.sll_halen = 6;
                to.sll_addr[..6].copy_from_slice(&frame[..6]);
                let n = libc::sendto(
                    fd,
                    frame.as_ptr().cast(),
                    frame.len(),
                    0,
                    (&to as *const libc::sockaddr_ll).cast(),
                    std::mem::size_of::<libc::sockaddr_ll>() as u32,
                );
                assert_eq!(
                    n,
                    frame.len() as isize,
                    "sendto: {}",
                    std::io::Error::last_os_error()
                );
            }
            libc::close(fd);
        }
    })
    .join()
    .expect("sender thread");
}

fn mac(s: &str) -> [u8; 6] {
    let mut m = [0u8; 6];
    for (i, part) in s.trim().split(':').enumerate() {
        m[i] = u8::from_str_radix(part, 16).unwrap();
    }
    m
}

/// How many of `attempts` UDP datagrams a container at `container_ip`
/// (network namespace `netns`, bridge `bridge` with address `gateway`)
/// gets to a listener on the host's 127.0.0.1, sending them to the
/// gateway's MAC with destination 127.0.0.1. A control datagram to the
/// gateway's own address, sent after them, must arrive.
fn loopback_datagrams_through(
    netns: &Path,
    bridge: &str,
    gateway: Ipv4Addr,
    container_ip: Ipv4Addr,
    attempts: usize,
) -> usize {
    let canary = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let control = UdpSocket::bind((gateway, 0)).unwrap();
    let gw_mac = mac(&std::fs::read_to_string(format!("/sys/class/net/{bridge}/address")).unwrap());
    let mut frames: Vec<Vec<u8>> = (0..attempts)
        .map(|i| {
            udp_frame(
                gw_mac,
                container_ip,
                Ipv4Addr::LOCALHOST,
                canary.local_addr().unwrap().port(),
                format!("attack {i}").as_bytes(),
            )
        })
        .collect();
    frames.push(udp_frame(
        gw_mac,
        container_ip,
        gateway,
        control.local_addr().unwrap().port(),
        b"control",
    ));
    send_frames(netns, frames);
    control
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut buf = [0u8; 64];
    let (n, _) = control
        .recv_from(&mut buf)
        .expect("the control datagram arrives through the gateway");
    assert_eq!(&buf[..n], b"control");
    canary.set_nonblocking(true).unwrap();
    let mut got = 0;
    while canary.recv_from(&mut buf).is_ok() {
        got += 1;
    }
    got
}

#[test]
fn containers_cannot_reach_host_loopback_services() {
    let w = Wharf::new();
    w.import_busybox("bb");
    // A port published on 127.0.0.1 makes the root's table hold its
    // loopback rules: the case most likely to let the attack through.
    let id = w
        .ok(["run", "-d", "-p", "127.0.0.1::80", "bb", "sleep", "600"])
        .trim()
        .to_string();
    let bridge = w
        .ok([
            "network",
            "inspect",
            "bridge",
            "--format",
            "{{index .Options \"com.docker.network.bridge.name\"}}",
        ])
        .trim()
        .to_string();
    let gateway: Ipv4Addr = w
        .ok([
            "network",
            "inspect",
            "bridge",
            "--format",
            "{{(index .IPAM.Config 0).Gateway}}",
        ])
        .trim()
        .parse()
        .unwrap();
    let ip: Ipv4Addr = w
        .ok(["inspect", "--format", "{{.NetworkSettings.IPAddress}}", &id])
        .trim()
        .parse()
        .unwrap();
    let netns = w.root().join("containers").join(&id).join("netns");
    let got = loopback_datagrams_through(&netns, &bridge, gateway, ip, 20);
    assert_eq!(got, 0, "{got} of 20 datagrams reached the host's 127.0.0.1");
    w.ok(["rm", "-f", &id]);
}

/// The same attack against docker 20.10's default bridge: nothing gets
/// through (its `route_localnet` is off).
#[test]
fn docker_containers_cannot_reach_host_loopback_services() {
    require_docker();
    let w = Wharf::new();
    let image = format!("{}:1", unique("wharf-hardening/bb"));
    let _images = DockerImages(vec![image.clone()]);
    let tar = common::busybox_rootfs_tar(&w.scratch());
    sh(docker().arg("import").arg(&tar).arg(&image));
    let name = unique("wharf-hardening-c");
    struct Rm(String);
    impl Drop for Rm {
        fn drop(&mut self) {
            let _ = docker().args(["rm", "-f", &self.0]).output();
        }
    }
    let _rm = Rm(name.clone());
    sh(docker().args(["run", "-d", "--name", &name, &image, "sleep", "600"]));
    let inspect = |f: &str| sh(docker().args(["inspect", "--format", f, &name]));
    let pid = inspect("{{.State.Pid}}");
    let ip: Ipv4Addr = inspect("{{.NetworkSettings.IPAddress}}")
        .trim()
        .parse()
        .unwrap();
    let gateway: Ipv4Addr = inspect("{{.NetworkSettings.Gateway}}")
        .trim()
        .parse()
        .unwrap();
    let netns = format!("/proc/{}/ns/net", pid.trim());
    let got = loopback_datagrams_through(Path::new(&netns), "docker0", gateway, ip, 20);
    assert_eq!(got, 0, "docker let {got} of 20 datagrams through");
}

// ---------------------------------------------------------------------------
// Hole 6: the store readable by other users
// ---------------------------------------------------------------------------

/// Runs `program args` as user and group nobody, without supplementary
/// groups.
fn as_nobody(program: &Path, args: &[&str]) -> Output {
    Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"])
        .arg(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("setpriv")
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

#[test]
fn other_users_read_nothing_of_the_store() {
    let w = Wharf::new();
    // Only the store's own modes may keep other users out: the test's
    // temp dir (0700) lets them reach the root.
    std::fs::set_permissions(w.dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    w.import_busybox("bb");
    let secret = format!("canary-{}", unique("secret"));
    let id = w
        .ok([
            "run",
            "-d",
            "--name",
            "victim",
            "-e",
            &format!("SECRET_ENV={secret}"),
            "bb",
            "sh",
            "-c",
            &format!("echo {secret} > /root-file; echo {secret}; sleep 600"),
        ])
        .trim()
        .to_string();
    let root = w.root();
    let cdir = root.join("containers").join(&id);
    common::eventually(10, "the container's log", || {
        std::fs::read_to_string(cdir.join(format!("{id}-json.log")))
            .is_ok_and(|l| l.contains(&secret))
    });
    // Everything that holds the secret, and the container's files.
    let targets = [
        root.join("db.sqlite"),
        root.join("db.sqlite-wal"),
        cdir.join("config.json"),
        cdir.join(format!("{id}-json.log")),
        cdir.join("rootfs/root-file"),
        cdir.join("upper/root-file"),
    ];
    for t in &targets {
        assert!(t.exists(), "{} exists", t.display());
        let out = as_nobody(Path::new("/bin/cat"), &[t.to_str().unwrap()]);
        assert!(
            !out.status.success() && !String::from_utf8_lossy(&out.stdout).contains(&secret),
            "nobody read {}: {}",
            t.display(),
            String::from_utf8_lossy(&out.stdout)
        );
    }
    let grep = as_nobody(
        Path::new("/bin/grep"),
        &["-r", &secret, root.to_str().unwrap()],
    );
    assert!(
        grep.stdout.is_empty(),
        "nobody found the secret: {}",
        String::from_utf8_lossy(&grep.stdout)
    );
    let inspect = as_nobody(
        Path::new(env!("CARGO_BIN_EXE_wharf")),
        &["--root", root.to_str().unwrap(), "inspect", "victim"],
    );
    assert!(!inspect.status.success(), "nobody ran wharf inspect");
    assert!(!String::from_utf8_lossy(&inspect.stdout).contains(&secret));
    assert_eq!(mode(&root), 0o710);
    for f in ["db.sqlite", "db.sqlite-wal", "db.sqlite-shm"] {
        assert_eq!(mode(&root.join(f)), 0o600, "{f}");
    }
    for f in ["config.json", &format!("{id}-json.log")] {
        assert_eq!(mode(&cdir.join(f)), 0o600, "{f}");
    }

    // Containers running as another user still reach their files,
    // volumes and the files bind-mounted from the store.
    w.ok(["volume", "create", "vol1"]);
    w.ok([
        "run",
        "--rm",
        "-v",
        "vol1:/data",
        "bb",
        "sh",
        "-c",
        "echo vol > /data/f",
    ]);
    let out = w.ok([
        "run", "--rm", "-u", "nobody", "-v", "vol1:/data", "bb", "sh", "-c",
        "cat /data/f /etc/hostname /etc/hosts /etc/resolv.conf >/dev/null && cat /data/f && ls /bin/busybox",
    ]);
    assert_eq!(out, "vol\n/bin/busybox\n");
    assert_eq!(
        w.ok(["exec", "-u", "nobody", "victim", "cat", "/etc/passwd"])
            .lines()
            .count(),
        2
    );
    w.ok(["rm", "-f", "victim"]);
}

#[test]
fn an_existing_open_store_is_narrowed_once() {
    let w = Wharf::new();
    w.ok(["ps"]);
    let root = w.root();
    // As an older wharf left it.
    std::fs::set_permissions(&root, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        root.join("db.sqlite"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let first = w.run(["ps"]);
    assert!(first.status.success());
    let err = String::from_utf8_lossy(&first.stderr);
    assert!(
        err.contains(&format!(
            "WARNING: {} was open to other users (mode 0755); it is now 0710",
            root.display()
        )),
        "{err}"
    );
    assert_eq!(mode(&root), 0o710);
    assert_eq!(mode(&root.join("db.sqlite")), 0o600);
    let again = w.run(["ps"]);
    assert!(again.status.success());
    assert!(
        again.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

// ---------------------------------------------------------------------------
// Hole 7: --format exhausting memory
// ---------------------------------------------------------------------------

/// The most address space a `wharf images` may use here: far more than it
/// needs, far less than the attacks asked for (so on a wharf without the
/// bounds they fail at once instead of taking the machine's memory).
const ADDRESS_SPACE: u64 = 4 << 30;

fn bounded_wharf(w: &Wharf, args: &[&str]) -> Command {
    let mut c = w.command(args);
    // SAFETY: setrlimit is async-signal-safe and touches only the child.
    unsafe {
        c.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: ADDRESS_SPACE,
                rlim_max: ADDRESS_SPACE,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    c
}

#[test]
fn format_templates_cannot_exhaust_memory() {
    let w = Wharf::new();
    w.import_busybox("bb");
    // Widths beyond Go's limit: docker's own template engine, as a
    // reference, prints the same.
    let tmpl = "{{printf \"%*d|%.*f|%99999999d\" 1000000000 1 2000000 1.5 3}}";
    let out = bounded_wharf(&w, &["images", "--format", tmpl])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let expected = "%!(BADWIDTH)1|%!(BADPREC)1.500000|%!(NOVERB)%!(EXTRA int=3)\n";
    assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
    require_docker();
    let theirs = sh(docker().args(["version", "--format", tmpl]));
    assert_eq!(theirs, expected);

    // A billion iterations: streamed, in bounded memory. Read well past
    // what is held back before streaming starts (16 MiB), then stop it.
    let line = "x".repeat(64);
    let tmpl = format!("{{{{range $i := 1000000000}}}}{line}{{{{end}}}}");
    let mut child = bounded_wharf(&w, &["images", "--format", &tmpl])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let want = 32 << 20;
    let mut stdout = child.stdout.take().unwrap();
    let mut got = vec![0u8; want];
    let read = stdout.read_exact(&mut got);
    let rss_kib = std::fs::read_to_string(format!("/proc/{}/status", child.id()))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        });
    // The reader goes away, as `| head` does: wharf ends quietly with
    // the status of a process killed by SIGPIPE.
    drop(stdout);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert!(read.is_ok(), "wharf stopped early ({status}): {err}");
    assert_eq!(status.code(), Some(141), "{err}");
    assert_eq!(err, "");
    assert!(got.iter().all(|&b| b == b'x'));
    let rss_kib = rss_kib.expect("the process's peak RSS");
    assert!(
        rss_kib < 256 << 10,
        "peak RSS {rss_kib} KiB while streaming"
    );

    // A table must be whole before it is aligned: bounded, with a clear error.
    let out = bounded_wharf(&w, &["images", "--format", &format!("table {tmpl}")])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "Error: table output exceeds 16 MiB: use a --format without \"table\" to stream it\n"
    );
}

// ---------------------------------------------------------------------------
// Also seen: env files with NUL bytes, sizes out of range
// ---------------------------------------------------------------------------

#[test]
fn env_files_with_nul_bytes_and_sizes_out_of_range_are_refused() {
    let w = Wharf::new();
    w.import_busybox("bb");
    let env = w.scratch().join("bad.env");
    let before = w.store_listing();
    for (content, msg) in [
        (
            &b"A=1\nB=x\0y\nC=3\n"[..],
            "variable 'B' contains a NUL byte at line 2",
        ),
        // Docker's other env-file errors, worded as docker 20.10 words them.
        (b"A=1\nB C=2\n", "variable 'B C' contains whitespaces"),
        (
            b"A=1\nB=\xff\n",
            "invalid utf8 bytes at line 2: [66 61 255]",
        ),
    ] {
        std::fs::write(&env, content).unwrap();
        let (code, err) = w.fails([
            "run",
            "--rm",
            "--env-file",
            env.to_str().unwrap(),
            "bb",
            "env",
        ]);
        assert_eq!(code, 125);
        assert_eq!(
            err,
            format!("Error: invalid env file ({}): {msg}\n", env.display())
        );
    }
    for (flag, value, msg) in [
        (
            "-m",
            "99999999999999999999g",
            "invalid argument \"99999999999999999999g\" for \"-m, --memory\" flag: invalid size: '99999999999999999999g': value out of range",
        ),
        (
            "-m",
            "1e999",
            "invalid argument \"1e999\" for \"-m, --memory\" flag: strconv.ParseFloat: parsing \"1e999\": value out of range",
        ),
        (
            "--cpus",
            "99999999999999999999",
            "Range of CPUs is from 0.01 to",
        ),
        ("--pids-limit", "99999999999999999999", "99999999999999999999"),
    ] {
        let (code, err) = w.fails(["run", "--rm", flag, value, "bb", "true"]);
        assert_eq!(code, 125, "{flag} {value}: {err}");
        assert!(err.contains(msg), "{flag} {value}: {err}");
    }
    // (`create` makes the empty `containers/` parent before validating:
    // nothing of a container.)
    let mut after = w.store_listing();
    after.retain(|p| p != "containers");
    assert_eq!(after, before, "nothing made by refused runs");
    assert_eq!(w.ok(["ps", "-aq"]), "");
}
