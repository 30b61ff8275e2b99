#!/usr/bin/env python3
"""keyrevoke's benchmark harness (issue 4). Standard library only; run through bench/run.sh.

Starts keyrevoke-mock on 127.0.0.1 (pinned to one core), runs keyrevoke and its real alternatives
(curl --parallel, a Python aiohttp script, wrk as the ceiling) against it on the other core, and
prints an h2load-like table per scenario plus ratios measured in this one run. Writes
bench/results/latest.json (full runs; quick runs write latest-quick.json), a timestamped copy, the
rate-step plot, and (full runs) the results block of bench/README.md.

Every process it starts is in its own session, tracked in a pid file and killed on exit, failure or
signal; every client run has a deadline. Traffic goes to 127.0.0.1 only.
"""

import argparse
import array
import datetime
import hashlib
import http.client
import json
import math
import os
import re
import resource
import secrets
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
RESULTS = os.path.join(HERE, "results")
KEYREVOKE = os.environ.get("KEYREVOKE_BIN", os.path.join(ROOT, "build", "release", "keyrevoke"))
MOCK = os.environ.get("KEYREVOKE_MOCK_BIN", os.path.join(ROOT, "build", "release", "keyrevoke-mock"))
WRK_SCRIPT = os.path.join(HERE, "wrk_delete.lua")
AIOHTTP_PEER = os.path.join(HERE, "peers", "aiohttp_revoke.py")
README = os.path.join(HERE, "README.md")

HZ = os.sysconf("SC_CLK_TCK")
NCPU = os.cpu_count() or 1
TIME_BIN = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None

# A fresh management key per run; it never appears on a command line.
MANAGEMENT_KEY = "sk-mg-v1-bench-" + secrets.token_hex(24)


def log(msg):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


# --------------------------------------------------------------------------------------------
# Processes: every child in its own session, tracked, killed on the way out.
# --------------------------------------------------------------------------------------------

class Registry:
    def __init__(self):
        self.procs = {}
        self.pidfile = None

    def set_pidfile(self, path):
        self.pidfile = path
        self._write()

    def _write(self):
        if not self.pidfile:
            return
        with open(self.pidfile + ".tmp", "w") as f:
            f.write("".join("%d\n" % pid for pid in self.procs))
        os.replace(self.pidfile + ".tmp", self.pidfile)

    def add(self, proc):
        self.procs[proc.pid] = proc
        self._write()

    def forget(self, proc):
        self.procs.pop(proc.pid, None)
        self._write()

    def kill_all(self):
        for pid, proc in list(self.procs.items()):
            if proc.returncode is None:
                try:
                    os.killpg(pid, signal.SIGTERM)
                except OSError:
                    pass
        deadline = time.monotonic() + 5
        for pid, proc in list(self.procs.items()):
            if proc.returncode is not None:
                continue
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    pass
            except ChildProcessError:
                pass
        self.procs.clear()
        self._write()


REG = Registry()


def pinned(cmd, cpu):
    """Prefix `taskset -c cpu` (taskset execs, so the pid stays the command's)."""
    if cpu is None or shutil.which("taskset") is None:
        return list(cmd)
    return ["taskset", "-c", str(cpu)] + list(cmd)


def spawn(cmd, env=None, stdout=None, stderr=None, stdin=subprocess.DEVNULL):
    proc = subprocess.Popen(cmd, env=env, stdout=stdout, stderr=stderr, stdin=stdin, start_new_session=True)
    REG.add(proc)
    return proc


def client_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MODELGATES_")}
    env["MODELGATES_MANAGEMENT_KEY"] = MANAGEMENT_KEY
    env["LC_ALL"] = "C"
    if extra:
        env.update(extra)
    return env


class Finished:
    """What a finished client run left: exit code, wall time, its own rusage."""

    def __init__(self, code, wall, ru, stdout, stderr, timed_out, maxrss_kib=None):
        self.code, self.wall, self.ru, self.stdout, self.stderr, self.timed_out = code, wall, ru, stdout, stderr, timed_out
        self.maxrss_kib = maxrss_kib

    @property
    def cpu_s(self):
        return self.ru.ru_utime + self.ru.ru_stime if self.ru else float("nan")

    @property
    def maxrss_mib(self):
        if self.maxrss_kib is not None:
            return self.maxrss_kib / 1024.0
        return self.ru.ru_maxrss / 1024.0 if self.ru else float("nan")


class Client:
    """A client process measured with wait4 (its own CPU time and peak RSS, nothing else's)."""

    def __init__(self, cmd, env, workdir, name, cpu):
        self.name = name
        self.out_path = os.path.join(workdir, name + ".out")
        self.err_path = os.path.join(workdir, name + ".err")
        self._out = open(self.out_path, "wb")
        self._err = open(self.err_path, "wb")
        # GNU time reports the client's own peak RSS: wait4's ru_maxrss of a child forked from this
        # Python process would include Python's RSS at fork (Linux keeps the pre-exec high-water mark).
        # time's own share is ~1 MiB (its forked copy); its CPU is negligible and wait4 counts it.
        self.time_path = os.path.join(workdir, name + ".time")
        if TIME_BIN:
            cmd = [TIME_BIN, "-q", "-f", "%e %U %S %M", "-o", self.time_path] + pinned(cmd, cpu)
        else:
            cmd = pinned(cmd, cpu)
        self.started = time.monotonic()
        self.proc = spawn(cmd, env=env, stdout=self._out, stderr=self._err)
        self.ended = None
        self.status = None
        self.ru = None
        self.done = threading.Event()
        self._waiter = threading.Thread(target=self._wait, daemon=True)
        self._waiter.start()

    def _wait(self):
        try:
            _, status, ru = os.wait4(self.proc.pid, 0)
            self.ended = time.monotonic()
            self.status, self.ru = status, ru
            self.proc.returncode = os.waitstatus_to_exitcode(status)
        except ChildProcessError:
            self.ended = time.monotonic()
            self.proc.returncode = -1
        self.done.set()

    def signal(self, sig):
        """To the whole session: GNU time ignores SIGINT while it waits, the client under it does not."""
        if not self.done.is_set():
            try:
                os.killpg(self.proc.pid, sig)
            except OSError:
                pass

    def finish(self, timeout):
        timed_out = False
        if not self.done.wait(timeout):
            timed_out = True
            log("%s did not finish in %.0f s: killing it" % (self.name, timeout))
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                pass
            self.done.wait(10)
        REG.forget(self.proc)
        self._out.close()
        self._err.close()
        with open(self.out_path, "rb") as f:
            out = f.read().decode("utf-8", "replace")
        with open(self.err_path, "rb") as f:
            err = f.read().decode("utf-8", "replace")
        wall = (self.ended or time.monotonic()) - self.started
        maxrss_kib = None
        if TIME_BIN:
            try:
                with open(self.time_path) as f:
                    maxrss_kib = int(f.read().split()[-1])
            except (OSError, ValueError, IndexError):
                pass
        return Finished(self.proc.returncode, wall, self.ru, out, err, timed_out, maxrss_kib)


def run_client(cmd, env, workdir, name, cpu, timeout):
    return Client(cmd, env, workdir, name, cpu).finish(timeout)


# --------------------------------------------------------------------------------------------
# The mock
# --------------------------------------------------------------------------------------------

