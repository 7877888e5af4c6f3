/* Confinement probe for crates/wharf/tests/confinement.rs (issue 15): run
 * as a container's command, it prints one `key=value` line per thing a
 * container must not be able to do (or must see), so the test can put the
 * docker and wharf columns side by side. Values are "ok" or an errno name;
 * nothing here writes to a sensitive file: write access is probed by
 * open(O_WRONLY) without writing. Built `gcc -static` at test time. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <linux/perf_event.h>

static const char *res(long r) {
    static char buf[32];
    if (r >= 0) return "ok";
    const char *n = strerrorname_np(errno);
    if (n) return n;
    snprintf(buf, sizeof buf, "errno%d", errno);
    return buf;
}

static void status_field(const char *field, const char *key) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, field, n) == 0 && line[n] == ':') {
            char *v = line + n + 1;
            while (*v == ' ' || *v == '\t') v++;
            v[strcspn(v, "\n")] = 0;
            printf("%s=%s\n", key, v);
            fclose(f);
            return;
        }
    }
    printf("%s=missing\n", key);
    if (f) fclose(f);
}

/* Run f in a child so state changes (unshare, ptrace) stay out of the probe. */
static void in_child(const char *key, long (*f)(void)) {
    int p[2];
    char buf[32] = {0};
    if (pipe(p) != 0) { printf("%s=pipe-failed\n", key); return; }
    pid_t c = fork();
    if (c == 0) {
        close(p[0]);
        const char *r = res(f());
        if (write(p[1], r, strlen(r)) < 0) _exit(1);
        _exit(0);
    }
    close(p[1]);
    if (read(p[0], buf, sizeof buf - 1) < 0) buf[0] = 0;
    close(p[0]);
    waitpid(c, NULL, 0);
    printf("%s=%s\n", key, buf[0] ? buf : "child-died");
}

static long do_unshare_user(void) { return unshare(CLONE_NEWUSER); }
static long do_unshare_ns(void) { return unshare(CLONE_NEWNS); }
static long do_ptrace(void) {
    long r = ptrace(PTRACE_ATTACH, 1, 0, 0);
    if (r == 0) { waitpid(1, NULL, __WALL); ptrace(PTRACE_DETACH, 1, 0, 0); }
    return r;
}

/* Readable means open and one read succeed (directories: opendir). */
static void readable(const char *key, const char *path) {
    struct stat st;
    if (stat(path, &st) != 0) { printf("%s=%s\n", key, res(-1)); return; }
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d) { printf("%s=%s\n", key, res(-1)); return; }
        int n = 0;
        struct dirent *e;
        while ((e = readdir(d))) if (e->d_name[0] != '.') n++;
        closedir(d);
        printf("%s=%s\n", key, n ? "ok" : "empty");
        return;
    }
    int fd = open(path, O_RDONLY | O_NONBLOCK);
    if (fd < 0) { printf("%s=%s\n", key, res(-1)); return; }
    char c;
    long r = read(fd, &c, 1);
    close(fd);
    printf("%s=%s\n", key, r > 0 ? "ok" : r == 0 ? "empty" : res(-1));
}

static void writable(const char *key, const char *path) {
    int fd = open(path, O_WRONLY);
    printf("%s=%s\n", key, res(fd));
    if (fd >= 0) close(fd);
}

static void mount_ro(const char *key, const char *path) {
    struct statvfs s;
    if (statvfs(path, &s) != 0) { printf("%s=%s\n", key, res(-1)); return; }
    printf("%s=%s\n", key, (s.f_flag & ST_RDONLY) ? "ro" : "rw");
}

/* CVE-2022-0492: a fresh cgroup v1 mount whose release_agent is writable. */
static void release_agent(void) {
    const char *subs[] = {"rdma", "memory", "pids", "cpuset", NULL};
    mkdir("/tmp/.probe-cg", 0700);
    const char *r = "none-mounted";
    static char buf[64];
    for (int i = 0; subs[i]; i++) {
        if (mount("cgroup", "/tmp/.probe-cg", "cgroup", 0, subs[i]) != 0) {
            snprintf(buf, sizeof buf, "mount-%s", res(-1));
            r = buf;
            continue;
        }
        int fd = open("/tmp/.probe-cg/release_agent", O_WRONLY);
        snprintf(buf, sizeof buf, "%s", res(fd));
        r = buf;
        if (fd >= 0) close(fd);
        umount("/tmp/.probe-cg");
        break;
    }
    rmdir("/tmp/.probe-cg");
    printf("cgroup_release_agent_write=%s\n", r);
}

