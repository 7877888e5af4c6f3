/* A no-op OCI runtime for bench/runc.sh: the least containerd's
 * containerd-shim-runc-v2 accepts for `ctr run --rm IMAGE ID echo hi`, so
 * that the bench can measure what containerd, the shim and ctr cost
 * without any runtime (the floor: the best ratio any runtime can reach).
 * Not a container: no namespace, cgroup or rootfs. `create` forks a child
 * that waits for SIGUSR1 and writes "hi" to the stdout it inherited (the
 * shim's fifo), the pid goes to --pid-file; `start` sends the signal;
 * `state`, `kill` and `delete` use <root>/<id>/pid. Built by the bench
 * with cc; never installed. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void nothing(int sig) { (void)sig; }

static void write_file(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    if (write(fd, text, strlen(text)) < 0) { /* the shim reports it */ }
    close(fd);
  }
}

static void mkdir_p(const char *dir) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", dir);
  for (char *p = tmp + 1; *p; p++)
    if (*p == '/') { *p = 0; mkdir(tmp, 0711); *p = '/'; }
  mkdir(tmp, 0711);
}

int main(int argc, char **argv) {
  const char *root = "/run/noop-runtime", *bundle = "", *pid_file = NULL;
  const char *cmd = NULL, *id = NULL, *sig = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--root") && i + 1 < argc) root = argv[++i];
    else if (!strcmp(a, "--bundle") && i + 1 < argc) bundle = argv[++i];
    else if (!strcmp(a, "--pid-file") && i + 1 < argc) pid_file = argv[++i];
    else if ((!strcmp(a, "--log") || !strcmp(a, "--log-format") ||
              !strcmp(a, "--console-socket")) && i + 1 < argc) i++;
    else if (a[0] == '-') continue;
    else if (!cmd) cmd = a;
    else if (!id) id = a;
    else if (!sig) sig = a;
  }
  if (!cmd || !id) { fprintf(stderr, "noop-runtime: usage\n"); return 1; }
  char dir[4096], pid_path[4200];
  snprintf(dir, sizeof dir, "%s/%s", root, id);
  snprintf(pid_path, sizeof pid_path, "%s/pid", dir);

  if (!strcmp(cmd, "create")) {
    mkdir_p(root);
    if (mkdir(dir, 0700) != 0) { fprintf(stderr, "container with given ID already exists\n"); return 1; }
    sigset_t usr1, old;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_BLOCK, &usr1, &old);
    signal(SIGUSR1, nothing);
    pid_t child = fork();
    if (child < 0) { perror("fork"); return 1; }
    if (child == 0) {
      setsid();
      sigsuspend(&old);
      ssize_t n = write(1, "hi\n", 3);
      _exit(n == 3 ? 0 : 1);
    }
    char text[32];
    snprintf(text, sizeof text, "%d", child);
    write_file(pid_path, text);
    if (pid_file) write_file(pid_file, text);
    return 0;
  }

  char text[32] = {0};
  int fd = open(pid_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (!strcmp(cmd, "delete")) { rmdir(dir); return 0; }
    fprintf(stderr, "container does not exist\n");
    return 1;
  }
  if (read(fd, text, sizeof text - 1) < 0) text[0] = 0;
  close(fd);
  pid_t pid = atoi(text);
  if (!strcmp(cmd, "start")) return kill(pid, SIGUSR1) == 0 ? 0 : 1;
  if (!strcmp(cmd, "kill")) {
    int n = SIGTERM;
    if (sig) n = (sig[0] >= '0' && sig[0] <= '9') ? atoi(sig) : strstr(sig, "KILL") ? SIGKILL : SIGTERM;
    kill(pid, n);
    return 0;
  }
  if (!strcmp(cmd, "delete")) { unlink(pid_path); rmdir(dir); return 0; }
  if (!strcmp(cmd, "state")) {
    int alive = kill(pid, 0) == 0 || errno == EPERM;
    printf("{\"ociVersion\":\"1.0.2\",\"id\":\"%s\",\"pid\":%d,\"status\":\"%s\","
           "\"bundle\":\"%s\",\"rootfs\":\"\",\"created\":\"1970-01-01T00:00:00Z\",\"owner\":\"\"}\n",
           id, alive ? pid : 0, alive ? "running" : "stopped", bundle);
    return 0;
  }
  return 0;
}