def proc_cpu_seconds(pid):
    """utime + stime of a live process (all its threads), in seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / HZ
    except (OSError, IndexError, ValueError):
        return float("nan")


def proc_rss_mib(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return float("nan")


class Mock:
    def __init__(self, workdir, name, keys_file, args=(), cpu=0, threads=1):
        self.workdir, self.name, self.keys_file = workdir, name, keys_file
        self.args, self.cpu, self.threads = list(args), cpu, threads
        self.ca = os.path.join(workdir, name + "-ca.pem")
        self.port_file = os.path.join(workdir, name + ".port")
        self.stats_file = os.path.join(workdir, name + "-stats.json")
        self.log_path = os.path.join(workdir, name + ".log")
        self.proc = None
        self.port = None
        self.startup_s = None
        self._conn = None

    def start(self, timeout=120):
        for p in (self.port_file, self.stats_file):
            if os.path.exists(p):
                os.unlink(p)
        cmd = [MOCK, "--host", "127.0.0.1", "--port", "0", "--port-file", self.port_file, "--ca-out", self.ca,
               "--stats-out", self.stats_file, "--keys-file", self.keys_file, "--threads", str(self.threads),
               "--quiet"] + self.args
        t0 = time.monotonic()
        self._log = open(self.log_path, "ab")
        self.proc = spawn(pinned(cmd, self.cpu), env=client_env(), stdout=self._log, stderr=subprocess.STDOUT)
        deadline = t0 + timeout
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None:
                raise RuntimeError("mock exited with %s: %s" % (self.proc.returncode, open(self.log_path).read()))
            if time.monotonic() > deadline:
                raise RuntimeError("mock did not start in %d s" % timeout)
            time.sleep(0.005)
        with open(self.port_file) as f:
            self.port = int(f.read().strip())
        self.startup_s = time.monotonic() - t0
        return self

    @property
    def origin(self):
        return "https://127.0.0.1:%d" % self.port

    @property
    def base_url(self):
        return self.origin + "/api/v1"

    def cpu_seconds(self):
        return proc_cpu_seconds(self.proc.pid)

    def stats(self):
        """GET /__admin/stats over one kept-alive HTTPS connection (cheap enough to poll at 10 Hz)."""
        for attempt in range(3):
            try:
                if self._conn is None:
                    ctx = ssl.create_default_context(cafile=self.ca)
                    ctx.check_hostname = False
                    self._conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=ctx, timeout=10)
                self._conn.request("GET", "/__admin/stats")
                resp = self._conn.getresponse()
                body = resp.read()
                if resp.status != 200:
                    raise RuntimeError("stats: HTTP %d" % resp.status)
                return json.loads(body)
            except (OSError, http.client.HTTPException):
                if self._conn is not None:
                    self._conn.close()
                self._conn = None
                if attempt == 2:
                    raise
                time.sleep(0.05)

    def stop(self):
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        REG.forget(self.proc)
        self._log.close()
        self.proc = None


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
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


def wait_for_idle(limit_s, threshold=0.15):
    """Waits (up to limit_s) until the machine is quiet: under `threshold` of all CPUs busy for 3 s."""
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


# --------------------------------------------------------------------------------------------
# Inputs and parsing
# --------------------------------------------------------------------------------------------

def write_hashes(path, n):
    """n distinct random hashes, one per line (fast: one urandom call per 64k hashes)."""
    chunk = 1 << 16
    with open(path, "w") as f:
        left = n
        while left > 0:
            k = min(chunk, left)
            hx = os.urandom(32 * k).hex()
            f.write("\n".join(hx[i:i + 64] for i in range(0, 64 * k, 64)))
            f.write("\n")
            left -= k
    return path


def split_file(src, parts, workdir, stem):
    paths = [os.path.join(workdir, "%s-%d.txt" % (stem, i)) for i in range(parts)]
    files = [open(p, "w") for p in paths]
    with open(src) as f:
        for i, line in enumerate(f):
            files[i % parts].write(line)
    for f in files:
        f.close()
    return paths


def percentile(sorted_values, p):
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(math.ceil(p / 100.0 * len(sorted_values))) - 1))
    return sorted_values[k]


def latency_summary(values_ms):
    if not values_ms:
        return None
    s = sorted(values_ms)
    return {"p50": round(percentile(s, 50), 2), "p90": round(percentile(s, 90), 2),
            "p99": round(percentile(s, 99), 2), "max": round(s[-1], 2),
            "mean": round(sum(s) / len(s), 2)}


def parse_report(path):
    """keyrevoke's (and the aiohttp peer's) JSON Lines report: outcomes, statuses, attempts, latency."""
    outcomes, statuses = {}, {}
    attempts_sum = attempts_max = rows = 0
    elapsed = array.array("d")
    with open(path, "rb") as f:
        for line in f:
            r = json.loads(line)
            if r.get("hash") is None:
                outcomes["invalid"] = outcomes.get("invalid", 0) + 1
                continue
            rows += 1
            o = r["outcome"]
            outcomes[o] = outcomes.get(o, 0) + 1
            st = str(r["http_status"]) if r.get("http_status") is not None else "none"
            statuses[st] = statuses.get(st, 0) + 1
            a = int(r.get("attempts") or 0)
            attempts_sum += a
            attempts_max = max(attempts_max, a)
            if r.get("elapsed_ms") is not None and a > 0:
                elapsed.append(float(r["elapsed_ms"]))
    return {"rows": rows, "outcomes": outcomes, "final_status": statuses,
            "attempts_mean": round(attempts_sum / rows, 4) if rows else None,
            "attempts_max": attempts_max, "attempts_total": attempts_sum,
            "latency_ms": latency_summary(elapsed)}


SUMMARY_RE = re.compile(r"keyrevoke: ([\d,]+) hashes in ([\d.]+) s \((\d+)/s\)")
REQUESTS_RE = re.compile(r"requests ([\d,]+) \(retries ([\d,]+); answered 429: ([\d,]+), 5xx: ([\d,]+), "
                         r"network errors: ([\d,]+), timeouts: ([\d,]+)\)")
POOL_RE = re.compile(r"connections opened (\d+) \(TLS sessions resumed (\d+), max open (\d+)\)")
CUTS_RE = re.compile(r"rate limited: (\d+) cuts, last limit (\d+)/s")


def num(text):
    return int(text.replace(",", ""))


def parse_keyrevoke_summary(stderr):
    out = {}
    m = SUMMARY_RE.search(stderr)
    if m:
        out.update(hashes=num(m.group(1)), elapsed_s=float(m.group(2)), rate=int(m.group(3)))
    m = REQUESTS_RE.search(stderr)
    if m:
        out.update(requests=num(m.group(1)), retries=num(m.group(2)), throttled=num(m.group(3)),
                   server_errors=num(m.group(4)), network_errors=num(m.group(5)), timeouts=num(m.group(6)))
    m = POOL_RE.search(stderr)
    if m:
        out.update(connections=int(m.group(1)), tls_resumed=int(m.group(2)), max_open=int(m.group(3)))
    m = CUTS_RE.search(stderr)
    if m:
        out.update(cuts=int(m.group(1)), last_limit=int(m.group(2)))
    return out


def status_classes(statuses):
    """{'200': n, '404': n, '429': n, ...} (answers, not hashes) -> h2load-like classes."""
    c = {"2xx": 0, "404": 0, "429": 0, "4xx": 0, "5xx": 0}
    for code, n in statuses.items():
        try:
            k = int(code)
        except ValueError:
            continue
        if 200 <= k < 300:
            c["2xx"] += n
        elif k == 404:
            c["404"] += n
        elif k == 429:
            c["429"] += n
        elif 400 <= k < 500:
            c["4xx"] += n
        elif k >= 500:
            c["5xx"] += n
    return c


# --------------------------------------------------------------------------------------------
# One measured run per tool
# --------------------------------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.work = tempfile.mkdtemp(prefix="krbench-")
        REG.set_pidfile(args.pidfile or os.path.join(self.work, "pids"))
        pin = args.placement == "pinned" and NCPU >= 2
        self.mock_cpu = 0 if pin else None
        self.client_cpu = 1 if pin else None
        self.mock_threads = args.mock_threads
        self.results = {}
        self.text = []  # the printed tables, also saved for the README
        self.best_concurrency = None
        self.aiohttp_python = find_aiohttp_python()
        self.seq = 0

    def name(self, stem):
        self.seq += 1
        return "%02d-%s" % (self.seq, stem)

    def emit(self, line=""):
        print(line, flush=True)
        self.text.append(line)

    def mock(self, keys_file, args=(), threads=None):
        return Mock(self.work, self.name("mock"), keys_file, args=args, cpu=self.mock_cpu,
                    threads=threads or self.mock_threads).start()

    def hashes(self, n, stem="hashes"):
        path = os.path.join(self.work, "%s-%d.txt" % (stem, n))
        if not os.path.exists(path):
            t0 = time.monotonic()
            write_hashes(path, n)
            log("generated %d hashes in %.2f s" % (n, time.monotonic() - t0))
        return path

    # --- the tools ---------------------------------------------------------------------------

    def keyrevoke(self, mock, hashes_file, concurrency, extra=(), timeout=900, name="keyrevoke"):
        report = os.path.join(self.work, self.name(name) + ".jsonl")
        cmd = [KEYREVOKE, "--base-url", mock.base_url, "--cacert", mock.ca, "--report", report, "--force",
               "--progress", "never", "--concurrency", str(concurrency)] + list(extra) + [hashes_file]
        return cmd, report

    def measure_keyrevoke(self, mock, hashes_file, concurrency, extra=(), timeout=900, sample=False):
        """One keyrevoke run. With sample=True the mock's counters are also read every 100 ms and
        binned per 0.5 s (rec["bins"]: sent, deleted, throttled per bin)."""
        cmd, report = self.keyrevoke(mock, hashes_file, concurrency, extra)
        window = MockWindow(mock)
        samples = []
        if sample:
            client = Client(cmd, client_env(), self.work, os.path.basename(report)[:-6], self.client_cpu)
            deadline = time.monotonic() + timeout
            next_tick = time.monotonic()
            while not client.done.is_set() and time.monotonic() < deadline:
                st = mock.stats()
                samples.append((st["uptime_ms"] / 1000.0, st["api_requests"], st["keys"]["deleted"],
                                st["rate_limited"]))
                next_tick += 0.1
                client.done.wait(max(0.0, next_tick - time.monotonic()))
            fin = client.finish(max(1.0, deadline - time.monotonic()))
            st = mock.stats()
            samples.append((st["uptime_ms"] / 1000.0, st["api_requests"], st["keys"]["deleted"], st["rate_limited"]))
        else:
            fin = run_client(cmd, client_env(), self.work, os.path.basename(report)[:-6], self.client_cpu, timeout)
        m = window.close()
        rep = parse_report(report)
        self_rep = parse_keyrevoke_summary(fin.stderr)
        hashes = rep["rows"]
        requests = self_rep.get("requests", rep["attempts_total"])
        rec = self.record("keyrevoke", concurrency, fin, hashes, requests, m, rep["latency_ms"],
                          outcomes=rep["outcomes"], report=rep, self_reported=self_rep)
        if sample and len(samples) >= 2:
            rec["bins"] = bin_counters(samples, 0.5)
            # The tail: how long the last 1% of deletions took (retries waiting out a Retry-After show here).
            base, final = samples[0][2], samples[-1][2]
            t99 = next((x[0] for x in samples if x[2] - base >= 0.99 * (final - base)), samples[-1][0])
            rec["tail_last_1pct_s"] = round(samples[-1][0] - t99, 2)
        return rec

    def measure_curl(self, mock, hashes_file, concurrency, timeout=900):
        name = self.name("curl")
        cfg = os.path.join(self.work, name + ".cfg")
        fd = os.open(cfg, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write('header = "Authorization: Bearer %s"\n' % MANAGEMENT_KEY)
            with open(hashes_file) as hf:
                for line in hf:
                    h = line.strip()
                    if h:
                        f.write('url = "%s/keys/%s"\noutput = "/dev/null"\n' % (mock.base_url, h))
        cmd = ["curl", "--parallel", "--parallel-max", str(concurrency), "--parallel-immediate", "--http1.1",
               "-X", "DELETE", "-H", "Content-Type: application/json", "-H", "Accept: application/json",
               "-d", "{}", "--cacert", mock.ca, "--silent", "--show-error",
               "--write-out", "%{http_code} %{time_total}\\n", "-K", cfg]
        window = MockWindow(mock)
        fin = run_client(cmd, client_env(), self.work, name, self.client_cpu, timeout)
        m = window.close()
        codes, lat = {}, []
        for line in fin.stdout.splitlines():
            parts = line.split()
            if len(parts) != 2:
                continue
            codes[parts[0]] = codes.get(parts[0], 0) + 1
            lat.append(float(parts[1]) * 1000.0)
        n = sum(codes.values())
        outcomes = {"deleted": codes.get("200", 0), "not_found": codes.get("404", 0)}
        outcomes["failed"] = n - outcomes["deleted"] - outcomes["not_found"]
        os.unlink(cfg)
        return self.record("curl", concurrency, fin, n, n, m, latency_summary(lat), outcomes=outcomes,
                           self_reported={"http_codes": codes})

    def measure_aiohttp(self, mock, hashes_file, concurrency, timeout=900):
        name = self.name("aiohttp")
        report = os.path.join(self.work, name + ".jsonl")
        cmd = [self.aiohttp_python, AIOHTTP_PEER, "--base-url", mock.base_url, "--cacert", mock.ca,
               "--concurrency", str(concurrency), "--report", report, hashes_file]
        window = MockWindow(mock)
        fin = run_client(cmd, client_env(), self.work, name, self.client_cpu, timeout)
        m = window.close()
        rep = parse_report(report)
        return self.record("aiohttp", concurrency, fin, rep["rows"], rep["attempts_total"], m, rep["latency_ms"],
                           outcomes=rep["outcomes"], report=rep)

    def measure_wrk(self, mock, hashes_file, concurrency, seconds, timeout=900):
        name = self.name("wrk")
        cmd = ["wrk", "-t1", "-c%d" % concurrency, "-d%ds" % seconds, "--timeout", "10s", "-s", WRK_SCRIPT,
               mock.origin]
        window = MockWindow(mock)
        fin = run_client(cmd, client_env({"WRK_HASHES": hashes_file, "WRK_BASE_PATH": "/api/v1"}),
                         self.work, name, self.client_cpu, timeout)
        m = window.close()
        summary = {}
        for line in fin.stdout.splitlines():
            if line.startswith("wrk_delete: "):
                summary = json.loads(line[len("wrk_delete: "):])
        n = int(summary.get("requests", 0))
        dur = summary.get("duration_us", 0) / 1e6
        lat = summary.get("latency_us", {})
        latency = {k: round(lat[k] / 1000.0, 2) for k in ("p50", "p90", "p99", "max", "mean") if k in lat}
        # wrk counts what it read back; the mock may also have answered requests wrk cut off at the end.
        errs = summary.get("errors", {})
        outcomes = {"deleted": m["deleted"], "not_found": m["status_counts"].get("404", 0),
                    "failed": sum(int(errs.get(k, 0)) for k in ("connect", "read", "write", "timeout"))}
        rec = self.record("wrk", concurrency, fin, n, n, m, latency or None, outcomes=outcomes,
                          self_reported=summary, wall_override=dur if dur > 0 else None)
        return rec

    def record(self, tool, concurrency, fin, hashes, requests, m, latency, outcomes=None, report=None,
               self_reported=None, wall_override=None):
        wall = wall_override or fin.wall
        rec = {
            "tool": tool, "concurrency": concurrency, "hashes": hashes, "requests": requests,
            "exit_code": fin.code, "timed_out": fin.timed_out,
            "wall_s": round(wall, 3), "process_wall_s": round(fin.wall, 3),
            "rate": round(hashes / wall, 1) if wall > 0 else None,
            "cpu_s": round(fin.cpu_s, 3), "cpu_util": round(fin.cpu_s / fin.wall, 3) if fin.wall > 0 else None,
            "cpu_s_per_1k": round(fin.cpu_s / requests * 1000.0, 4) if requests else None,
            "maxrss_mib": round(fin.maxrss_mib, 1),
            "outcomes": outcomes or {}, "status": status_classes(m["status_counts"]), "mock": m,
            "latency_ms": latency,
        }
        # CPU the machine spent on anything but this client, the mock and the harness: other people's
        # work on a shared machine. Over ~5% of a CPU, the numbers of this run are suspect.
        other = m["machine_busy_s"] - fin.cpu_s - m["cpu_s"] - m["harness_cpu_s"]
        rec["other_cpu_util"] = round(max(0.0, other) / m["window_s"], 3) if m["window_s"] > 0 else None
        if report:
            rec["attempts_mean"] = report["attempts_mean"]
            rec["attempts_max"] = report["attempts_max"]
        if self_reported:
            rec["self_reported"] = self_reported
        if fin.code not in (0,) and tool != "wrk":
            rec["stderr_tail"] = fin.stderr[-600:]
        if fin.timed_out or (fin.code != 0):
            log("%s exited %s%s: %s" % (tool, fin.code, " (timed out)" if fin.timed_out else "",
                                         fin.stderr.strip()[-300:]))
        log("%-9s c=%-3d %8d hashes %7.2f s %9.0f/s cpu %.2f s rss %.1f MiB | mock cpu %.0f%% | other %.0f%%" % (
            tool, concurrency, hashes, wall, rec["rate"] or 0, rec["cpu_s"], rec["maxrss_mib"],
            100 * (m["cpu_util"] or 0), 100 * (rec["other_cpu_util"] or 0)))
        return rec

    # --- scenario 1: raw throughput ------------------------------------------------------------

    def scenario_raw(self):
        n = 10_000 if self.quick else 100_000
        sweep = [16, 32, 64]
        hashes = self.hashes(n)
        res = {"hashes": n, "sweep": [], "peers": [], "pairs": [], "unpinned": []}

        def one(tool, c, secs=None):
            mock = self.mock(hashes)  # a fresh mock per run: every run deletes the same N live keys
            try:
                if tool == "keyrevoke":
                    return self.measure_keyrevoke(mock, hashes, c)
                if tool == "curl":
                    return self.measure_curl(mock, hashes, c)
                if tool == "aiohttp":
                    return self.measure_aiohttp(mock, hashes, c)
                return self.measure_wrk(mock, hashes, c, secs)
            finally:
                mock.stop()

        for c in sweep:
            res["sweep"].append(one("keyrevoke", c))
        first = max(res["sweep"], key=lambda r: r["rate"] or 0)
        self.best_concurrency = c = first["concurrency"]
        res["best_concurrency"] = c
        # wrk runs as long as keyrevoke took (at least 3 s, quick 2 s); past the last hash it starts over.
        secs = max(2 if self.quick else 3, int(round(first["wall_s"])))
        have_wrk = shutil.which("wrk") is not None
        for tool in ("curl", "aiohttp"):
            if tool == "aiohttp" and not self.aiohttp_python:
                log("aiohttp is not importable: skipping the aiohttp peer")
                continue
            if tool == "curl" and not shutil.which("curl"):
                log("curl not installed: skipping")
                continue
            res["peers"].append(one(tool, c))
        # keyrevoke against the ceiling: back-to-back pairs, so both runs of a pair see the same
        # machine. The headline ratio is the pair with the least background load (other%); on a
        # shared machine a single pair can land on someone's build.
        rounds = 1 if self.quick else 3
        if have_wrk:
            for i in range(rounds):
                kr = one("keyrevoke", c)
                wk = one("wrk", c, secs)
                noise = max(kr.get("other_cpu_util") or 0, wk.get("other_cpu_util") or 0)
                res["pairs"].append({"round": i + 1, "keyrevoke": kr, "wrk": wk, "other_cpu_util_max": round(noise, 3),
                                     "ratio": ratio(kr["rate"], wk["rate"]),
                                     "cpu_per_1k_ratio": ratio(kr["cpu_s_per_1k"], wk["cpu_s_per_1k"])})
        pinned_kr = [r for r in res["sweep"] if r["concurrency"] == c] + [p["keyrevoke"] for p in res["pairs"]]
        kr_rates = sorted(r["rate"] or 0 for r in pinned_kr)
        kr_median = kr_rates[len(kr_rates) // 2]
        kr_ref = min(pinned_kr, key=lambda r: abs((r["rate"] or 0) - kr_median))
        res["keyrevoke_median_rate"] = kr_median
        ratios = {}
        if res["pairs"]:
            quiet = min(res["pairs"], key=lambda p: (p["other_cpu_util_max"], -(p["ratio"] or 0)))
            res["quietest_pair"] = quiet["round"]
            ratios["wrk"] = {"rate": quiet["ratio"], "cpu_per_1k": quiet["cpu_per_1k_ratio"],
                             "maxrss": ratio(quiet["keyrevoke"]["maxrss_mib"], quiet["wrk"]["maxrss_mib"]),
                             "per_pair": [p["ratio"] for p in res["pairs"]],
                             "median_of_pairs": sorted(p["ratio"] or 0 for p in res["pairs"])[len(res["pairs"]) // 2]}
        for p in res["peers"]:
            ratios[p["tool"]] = {"rate": ratio(kr_ref["rate"], p["rate"]),
                                 "cpu_per_1k": ratio(kr_ref["cpu_s_per_1k"], p["cpu_s_per_1k"]),
                                 "maxrss": ratio(kr_ref["maxrss_mib"], p["maxrss_mib"])}
        best_of = {"keyrevoke": kr_ref}
        if res["pairs"]:
            best_of["wrk"] = quiet["wrk"]
        for p in res["peers"]:
            best_of[p["tool"]] = p
        res["best"] = {t: {"rate": r["rate"], "cpu_s_per_1k": r["cpu_s_per_1k"], "maxrss_mib": r["maxrss_mib"]}
                       for t, r in best_of.items()}
        res["ratios_keyrevoke_over_peer"] = ratios
        # Placement cross-check: one more pair with nothing pinned.
        if have_wrk and self.mock_cpu is not None and not self.quick:
            saved = self.mock_cpu, self.client_cpu
            self.mock_cpu = self.client_cpu = None
            try:
                res["unpinned"].append(one("keyrevoke", c))
                res["unpinned"].append(one("wrk", c, secs))
            finally:
                self.mock_cpu, self.client_cpu = saved
            kr, wk = res["unpinned"]
            res["unpinned_ratio_over_wrk"] = ratio(kr["rate"], wk["rate"])
        self.results["raw_throughput"] = res

        self.emit("## 1. Raw throughput: %s hashes, no rate limit" % fmt_int(n))
        self.emit(self.placement())
        self.emit("keyrevoke --concurrency sweep: " + ", ".join(
            "%d: %s/s" % (r["concurrency"], fmt_int(r["rate"])) for r in res["sweep"]) +
            "; best %d, used for every tool below" % c)
        self.emit("")
        wrk = best_of.get("wrk")
        rows = [dict(r, label="keyrevoke c=%d" % r["concurrency"]) for r in res["sweep"]]
        rows += [dict(p, label=p["tool"]) for p in res["peers"]]
        for p in res["pairs"]:
            mark = "*" if p["round"] == res.get("quietest_pair") else ""
            rows.append(dict(p["keyrevoke"], label="keyrevoke pair %d%s" % (p["round"], mark)))
            rows.append(dict(p["wrk"], label="wrk (ceil) pair %d%s" % (p["round"], mark)))
        rows += [dict(p, label=p["tool"] + " unpinned") for p in res["unpinned"]]
        self.emit_runs(rows, ref=wrk, ref_name="x wrk")
        self.emit("")
        if "wrk" in ratios:
            self.emit("keyrevoke/wrk, back-to-back pairs: %s; headline = pair %s* (least background load: "
                      "other%% %.0f)" % (", ".join(fmt_ratio(x) for x in ratios["wrk"]["per_pair"]),
                                         res.get("quietest_pair"),
                                         100 * min(p["other_cpu_util_max"] for p in res["pairs"])))
        self.emit("ratios (curl, aiohttp: against the median pinned keyrevoke run, %s/s):" % fmt_int(kr_median))
        for tool, r in ratios.items():
            self.emit("keyrevoke/%-8s req/s x%s   CPU s per 1k x%s   peak RSS x%s" % (
                tool, fmt_ratio(r["rate"]), fmt_ratio(r["cpu_per_1k"]), fmt_ratio(r["maxrss"])))
        if res.get("unpinned_ratio_over_wrk") is not None:
            self.emit("keyrevoke/wrk with nothing pinned: req/s x%s" % fmt_ratio(res["unpinned_ratio_over_wrk"]))
        self.emit("")

    def placement(self):
        if self.mock_cpu is None:
            return ("placement: no pinning: mock (%d io thread%s) and clients share the %d CPUs; TLS on 127.0.0.1"
                    % (self.mock_threads, "" if self.mock_threads == 1 else "s", NCPU))
        return ("placement: mock (%d io thread%s) pinned to cpu %d, every client pinned to cpu %d (taskset); "
                "TLS on 127.0.0.1" % (self.mock_threads, "" if self.mock_threads == 1 else "s", self.mock_cpu,
                                      self.client_cpu))

    def emit_runs(self, rows, ref=None, ref_name="ratio"):
        head = ("%-18s %5s %9s %8s %9s %6s %8s %6s %6s %5s %5s %8s %8s %8s %9s %8s %6s %6s %6s" % (
            "tool", "conc", "hashes", "time s", "req/s", ref_name, "2xx", "404", "429", "5xx", "fail",
            "p50 ms", "p90 ms", "p99 ms", "cpu s/1k", "RSS MiB", "cpu%", "mock%", "other%"))
        self.emit(head)
        for r in rows:
            lat = r.get("latency_ms") or {}
            st = r["status"]
            self.emit("%-18s %5d %9s %8.2f %9s %6s %8d %6d %6d %5d %5d %8s %8s %8s %9s %8.1f %6.0f %6.0f %6.0f" % (
                r["label"][:18], r["concurrency"], fmt_int(r["hashes"]), r["wall_s"], fmt_int(r["rate"]),
                fmt_ratio(ratio(r["rate"], ref["rate"])) if ref else "-", st["2xx"], st["404"], st["429"],
                st["5xx"], r["outcomes"].get("failed", 0), fmt_ms(lat.get("p50")), fmt_ms(lat.get("p90")),
                fmt_ms(lat.get("p99")), "%.4f" % r["cpu_s_per_1k"] if r["cpu_s_per_1k"] else "-",
                r["maxrss_mib"], 100 * (r["cpu_util"] or 0), 100 * (r["mock"]["cpu_util"] or 0),
                100 * (r.get("other_cpu_util") or 0)))

    # --- scenario 2: throttled -----------------------------------------------------------------

    def scenario_throttled(self):
        n = 2_500 if self.quick else 10_000
        rate, burst = 500.0, 50
        c = 16
        hashes = self.hashes(n)
        ideal = (n - burst) / rate
        runs = []
        for mode in ("seconds", "http-date", "reset-ms", "none"):
            mock = self.mock(hashes, ["--rate", str(rate), "--burst", str(burst), "--retry-after", mode])
            try:
                r = self.measure_keyrevoke(mock, hashes, c, timeout=max(120, 10 * ideal), sample=True)
            finally:
                mock.stop()
            m = r["mock"]
            # Where the time went: 0.5 s bins (between the first and the last full one) whose goodput
            # was under half of R.
            inner = r.get("bins", [])[1:-1]
            slow = [b for b in inner if b["deleted"] / (b["t1"] - b["t0"]) < 0.5 * rate]
            r["slow_bins"] = len(slow)
            r["slow_bins_at_s"] = [b["t0"] for b in slow]
            r["goodput_bins_min"] = round(min((b["deleted"] / (b["t1"] - b["t0"]) for b in inner), default=0), 1)
            r["retry_after"] = mode
            r["ideal_s"] = round(ideal, 3)
            r["completion_over_ideal"] = round(r["wall_s"] / ideal, 3)
            r["goodput"] = round(m["deleted"] / r["wall_s"], 1)
            r["goodput_over_r"] = round(m["deleted"] / r["wall_s"] / rate, 3)
            r["share_429"] = round(m["rate_limited"] / m["api_requests"], 4) if m["api_requests"] else None
            runs.append(r)
        self.results["throttled"] = {"hashes": n, "rate": rate, "burst": burst, "concurrency": c,
                                     "ideal_s": ideal, "runs": runs}
        png = self.plot_throttled(runs, rate)
        self.results["throttled"]["plot"] = os.path.relpath(png, HERE) if png else None
        self.emit("## 2. Throttled: token bucket R=%d/s, burst %d, %s hashes, keyrevoke --concurrency %d" % (
            rate, burst, fmt_int(n), c))
        self.emit("ideal completion (N - burst) / R = %.2f s; 429 share and requests from the mock's counters, "
                  "attempts from the report" % ideal)
        self.emit("")
        self.emit("%-11s %7s %7s %8s %7s %7s %5s %7s %6s %6s %8s %7s %7s %7s %7s %5s %5s %8s" % (
            "retry-after", "time s", "x ideal", "goodput", "good/R", "deleted", "fail", "sent", "429s", "429 %",
            "att/hash", "max att", "p50 ms", "p90 ms", "p99 ms", "cuts", "slow*", "tail s**"))
        for r in runs:
            lat = r.get("latency_ms") or {}
            self.emit("%-11s %7.2f %7.3f %8.1f %7.3f %7d %5d %7d %6d %6.2f %8.3f %7d %7s %7s %7s %5s %5s %8s" % (
                r["retry_after"], r["wall_s"], r["completion_over_ideal"], r["goodput"], r["goodput_over_r"],
                r["outcomes"].get("deleted", 0), r["outcomes"].get("failed", 0) + r["outcomes"].get("not_attempted", 0),
                r["mock"]["api_requests"], r["mock"]["rate_limited"], 100 * (r["share_429"] or 0),
                r["attempts_mean"] or 0, r["attempts_max"] or 0, fmt_ms(lat.get("p50")), fmt_ms(lat.get("p90")),
                fmt_ms(lat.get("p99")), r.get("self_reported", {}).get("cuts", 0), r.get("slow_bins", "-"),
                "%.2f" % r["tail_last_1pct_s"] if r.get("tail_last_1pct_s") is not None else "-"))
        self.emit("* slow: 0.5 s bins with goodput under R/2 (mock counters sampled every 100 ms); goodput over time "
                  "per mode: %s" % self.results["throttled"]["plot"])
        self.emit("** tail: seconds spent on the last 1%% of deletions (the ideal spends %.2f s on them)" % (0.01 * n / rate))
        self.emit("")

    # --- scenario 3: rate step -----------------------------------------------------------------

    def scenario_rate_step(self):
        if self.quick:
            schedule, duration = [(0, 1000.0), (3, 250.0), (6, 1000.0)], 9.0
        else:
            schedule, duration = [(0, 1000.0), (10, 250.0), (20, 1000.0)], 30.0
        burst = 50
        spec = ",".join("%d:%d" % (t, r) for t, r in schedule)
        expected = sum(r * ((schedule[i + 1][0] if i + 1 < len(schedule) else duration) - t)
                       for i, (t, r) in enumerate(schedule))
        n = int(expected * 1.5)
        hashes = self.hashes(n)
        c = 16
        mock = self.mock(hashes, ["--rate-schedule", spec, "--burst", str(burst)])
        samples = []
        try:
            cmd, report = self.keyrevoke(mock, hashes, c)
            client = Client(cmd, client_env(), self.work, "rate-step-keyrevoke", self.client_cpu)
            t_end = time.monotonic() + duration
            next_tick = time.monotonic()
            samples.append((0.0, 0, 0, 0))  # the mock's API counters are zero when it starts
            while True:
                s = mock.stats()
                samples.append((s["uptime_ms"] / 1000.0, s["api_requests"], s["keys"]["deleted"], s["rate_limited"]))
                if client.done.is_set() or time.monotonic() >= t_end:
                    break
                next_tick += 0.1
                time.sleep(max(0.0, next_tick - time.monotonic()))
            client.signal(signal.SIGINT)  # graceful: in-flight requests finish, the report is complete
            fin = client.finish(60)
        finally:
            mock.stop()
        rep = parse_report(report)
        kr = parse_keyrevoke_summary(fin.stderr)
        bins = bin_counters(samples, 0.5)
        t_first = samples[1][0] if len(samples) > 1 else 0.0
        end_t = samples[-1][0]

        def rate_at(t):
            r = schedule[0][1]
            for st, rr in schedule:
                if st <= t:
                    r = rr
            return r

        steps = []
        for i, (st, r) in enumerate(schedule):
            seg_end = schedule[i + 1][0] if i + 1 < len(schedule) else end_t
            conv = convergence_time(bins, st, seg_end, r, tolerance=0.10, hold=2.0)
            seg = [b for b in bins if st <= b["t0"] and b["t1"] <= seg_end]
            sent = sum(b["sent"] for b in seg)
            lim = sum(b["throttled"] for b in seg)
            good = sum(b["deleted"] for b in seg)
            span = (seg[-1]["t1"] - seg[0]["t0"]) if seg else 0
            steps.append({"at_s": st, "rate": r, "converge_s": conv,
                          "goodput_over_r": round(good / span / r, 3) if span > 0 else None,
                          "share_429": round(lim / sent, 4) if sent else None})
        total_sent = samples[-1][1] - samples[0][1]
        total_429 = samples[-1][3] - samples[0][3]
        res = {"schedule": spec, "burst": burst, "concurrency": c, "duration_s": duration, "hashes_given": n,
               "steps": steps, "share_429": round(total_429 / total_sent, 4) if total_sent else None,
               "requests": total_sent, "deleted": samples[-1][2] - samples[0][2],
               "client_started_at_s": round(t_first, 3), "attempts_mean": rep["attempts_mean"],
               "self_reported": kr, "bins": bins, "client_exit": fin.code,
               "client_cpu_s": round(fin.cpu_s, 3), "client_maxrss_mib": round(fin.maxrss_mib, 1)}
        self.results["rate_step"] = res
        png = self.plot_rate_step(bins, rate_at, schedule)
        res["plot"] = os.path.relpath(png, HERE) if png else None

        self.emit("## 3. Rate step: --rate-schedule %s, burst %d, keyrevoke --concurrency %d, %.0f s" % (
            spec, burst, c, duration))
        self.emit("mock stats sampled every 100 ms, binned per 0.5 s; converged = first time goodput stays "
                  "within 10% of the new R for 2 s")
        self.emit("")
        self.emit("%-8s %8s %12s %9s %8s" % ("step at", "R", "converge s", "good/R", "429 %"))
        for s in steps:
            self.emit("%-8s %8d %12s %9s %8.2f" % (
                "%d s" % s["at_s"], s["rate"], "%.1f" % s["converge_s"] if s["converge_s"] is not None else "never",
                "%.3f" % s["goodput_over_r"] if s["goodput_over_r"] is not None else "-",
                100 * (s["share_429"] or 0)))
        self.emit("overall: %s requests, %s deleted, 429 share %.2f%%, %s rate cuts; plot %s" % (
            fmt_int(total_sent), fmt_int(res["deleted"]), 100 * (res["share_429"] or 0), kr.get("cuts", 0),
            res["plot"]))
        self.emit("")

    def plot_rate_step(self, bins, rate_at, schedule):
        os.makedirs(RESULTS, exist_ok=True)
        stem = "rate_step" if not self.quick else "rate_step-quick"
        dat = os.path.join(RESULTS, stem + ".dat")
        with open(dat, "w") as f:
            f.write("# t0_s t_mid_s bucket_rate send_rate goodput throttled_per_s (per 0.5 s bin, from the mock)\n")
            for b in bins:
                span = b["t1"] - b["t0"]
                f.write("%.2f %.2f %.0f %.1f %.1f %.1f\n" % (
                    b["t0"], (b["t0"] + b["t1"]) / 2, rate_at(b["t0"]), b["sent"] / span, b["deleted"] / span,
                    b["throttled"] / span))
        png = os.path.join(RESULTS, stem + ".png")
        if not shutil.which("gnuplot"):
            log("gnuplot not installed: no plot")
            return None
        gp = os.path.join(self.work, "rate_step.gp")
        with open(gp, "w") as f:
            f.write("""set terminal pngcairo size 1000,520 font ",10"