int main(void) {
    printf("uid=%d\n", (int)getuid());
    status_field("CapEff", "cap_eff");
    status_field("CapPrm", "cap_prm");
    status_field("CapBnd", "cap_bnd");
    status_field("NoNewPrivs", "no_new_privs");
    status_field("Seccomp", "seccomp");

    mkdir("/tmp/.probe-mnt", 0700);
    long m = mount("tmpfs", "/tmp/.probe-mnt", "tmpfs", 0, NULL);
    printf("sys_mount=%s\n", res(m));
    if (m == 0) umount("/tmp/.probe-mnt");
    rmdir("/tmp/.probe-mnt");
    in_child("sys_unshare_user", do_unshare_user);
    in_child("sys_unshare_mnt", do_unshare_ns);
    printf("sys_keyctl=%s\n", res(syscall(SYS_keyctl, 0 /* GET_KEYRING_ID */, -3 /* session */, 0)));
    printf("sys_bpf=%s\n", res(syscall(SYS_bpf, 0 /* MAP_CREATE */, NULL, 0)));
    in_child("sys_ptrace_pid1", do_ptrace);
    printf("sys_kexec_load=%s\n", res(syscall(SYS_kexec_load, 0, 0, NULL, 0)));
    printf("sys_open_by_handle_at=%s\n", res(syscall(SYS_open_by_handle_at, -1, NULL, 0)));
    struct perf_event_attr pa;
    memset(&pa, 0, sizeof pa);
    pa.size = sizeof pa;
    pa.type = PERF_TYPE_SOFTWARE;
    pa.config = PERF_COUNT_SW_CPU_CLOCK;
    long pfd = syscall(SYS_perf_event_open, &pa, 0, -1, -1, 0);
    printf("sys_perf_event_open=%s\n", res(pfd));
    if (pfd >= 0) close(pfd);

    readable("read_proc_kcore", "/proc/kcore");
    readable("read_proc_keys", "/proc/keys");
    readable("read_proc_timer_list", "/proc/timer_list");
    readable("read_proc_sched_debug", "/proc/sched_debug");
    readable("read_proc_latency_stats", "/proc/latency_stats");
    readable("read_proc_acpi", "/proc/acpi");
    readable("read_proc_scsi", "/proc/scsi");
    readable("read_sys_firmware", "/sys/firmware");
    readable("read_sys_powercap", "/sys/devices/virtual/powercap");

    mount_ro("mount_proc_sys", "/proc/sys");
    mount_ro("mount_proc_bus", "/proc/bus");
    mount_ro("mount_proc_fs", "/proc/fs");
    mount_ro("mount_proc_irq", "/proc/irq");
    mount_ro("mount_sys", "/sys");
    mount_ro("mount_sys_fs_cgroup", "/sys/fs/cgroup");
    mount_ro("mount_sys_fs_cgroup_memory", "/sys/fs/cgroup/memory");
    writable("write_cgroup_memory_limit", "/sys/fs/cgroup/memory/memory.limit_in_bytes");
    mount_ro("mount_root", "/");
    writable("write_proc_sys_kernel_domainname", "/proc/sys/kernel/domainname");
    writable("write_proc_sysrq_trigger", "/proc/sysrq-trigger");
    writable("write_sys_kernel_uevent_helper", "/sys/kernel/uevent_helper");
    release_agent();

    long k = mknod("/tmp/.probe-sda", S_IFBLK | 0600, makedev(8, 0));
    printf("mknod_block=%s\n", res(k));
    if (k == 0) {
        readable("open_mknod_block", "/tmp/.probe-sda");
        unlink("/tmp/.probe-sda");
    } else {
        printf("open_mknod_block=no-node\n");
    }
    k = mknod("/tmp/.probe-mem", S_IFCHR | 0600, makedev(1, 1));
    if (k == 0) {
        readable("open_mknod_mem", "/tmp/.probe-mem");
        unlink("/tmp/.probe-mem");
    } else {
        printf("open_mknod_mem=no-node\n");
    }
    readable("read_dev_mem", "/dev/mem");
    readable("read_dev_sda", "/dev/sda");
    readable("read_dev_vda", "/dev/vda");
    writable("write_proc_self_exe", "/proc/self/exe");
    return 0;
}
