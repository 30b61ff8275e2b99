"""keyrevoke-mock on 127.0.0.1 for one measured run: start it (pinned, holding exactly the given keys),
read its counters from /__admin/stats over one kept-alive HTTPS connection, stop it."""

import http.client
import json
import os
import signal
import ssl
import subprocess
import time

from .measure import proc_cpu_seconds
from .procs import REG, client_env, pinned, spawn


def sample(stats):
    """(uptime s, API requests, keys deleted, answered 429) from one /__admin/stats answer."""
    return (stats["uptime_ms"] / 1000.0, stats["api_requests"], stats["keys"]["deleted"], stats["rate_limited"])


class Mock:
    """One keyrevoke-mock process; binary is the harness's private copy, args extra mock options."""

    def __init__(self, binary, management_key, workdir, name, keys_file, args=(), cpu=0, threads=1):
        self.binary, self.management_key = binary, management_key
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
        """Starts the mock and waits (up to timeout s) for its port file; startup_s is how long that took."""
        for p in (self.port_file, self.stats_file):
            if os.path.exists(p):
                os.unlink(p)
        cmd = [self.binary, "--host", "127.0.0.1", "--port", "0", "--port-file", self.port_file, "--ca-out", self.ca,
               "--stats-out", self.stats_file, "--keys-file", self.keys_file, "--threads", str(self.threads),
               "--quiet"] + self.args
        t0 = time.monotonic()
        self._log = open(self.log_path, "ab")
        self.proc = spawn(pinned(cmd, self.cpu), env=client_env(self.management_key), stdout=self._log,
                          stderr=subprocess.STDOUT)
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
        return "%s://127.0.0.1:%d" % ("http" if "--http" in self.args else "https", self.port)

    @property
    def base_url(self):
        return self.origin + "/api/v1"

    def cpu_seconds(self):
        return proc_cpu_seconds(self.proc.pid)

    def stats(self):
        """GET /__admin/stats over one kept-alive HTTPS connection (cheap enough to poll at 10 Hz)."""
        for attempt in range(3):
            try:
                if self._conn is None and "--http" in self.args:
                    self._conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
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
        """SIGTERM, up to 15 s to exit, then SIGKILL to its session."""
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
