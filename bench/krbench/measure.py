"""Measurement: CPU seconds and peak RSS of live processes (/proc), the whole machine's busy time
(/proc/stat, to spot other people's work), waiting for an idle machine, and the mock's counters and
CPU over one client run (MockWindow)."""

import os
import resource
import time

from .procs import log

HZ = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1


def proc_cpu_seconds(pid):
    """utime + stime of a live process (all its threads), in seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / HZ
    except (OSError, IndexError, ValueError):
        return float("nan")


def proc_rss_mib(pid):
    """Peak RSS (VmHWM) of a live process, in MiB."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


def system_busy_seconds():
    """CPU seconds the whole machine (all CPUs) spent in processes since boot (user + nice + system),
    from /proc/stat; irq/softirq time (our own loopback traffic, too) is left out on purpose."""
    try:
        with open("/proc/stat") as f:
            vals = [int(x) for x in f.readline().split()[1:4]]
        return sum(vals) / HZ
    except (OSError, ValueError):
        return float("nan")


def self_cpu_seconds():
    """CPU seconds (user + system) of this harness process."""
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def wait_for_idle(limit_s, threshold=0.15):
    """Waits (up to limit_s) until the machine is quiet: under `threshold` of all CPUs busy for 3 s.
    Returns the busy share last seen (0..1)."""
    deadline = time.monotonic() + limit_s
    while True:
        b0, t0 = system_busy_seconds(), time.monotonic()
        time.sleep(3)
        busy = (system_busy_seconds() - b0) / ((time.monotonic() - t0) * NCPU)
        if busy < threshold:
            log("machine idle enough (%.0f%% busy)" % (100 * busy))
            return busy
        if time.monotonic() >= deadline:
            log("machine still %.0f%% busy after waiting %.0f s: measuring anyway" % (100 * busy, limit_s))
            return busy
        log("machine %.0f%% busy (other work): waiting" % (100 * busy))


class MockWindow:
    """The mock's counters and CPU over one client run, and the machine's busy time (to spot noise)."""

    def __init__(self, mock):
        self.mock = mock
        self.before = mock.stats()
        self.cpu0 = mock.cpu_seconds()
        self.busy0 = system_busy_seconds()
        self.self0 = self_cpu_seconds()
        self.t0 = time.monotonic()

    def close(self):
        """The deltas since the window opened: API requests, 429s, deletions, statuses, CPU (s), RSS."""
        after = self.mock.stats()
        cpu = self.mock.cpu_seconds() - self.cpu0
        wall = time.monotonic() - self.t0
        busy = system_busy_seconds() - self.busy0
        self_cpu = self_cpu_seconds() - self.self0
        b, a = self.before, after

        def d(key):
            return int(a.get(key, 0)) - int(b.get(key, 0))

        def status(code):
            return int(a["status_counts"].get(str(code), 0)) - int(b["status_counts"].get(str(code), 0))

        statuses = {}
        for code in set(a["status_counts"]) | set(b["status_counts"]):
            n = status(int(code))
            if n:
                statuses[code] = n
        # Admin answers written in the window: the one to `before` and any in between, i.e. the admin
        # requests counted since `before` (which includes `after`'s own, whose answer is not yet counted).
        if "200" in statuses:
            statuses["200"] -= d("admin_requests")
            if statuses["200"] == 0:
                del statuses["200"]
        return {
            "api_requests": d("api_requests"),
            "rate_limited": d("rate_limited"),
            "deleted": int(a["keys"]["deleted"]) - int(b["keys"]["deleted"]),
            "status_counts": statuses,
            "cpu_s": round(cpu, 3),
            "cpu_util": round(cpu / wall, 3) if wall > 0 else None,
            "in_flight_max": int(a.get("in_flight_max", 0)),
            "connections_open_max": int(a.get("connections_open_max", 0)),
            "connections_accepted": d("connections_accepted") - d("admin_connections"),
            "tls_handshakes": d("tls_handshakes"),
            "tls_sessions_resumed": d("tls_sessions_resumed"),
            "threads": self.mock.threads,
            "rss_mib": round(proc_rss_mib(self.mock.proc.pid), 1),
            "window_s": round(wall, 3),
            "machine_busy_s": round(busy, 3),
            "harness_cpu_s": round(self_cpu, 3),
        }
