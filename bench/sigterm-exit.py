#!/usr/bin/env python3
"""How long a process takes to leave after SIGTERM, with no engine between.

Called by bench/compose.sh with the PID of a running container's main
process (redis, as the walkthrough's `db` runs it). It sends SIGTERM
itself and waits on a pidfd, which becomes readable when the process has
exited (before anyone reaps it): no engine code is on that path, so this
is the part of a `compose down` that neither tool can shorten. A `down`
can be no faster than its slowest service's time here.

Prints the microseconds from the signal to the exit.

usage: sigterm-exit.py PID
"""

import os
import select
import signal
import sys
import time


def main() -> None:
    pid = int(sys.argv[1])
    # Opened before the clock starts: only the process's own time counts.
    fd = os.pidfd_open(pid)
    start = time.perf_counter_ns()
    signal.pidfd_send_signal(fd, signal.SIGTERM)
    select.select([fd], [], [])
    print((time.perf_counter_ns() - start) // 1000)


if __name__ == "__main__":
    main()
