"""Shared helpers for the integration tests: the real keyrevoke binary against a real keyrevoke-mock
over TLS on loopback. Standard library only. Every process is bounded in time and killed on teardown."""

import json
import os
import secrets
import signal
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KEYREVOKE = os.environ.get("KEYREVOKE_BIN", os.path.join(ROOT, "build", "release", "keyrevoke"))
MOCK = os.environ.get("KEYREVOKE_MOCK_BIN", os.path.join(ROOT, "build", "release", "keyrevoke-mock"))

# A fresh management key per test run: the leak test searches every output for it.
MANAGEMENT_KEY = "sk-mg-v1-test-" + secrets.token_hex(24)


def random_hashes(n):
    return [secrets.token_hex(32) for _ in range(n)]


class Mock:
    """A keyrevoke-mock process on 127.0.0.1 with a throwaway CA."""

    def __init__(self, workdir, keys=1000, args=(), port=0, env=None, name="mock"):
        self.workdir = workdir
        self.keys = keys
        self.args = list(args)
        self.port = port
        self.name = name
        self.env = env
        self.proc = None
        self.ca = os.path.join(workdir, name + "-ca.pem")
        self.hashes_file = os.path.join(workdir, name + "-hashes.txt")
        self.stats_file = os.path.join(workdir, name + "-stats.json")
        self.port_file = os.path.join(workdir, name + "-port")
        self.log = os.path.join(workdir, name + ".log")

    def start(self, timeout=30):
        if os.path.exists(self.port_file):
            os.unlink(self.port_file)
        env = dict(os.environ, MODELGATES_MANAGEMENT_KEY=MANAGEMENT_KEY)
        if self.env:
            env.update(self.env)
        cmd = [MOCK, "--port", str(self.port), "--port-file", self.port_file, "--stats-out", self.stats_file,
               "--quiet"]
        if "--keys-file" not in self.args:
            cmd += ["--keys", str(self.keys)]
        if "--cert" not in self.args:
            cmd += ["--ca-out", self.ca]
        if "--hashes-out" not in self.args:
            cmd += ["--hashes-out", self.hashes_file]
        cmd += self.args
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.port_file):
            if self.proc.poll() is not None:
                raise RuntimeError("mock exited with %s: %s" % (self.proc.returncode, open(self.log).read()))
            if time.monotonic() > deadline:
                raise RuntimeError("mock did not start")
            time.sleep(0.02)
        with open(self.port_file) as f:
            self.port = int(f.read().strip())
        return self

    @property
    def plain(self):
        return "--http" in self.args

    @property
    def base_url(self):
        return "%s://127.0.0.1:%d/api/v1" % ("http" if self.plain else "https", self.port)

    def hashes(self):
        with open(self.hashes_file) as f:
            return [line.strip() for line in f if line.strip()]

    def _get(self, path):
        url = "%s://127.0.0.1:%d%s" % ("http" if self.plain else "https", self.port, path)
        ctx = None
        if not self.plain:
            ctx = ssl.create_default_context(cafile=self.ca)
            ctx.check_hostname = False
        with urllib.request.urlopen(url, context=ctx, timeout=10) as resp:
            return json.loads(resp.read())

    def stats(self, hashes=False):
        return self._get("/__admin/stats" + ("?hashes=1" if hashes else ""))

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def status_count(stats, code):
    """Answers with this status to API requests (the admin requests before this one got 200s)."""
    n = int(stats.get("status_counts", {}).get(str(code), 0))
    if code == 200:
        n -= int(stats.get("admin_requests", 1)) - 1
    return n


def repeated_hashes(stats):
    """The hashes the mock saw more than once (needs stats(hashes=True))."""
    rep = stats.get("repeated_hashes", [])
    if isinstance(rep, dict):
        return set(rep)
    return {r["hash"] if isinstance(r, dict) else r for r in rep}


class KeyrevokeTest(unittest.TestCase):
    """Each test gets a temporary directory; mocks started through self.mock() are always stopped."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="keyrevoke-it-")
        self.dir = self._tmp.name
        self._mocks = []

    def tearDown(self):
        for m in self._mocks:
            m.stop(signal.SIGKILL)
        self._tmp.cleanup()

    def mock(self, keys=1000, args=(), **kw):
        m = Mock(self.dir, keys=keys, args=args, **kw)
        self._mocks.append(m)
        return m.start()

    def path(self, name):
        return os.path.join(self.dir, name)

    def write_lines(self, name, lines, newline="\n", prefix=""):
        p = self.path(name)
        with open(p, "w", newline="") as f:
            f.write(prefix + newline.join(lines) + newline)
        return p

    def keyrevoke_cmd(self, mock, *args, report="report.jsonl"):
        cmd = [KEYREVOKE, "--base-url", mock.base_url, "--report", self.path(report), "--progress", "never"]
        if mock.plain:
            cmd.append("--allow-insecure-http")
        else:
            cmd += ["--cacert", mock.ca]
        return cmd + list(args)

    def run_keyrevoke(self, mock, *args, report="report.jsonl", input=None, env=None, timeout=300,
                      with_key=True):
        full_env = dict(os.environ)
        full_env.pop("MODELGATES_MANAGEMENT_KEY", None)
        if with_key:
            full_env["MODELGATES_MANAGEMENT_KEY"] = MANAGEMENT_KEY
        if env:
            full_env.update(env)
        return subprocess.run(self.keyrevoke_cmd(mock, *args, report=report), input=input, env=full_env,
                              capture_output=True, timeout=timeout)

    def report(self, name="report.jsonl"):
        rows = []
        with open(self.path(name)) as f:
            for line in f:
                rows.append(json.loads(line))
        return rows

    def outcomes(self, rows):
        """hash -> outcome for hash rows; asserts one row per hash."""
        by_hash = {}
        for r in rows:
            if r.get("hash") is None:
                continue
            self.assertNotIn(r["hash"], by_hash, "two rows for one hash")
            by_hash[r["hash"]] = r["outcome"]
        return by_hash