set output '%s'
set title "keyrevoke against --rate-schedule %s (burst 50): per 0.5 s, from the mock's counters"
set xlabel "seconds since the mock started"
set ylabel "requests / s"
set grid
set key top right
set yrange [0:*]
set y2label "429 answers / s"
set y2range [0:*]
set y2tics
set ytics nomirror
set style fill solid 0.5 noborder
plot '%s' using 2:6 axes x1y2 with boxes lc rgb "#d62728" title "429s / s (right axis)", \\
     '' using 1:3 with steps lw 2 lc rgb "#999999" title "bucket rate R", \\
     '' using 2:4 with linespoints pt 7 ps 0.4 lw 2 lc rgb "#1f77b4" title "send rate", \\
     '' using 2:5 with linespoints pt 7 ps 0.4 lw 2 lc rgb "#2ca02c" title "goodput (deleted)"
""" % (png, ",".join("%d:%d" % (t, r) for t, r in schedule), dat))
        r = subprocess.run(["gnuplot", gp], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            log("gnuplot failed: %s" % r.stderr.strip())
            return None
        return png

    def plot_throttled(self, runs, rate):
        os.makedirs(RESULTS, exist_ok=True)
        stem = "throttled" if not self.quick else "throttled-quick"
        dats = []
        for r in runs:
            if not r.get("bins"):
                continue
            t0 = r["bins"][0]["t0"]
            dat = os.path.join(RESULTS, "%s-%s.dat" % (stem, r["retry_after"]))
            with open(dat, "w") as f:
                f.write("# t_s (since the first bin) goodput_per_s throttled_per_s; --retry-after %s\n" % r["retry_after"])
                for b in r["bins"]:
                    span = b["t1"] - b["t0"]
                    f.write("%.2f %.1f %.1f\n" % ((b["t0"] + b["t1"]) / 2 - t0, b["deleted"] / span,
                                                  b["throttled"] / span))
            dats.append((r["retry_after"], dat))
        if not dats or not shutil.which("gnuplot"):
            return None
        png = os.path.join(RESULTS, stem + ".png")
        gp = os.path.join(self.work, "throttled.gp")
        colors = ["#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd"]
        plots = ["%d title 'R' with lines lw 2 lc rgb '#999999'" % rate]
        for i, (mode, dat) in enumerate(dats):
            plots.append("'%s' using 1:2 with lines lw 2 lc rgb '%s' title 'goodput, --retry-after %s'"
                         % (dat, colors[i % len(colors)], mode))
        with open(gp, "w") as f:
            f.write("set terminal pngcairo size 1000,480 font \",10\"\nset output '%s'\n" % png)
            f.write("set title 'keyrevoke against a token bucket R=%d/s, burst 50: goodput per 0.5 s (mock counters)'\n"
                    % rate)
            f.write("set xlabel 'seconds'\nset ylabel 'deleted / s'\nset grid\nset yrange [0:%d]\n" % (rate * 1.6))
            f.write("set key bottom right\nplot " + ", \\\n     ".join(plots) + "\n")
        r = subprocess.run(["gnuplot", gp], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            log("gnuplot failed: %s" % r.stderr.strip())
            return None
        return png

    # --- scenario 4: latency ---------------------------------------------------------------------

    def scenario_latency(self):
        latency_ms = 50.0
        target_s = 1.5 if self.quick else 8.0
        runs = []
        for dist, mean_ms in (("fixed", latency_ms), ("lognormal", latency_ms * math.exp(0.5))):
            for c in (16, 64):
                ideal = c / (mean_ms / 1000.0)
                n = int(ideal * target_s)
                hashes = self.hashes(n)
                mock = self.mock(hashes, ["--latency-ms", str(latency_ms), "--latency-dist", dist])
                try:
                    r = self.measure_keyrevoke(mock, hashes, c)
                finally:
                    mock.stop()
                r["dist"] = dist
                r["mean_latency_ms"] = round(mean_ms, 2)
                r["ideal_rate"] = round(ideal, 1)
                r["rate_over_ideal"] = round(r["rate"] / ideal, 3)
                runs.append(r)
        self.results["latency"] = {"latency_ms": latency_ms, "runs": runs}
        self.emit("## 4. Latency: mock --latency-ms 50; ideal = concurrency / mean latency "
                  "(lognormal: median 50 ms, sigma 1, mean %.1f ms)" % (latency_ms * math.exp(0.5)))
        self.emit("")
        self.emit("%-10s %5s %8s %8s %9s %9s %8s %8s %8s %8s" % (
            "latency", "conc", "hashes", "time s", "req/s", "ideal/s", "x ideal", "p50 ms", "p90 ms", "p99 ms"))
        for r in runs:
            lat = r.get("latency_ms") or {}
            self.emit("%-10s %5d %8s %8.2f %9s %9s %8.3f %8s %8s %8s" % (
                r["dist"], r["concurrency"], fmt_int(r["hashes"]), r["wall_s"], fmt_int(r["rate"]),
                fmt_int(r["ideal_rate"]), r["rate_over_ideal"], fmt_ms(lat.get("p50")), fmt_ms(lat.get("p90")),
                fmt_ms(lat.get("p99"))))
        self.emit("")

    # --- scenario 5: scale -----------------------------------------------------------------------

    def scenario_scale(self):
        sizes = [10_000, 100_000] if self.quick else [10_000, 100_000, 1_000_000]
        c = self.best_concurrency or 32
        runs = []
        for n in sizes:
            hashes = self.hashes(n)
            mock = self.mock(hashes)
            try:
                r = self.measure_keyrevoke(mock, hashes, c, timeout=1200)
                r["mock_startup_s"] = round(mock.startup_s, 2)
            finally:
                mock.stop()
            runs.append(r)
        self.results["scale"] = {"concurrency": c, "runs": runs}
        self.emit("## 5. Scale: keyrevoke --concurrency %d, the mock holds every key (each answer a 200)" % c)
        self.emit("")
        self.emit("%-10s %8s %9s %9s %6s %9s %10s %10s %8s %8s %12s %6s" % (
            "hashes", "time s", "req/s", "2xx", "fail", "RSS MiB", "B/hash*", "cpu s/1k", "p50 ms", "p99 ms",
            "mock start s", "other%"))
        base = runs[0]["maxrss_mib"]
        for r in runs:
            extra = (r["maxrss_mib"] - base) * 1048576 / (r["hashes"] - runs[0]["hashes"]) \
                if r is not runs[0] and r["hashes"] > runs[0]["hashes"] else None
            r["rss_bytes_per_extra_hash"] = round(extra, 1) if extra is not None else None
            self.emit("%-10s %8.2f %9s %9d %6d %9.1f %10s %10.4f %8s %8s %12.2f %6.0f" % (
                fmt_int(r["hashes"]), r["wall_s"], fmt_int(r["rate"]), r["status"]["2xx"],
                r["outcomes"].get("failed", 0) + r["outcomes"].get("not_attempted", 0), r["maxrss_mib"],
                "%.1f" % extra if extra is not None else "-", r["cpu_s_per_1k"] or 0,
                fmt_ms((r.get("latency_ms") or {}).get("p50")), fmt_ms((r.get("latency_ms") or {}).get("p99")),
                r["mock_startup_s"], 100 * (r.get("other_cpu_util") or 0)))
        self.emit("* peak RSS growth per hash over the %s-hash run" % fmt_int(runs[0]["hashes"]))
        self.emit("")

    # --- scenario 6: fairness --------------------------------------------------------------------

    def scenario_fairness(self):
        rate, burst = 1000.0, 50
        duration = 4.0 if self.quick else 15.0
        warm = 1.0 if self.quick else 2.0
        c = 16
        out = []
        for k in (2, 4):
            per = int(rate * duration * 1.2)  # more than one process can finish even with the whole rate
            hashes = self.hashes(per * k, "fair")
            parts = split_file(hashes, k, self.work, "fair%d" % k)
            mock = self.mock(hashes, ["--rate", str(rate), "--burst", str(burst)])
            clients, reports = [], []
            series = []  # (t, [deleted rows per process], mock deleted, mock api, mock 429)
            try:
                for i in range(k):
                    cmd, report = self.keyrevoke(mock, parts[i], c, name="fair%d-%d" % (k, i))
                    reports.append(report)
                    clients.append(Client(cmd, client_env(), self.work, "fair%d-%d" % (k, i), self.client_cpu))
                t0 = time.monotonic()
                counters = [ReportCounter(p) for p in reports]
                while True:
                    now = time.monotonic() - t0
                    s = mock.stats()
                    series.append((now, [rc.deleted() for rc in counters], s["keys"]["deleted"],
                                   s["api_requests"], s["rate_limited"]))
                    if now >= duration or any(cl.done.is_set() for cl in clients):
                        break
                    time.sleep(0.25)
                for cl in clients:
                    cl.signal(signal.SIGINT)
                fins = [cl.finish(60) for cl in clients]
            finally:
                for cl in clients:
                    if not cl.done.is_set():
                        cl.signal(signal.SIGKILL)
                mock.stop()
            # The window: from `warm` seconds after the start to the end of sampling.
            a = next(x for x in series if x[0] >= warm) if any(x[0] >= warm for x in series) else series[0]
            b = series[-1]
            span = b[0] - a[0]
            per_proc = [(b[1][i] - a[1][i]) / span for i in range(k)] if span > 0 else [0.0] * k
            total = sum(per_proc)
            jain = total * total / (k * sum(x * x for x in per_proc)) if total > 0 else None
            sent = b[3] - a[3]
            res = {"processes": k, "rate": rate, "burst": burst, "concurrency_each": c, "window_s": round(span, 2),
                   "goodput_per_process": [round(x, 1) for x in per_proc], "total_goodput": round(total, 1),
                   "total_over_r": round(total / rate, 3), "mock_goodput_over_r": round((b[2] - a[2]) / span / rate, 3),
                   "jain": round(jain, 4) if jain is not None else None,
                   "share_429": round((b[4] - a[4]) / sent, 4) if sent else None,
                   "client_exit_codes": [f.code for f in fins]}
            # Per-process goodput per second: does the split persist (scale-invariant control keeps
            # whatever split it starts with) or drift towards equal shares?
            per_s = []
            j = 0
            for i in range(1, len(series)):
                if series[i][0] - series[j][0] >= 1.0 - 1e-6:
                    dt = series[i][0] - series[j][0]
                    per_s.append([round(series[i][0], 2)] + [round((series[i][1][p] - series[j][1][p]) / dt, 1)
                                                            for p in range(k)])
                    j = i
            res["per_process_per_s"] = per_s
            half = len(per_s) // 2
            if half >= 1:
                def share(rows):
                    tot = [sum(r[1 + p] for r in rows) for p in range(k)]
                    all_ = sum(tot)
                    return [round(x / all_, 3) if all_ else 0 for x in tot]
                res["share_first_half"] = share(per_s[:half])
                res["share_second_half"] = share(per_s[half:])
            out.append(res)
            self.plot_fairness(res)
        self.results["fairness"] = out
        self.emit("## 6. Fairness: k keyrevoke processes (--concurrency %d each) on one bucket R=%d/s burst %d" % (
            c, rate, burst))
        self.emit("per-process goodput from each report's deleted rows over the window [%.0f s, end], all "
                  "clients pinned to cpu %s" % (warm, self.client_cpu))
        self.emit("")
        self.emit("%-4s %8s %10s %10s %8s %7s  %-24s %s" % ("k", "window s", "total/s", "total/R", "Jain", "429 %",
                                                            "per-process goodput /s", "share 1st half -> 2nd half"))
        for r in out:
            self.emit("%-4d %8.1f %10.1f %10.3f %8.4f %7.2f  %-24s %s" % (
                r["processes"], r["window_s"], r["total_goodput"], r["total_over_r"], r["jain"] or 0,
                100 * (r["share_429"] or 0), " ".join("%.0f" % x for x in r["goodput_per_process"]),
                "%s -> %s" % ("/".join("%.2f" % x for x in r.get("share_first_half", [])),
                              "/".join("%.2f" % x for x in r.get("share_second_half", [])))))
        self.emit("per-process goodput per second: results/fairness-k*.png")
        self.emit("")

    def plot_fairness(self, res):
        if not res.get("per_process_per_s") or not shutil.which("gnuplot"):
            return None
        os.makedirs(RESULTS, exist_ok=True)
        k = res["processes"]
        stem = ("fairness-k%d" % k) + ("-quick" if self.quick else "")
        dat = os.path.join(RESULTS, stem + ".dat")
        with open(dat, "w") as f:
            f.write("# t_s then goodput/s of each of %d keyrevoke processes, per second\n" % k)
            for row in res["per_process_per_s"]:
                f.write(" ".join(str(x) for x in row) + "\n")
        png = os.path.join(RESULTS, stem + ".png")
        gp = os.path.join(self.work, stem + ".gp")
        plots = ["%g title 'R/k' with lines lw 2 lc rgb '#999999'" % (res["rate"] / k)]
        for p in range(k):
            plots.append("'%s' using 1:%d with linespoints pt 7 ps 0.5 lw 2 title 'process %d'" % (dat, p + 2, p + 1))
        with open(gp, "w") as f:
            f.write("set terminal pngcairo size 900,420 font \",10\"\nset output '%s'\n" % png)
            f.write("set title '%d keyrevoke processes on one bucket R=%d/s: goodput of each per second (Jain %.3f)'\n"
                    % (k, res["rate"], res["jain"] or 0))
            f.write("set xlabel 'seconds'\nset ylabel 'deleted / s'\nset grid\nset yrange [0:*]\nset key outside right\n")
            f.write("plot " + ", \\\n     ".join(plots) + "\n")
        r = subprocess.run(["gnuplot", gp], capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            log("gnuplot failed: %s" % r.stderr.strip())
            return None
        return png

    # --- targets ---------------------------------------------------------------------------------

    def targets(self):
        t = []
        raw = self.results.get("raw_throughput")
        if raw:
            r = raw["ratios_keyrevoke_over_peer"].get("wrk", {}).get("rate")
            t.append(("raw throughput >= 0.8x wrk ceiling", "%.2fx" % r if r else "-", r is not None and r >= 0.8))
        th = self.results.get("throttled")
        if th:
            worst_t = max(r["completion_over_ideal"] for r in th["runs"])
            worst_429 = max(r["share_429"] or 0 for r in th["runs"])
            t.append(("throttled completion <= 1.1x ideal (worst mode)", "%.3fx" % worst_t, worst_t <= 1.1))
            t.append(("throttled 429 share <= 5% (worst mode)", "%.2f%%" % (100 * worst_429), worst_429 <= 0.05))
        rs = self.results.get("rate_step")
        if rs:
            convs = [s["converge_s"] for s in rs["steps"][1:]]
            ok = all(x is not None and x <= 5.0 for x in convs)
            t.append(("convergence <= 5 s after each step", ", ".join(
                "%.1f s" % x if x is not None else "never" for x in convs), ok))
        sc = self.results.get("scale")
        if sc:
            big = sc["runs"][-1]
            label = "peak RSS at %s hashes <= 64 MiB" % fmt_int(big["hashes"])
            t.append((label, "%.1f MiB" % big["maxrss_mib"], big["maxrss_mib"] <= 64))
        fa = self.results.get("fairness")
        if fa:
            worst = min(r["jain"] or 0 for r in fa)
            t.append(("Jain's index >= 0.95 (worst of k=2,4)", "%.4f" % worst, worst >= 0.95))
        self.results["targets"] = [{"goal": g, "measured": m, "met": ok} for g, m, ok in t]
        self.emit("## Targets (goals, not tests)")
        for g, m, ok in t:
            self.emit("%-52s %-22s %s" % (g, m, "met" if ok else "MISSED"))
        self.emit("")
        self.emit(self.summary_line())

    def summary_line(self):
        """One line a machine can read (like h2load's): key=value, ratios measured in this run."""
        kv = [("mode", "quick" if self.quick else "full")]
        raw = self.results.get("raw_throughput")
        if raw:
            kv.append(("concurrency", raw["best_concurrency"]))
            for tool, b in raw["best"].items():
                kv.append((tool + "_rps", "%.0f" % (b["rate"] or 0)))
            for tool, r in raw["ratios_keyrevoke_over_peer"].items():
                kv.append(("keyrevoke_over_" + tool, fmt_ratio(r["rate"])))
                kv.append(("cpu_per_1k_over_" + tool, fmt_ratio(r["cpu_per_1k"])))
        th = self.results.get("throttled")
        if th:
            kv.append(("throttled_x_ideal", ",".join("%.3f" % r["completion_over_ideal"] for r in th["runs"])))
            kv.append(("throttled_429_pct", ",".join("%.2f" % (100 * (r["share_429"] or 0)) for r in th["runs"])))
        rs = self.results.get("rate_step")
        if rs:
            kv.append(("converge_s", ",".join("%.1f" % s["converge_s"] if s["converge_s"] is not None else "never"
                                              for s in rs["steps"][1:])))
            kv.append(("step_429_pct", "%.2f" % (100 * (rs["share_429"] or 0))))
        la = self.results.get("latency")
        if la:
            kv.append(("latency_x_ideal", ",".join("%.3f" % r["rate_over_ideal"] for r in la["runs"])))
        sc = self.results.get("scale")
        if sc:
            kv.append(("rss_mib", ",".join("%s:%.1f" % (r["hashes"], r["maxrss_mib"]) for r in sc["runs"])))
        fa = self.results.get("fairness")
        if fa:
            kv.append(("jain", ",".join("%d:%.3f" % (r["processes"], r["jain"] or 0) for r in fa)))
        return "bench-summary: " + " ".join("%s=%s" % (k, v) for k, v in kv)


def bin_counters(samples, width):
    """Cumulative (t, sent, deleted, throttled) samples -> per-bin deltas, linearly interpolated."""
    def at(t, idx):
        for j in range(1, len(samples)):
            if samples[j][0] >= t:
                a, b = samples[j - 1], samples[j]
                f = (t - a[0]) / (b[0] - a[0]) if b[0] > a[0] else 1.0
                return a[idx] + f * (b[idx] - a[idx])
        return samples[-1][idx]

    bins = []
    t = math.floor(samples[0][0] / width) * width
    if t < samples[0][0]:
        t += width
    end = samples[-1][0]
    while t + width <= end + 1e-9:
        bins.append({"t0": round(t, 3), "t1": round(t + width, 3),
                     "sent": round(at(t + width, 1) - at(t, 1), 1),
                     "deleted": round(at(t + width, 2) - at(t, 2), 1),
                     "throttled": round(at(t + width, 3) - at(t, 3), 1)})
        t += width
    return bins


def convergence_time(bins, step_at, seg_end, rate, tolerance, hold):
    seg = [b for b in bins if b["t0"] >= step_at - 1e-9 and b["t1"] <= seg_end + 1e-9]
    for i, b in enumerate(seg):
        window = [x for x in seg[i:] if x["t0"] < b["t0"] + hold - 1e-9]
        if not window or window[-1]["t1"] < b["t0"] + hold - 1e-9:
            return None
        if all(abs(x["deleted"] / (x["t1"] - x["t0"]) - rate) <= tolerance * rate for x in window):
            return round(b["t0"] - step_at, 2)
    return None


class ReportCounter:
    """Counts a growing report's deleted rows without rereading it."""

    def __init__(self, path):
        self.path, self.offset, self.count, self.tail = path, 0, 0, b""

    def deleted(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return self.count
        self.offset += len(data)
        data = self.tail + data
        cut = data.rfind(b"\n") + 1
        self.count += data[:cut].count(b'"outcome":"deleted"')
        self.tail = data[cut:]
        return self.count


def ratio(a, b):
    try:
        return round(a / b, 3) if a is not None and b else None
    except (TypeError, ZeroDivisionError):
        return None


def fmt_ratio(x):
    return "%.2f" % x if x is not None else "-"


def fmt_int(x):
    return "{:,}".format(int(round(x))) if x is not None else "-"


def fmt_ms(x):
    return "%.1f" % x if x is not None else "-"


def find_aiohttp_python():
    for py in (sys.executable, "/usr/bin/python3"):
        if py and os.path.exists(py):
            r = subprocess.run([py, "-c", "import aiohttp"], capture_output=True)
            if r.returncode == 0:
                return py
    return None


def machine_info():
    info = {"cpus": NCPU, "python": sys.version.split()[0]}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    for tool, args in (("keyrevoke", [KEYREVOKE, "--version"]), ("curl", ["curl", "--version"]),
                       ("wrk", ["wrk", "--version"])):
        try:
            r = subprocess.run(args, capture_output=True, text=True, timeout=10)
            info[tool] = (r.stdout or r.stderr).splitlines()[0].strip()
        except (OSError, IndexError, subprocess.TimeoutExpired):
            pass
    try:
        info["commit"] = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                                        text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src", "include"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        info["src_dirty"] = bool(dirty)
    except OSError:
        pass
    return info


SCENARIOS = ("raw", "throttled", "rate_step", "latency", "scale", "fairness")


def update_readme(text):
    if not os.path.exists(README):
        return
    with open(README) as f:
        doc = f.read()
    begin, end = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"
    if begin not in doc or end not in doc:
        return
    head, rest = doc.split(begin, 1)
    _, tail = rest.split(end, 1)
    block = begin + "\n```\n" + text.rstrip() + "\n```\n" + end
    with open(README, "w") as f:
        f.write(head + block + tail)


def main():
    global KEYREVOKE, MOCK
    ap = argparse.ArgumentParser(description="keyrevoke benchmark harness (bench/run.sh drives it)")
    ap.add_argument("--quick", action="store_true", help="smaller runs, under a minute")
    ap.add_argument("--only", default="", help="comma-separated subset of: " + ",".join(SCENARIOS))
    ap.add_argument("--mock-threads", type=int, default=1, help="mock io threads [1: it has one core]")
    ap.add_argument("--placement", choices=("pinned", "shared"), default="pinned",
                    help="pinned: mock on cpu 0, clients on cpu 1 (taskset); shared: no pinning [pinned]")
    ap.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                    help="first wait up to SECONDS for the machine to be idle (other builds skew numbers)")
    ap.add_argument("--pidfile", help="where the pids of running children are kept (for run.sh's trap)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory (reports, logs)")
    ap.add_argument("--no-readme", action="store_true", help="do not update bench/README.md")
    args = ap.parse_args()
    for binary in (KEYREVOKE, MOCK):
        if not os.access(binary, os.X_OK):
            sys.exit("bench: %s is missing: build it (bench/run.sh does)" % binary)
    only = [s for s in args.only.split(",") if s] or list(SCENARIOS)
    for s in only:
        if s not in SCENARIOS:
            sys.exit("bench: unknown scenario %r (have %s)" % (s, ", ".join(SCENARIOS)))

    def on_signal(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    bench = Bench(args)
    # Private copies: another build of the release preset during the run cannot swap binaries mid-run.
    info = machine_info()
    for var in ("KEYREVOKE", "MOCK"):
        src = globals()[var]
        # Named apart from the build's binaries: other people's test teardowns that stop
        # `keyrevoke-mock` by name (this happened during a run) must not stop the benchmark's.
        dst = os.path.join(bench.work, "krbench-" + ("client" if var == "KEYREVOKE" else "server"))
        shutil.copy2(src, dst)
        with open(dst, "rb") as f:
            info[os.path.basename(src) + "_sha256"] = hashlib.sha256(f.read()).hexdigest()[:16]
        info[os.path.basename(src) + "_built"] = datetime.datetime.fromtimestamp(
            os.stat(src).st_mtime).isoformat(timespec="seconds")
        globals()[var] = dst
    if args.wait_idle > 0:
        info["busy_before_start"] = round(wait_for_idle(args.wait_idle), 3)
    started = time.time()
    t0 = time.monotonic()
    ok = False
    try:
        mode = "quick" if args.quick else "full"
        bench.emit("keyrevoke benchmark (%s run) %s, commit %s%s, %s x %s" % (
            mode, datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), info.get("commit", "?"),
            " (src modified)" if info.get("src_dirty") else "", info.get("cpus"), info.get("cpu_model", "?")))
        bench.emit("")
        for s in SCENARIOS:
            if s not in only:
                continue
            log("scenario %s" % s)
            t = time.monotonic()
            try:
                getattr(bench, "scenario_" + s)()
            except (OSError, RuntimeError, ValueError, KeyError, http.client.HTTPException) as e:
                # One broken scenario (e.g. a mock stopped from outside) does not void the others.
                REG.kill_all()
                bench.results.setdefault("errors", {})[s] = "%s: %s" % (type(e).__name__, e)
                bench.emit("## scenario %s FAILED: %s: %s" % (s, type(e).__name__, e))
                bench.emit("")
                log("scenario %s failed: %r" % (s, e))
            log("scenario %s took %.1f s" % (s, time.monotonic() - t))
        bench.targets()
        took = time.monotonic() - t0
        bench.emit("bench: %s run took %.0f s" % (mode, took))
        ok = True
    except KeyboardInterrupt as e:
        log("interrupted (%s): cleaning up" % (e,))
    finally:
        REG.kill_all()
        if not args.keep:
            shutil.rmtree(bench.work, ignore_errors=True)
        else:
            log("scratch kept in %s" % bench.work)
    if not ok:
        return 130
    doc = {"mode": "quick" if args.quick else "full", "started": datetime.datetime.fromtimestamp(started).isoformat(
        timespec="seconds"), "duration_s": round(time.monotonic() - t0, 1), "machine": info,
        "placement": {"mock_cpu": bench.mock_cpu, "client_cpu": bench.client_cpu, "mock_threads": bench.mock_threads},
        "scenarios": only, "results": bench.results, "table": "\n".join(bench.text)}
    os.makedirs(RESULTS, exist_ok=True)
    stamp = datetime.datetime.fromtimestamp(started).strftime("%Y%m%d-%H%M%S")
    # latest.json is always a complete full run; quick and partial (--only) runs have their own names.
    partial = only != list(SCENARIOS)
    latest = os.path.join(RESULTS, "latest%s%s.json" % ("-quick" if args.quick else "", "-partial" if partial else ""))
    for path in (latest, os.path.join(RESULTS, "run-%s-%s%s.json" % (stamp, doc["mode"], "-partial" if partial else ""))):
        with open(path + ".tmp", "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        os.replace(path + ".tmp", path)
    log("wrote %s" % latest)
    if not args.quick and not args.no_readme and only == list(SCENARIOS):
        update_readme("\n".join(bench.text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
