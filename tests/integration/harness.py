"""Shared helpers for the integration tests: the real keyrevoke binary against a real keyrevoke-mock
over TLS on loopback. Standard library only. Every process is bounded in time and killed on teardown.

What is where, by concern:
  paths and secrets      KEYREVOKE, MOCK, MANAGEMENT_KEY
  processes              keyrevoke_env, stop_process, free_port, wait_listening, run_with_usage, run_measured
  test data              random_hashes, make_test_pki
  keyrevoke-mock         Mock (a running mock), final_stats, method_counts, status_count, repeated_hashes
  reports                Report, read_report, count_rows_on_disk, spilled_rows: the one reader of reports
  other servers          Origin (anything keyrevoke can point at), ScriptedServer (raw HTTP/1.1 answers)
  test cases             KeyrevokeTest (temp dir, mocks, run keyrevoke), KeyrevokeProcesses (background runs)
nginx, the raw-socket key API server and Prism live in gateway.py."""

import functools
import http.client
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

# --- Paths and secrets ------------------------------------------------------------------------------

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
KEYREVOKE = os.environ.get("KEYREVOKE_BIN", os.path.join(ROOT, "build", "release", "keyrevoke"))
# Requests a revocation run's preflight makes against a server whose listing shows keys: GET /keys, then
# the listing's first key read back through the key route (GET /keys/{hash}), three times
# (run_scheduler::route_reads).
PREFLIGHT_REQUESTS = 4


# keyrevoke confirms every 404 to its action through GET /keys/{hash}, two reads each (run_scheduler's
# confirm_404s): a run whose actions met n 404s sends confirm_requests(n) GETs more (when each answers 404).
def confirm_requests(deletes_answered_404):
    return 2 * deletes_answered_404


# ... against a server whose listing shows no key: GET /keys three times (an empty page is read again).
EMPTY_PREFLIGHT_REQUESTS = 3
# `keyrevoke list` (and --protect's listing) reads the end it found again this many times
# (list_pager_config::end_confirmations): an empty store costs 1 + this many pages.
LIST_END_CONFIRMATIONS = 4


def preflight_requests(stats_before):
    """What a run's preflight costs against a mock whose stats were `stats_before` at its start: with no
    key left the listing shows none, read three times (EMPTY_PREFLIGHT_REQUESTS), else PREFLIGHT_REQUESTS."""
    return PREFLIGHT_REQUESTS if stats_before["keys"]["remaining"] else EMPTY_PREFLIGHT_REQUESTS
MOCK = os.environ.get("KEYREVOKE_MOCK_BIN", os.path.join(ROOT, "build", "release", "keyrevoke-mock"))

# A fresh management key per test run: the leak test searches every output for it.
MANAGEMENT_KEY = "sk-mg-v1-test-" + secrets.token_hex(24)

# How tearDown stops a mock: SIGKILL (fast), but SIGTERM in the coverage run (KEYREVOKE_COVERAGE=1,
# tests/run_all.sh), where a killed process would not write its gcov counters.
TEARDOWN_SIGNAL = signal.SIGTERM if os.environ.get("KEYREVOKE_COVERAGE") == "1" else signal.SIGKILL


# --- Processes ----------------------------------------------------------------------------------------


def keyrevoke_env(with_key=True, env=None):
    """The environment keyrevoke runs in: the test's management key (or none), plus `env`."""
    full_env = dict(os.environ)
    full_env.pop("MODELGATES_MANAGEMENT_KEY", None)
    if with_key:
        full_env["MODELGATES_MANAGEMENT_KEY"] = MANAGEMENT_KEY
    if env:
        full_env.update(env)
    return full_env


def stop_process(proc, sig=signal.SIGTERM, timeout=10):
    """Sends `sig` to a running process and waits up to `timeout` s, then SIGKILLs it. None or an
    exited process: nothing to do."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc=None, timeout=20, what="server"):
    """Waits (bounded) until 127.0.0.1:port accepts a TCP connection; RuntimeError if `proc` exits
    first or `timeout` s pass."""
    deadline = time.monotonic() + timeout
    while True:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("%s exited with %s before listening" % (what, proc.returncode))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("%s did not listen on %d within %s s" % (what, port, timeout))
        time.sleep(0.05)

def run_with_usage(cmd, timeout, **popen_kw):
    """Runs cmd to completion; returns (returncode, resource usage of that process alone, elapsed s).
    os.wait4 gives the child's own rusage, so no /usr/bin/time is needed."""
    started = time.monotonic()
    proc = subprocess.Popen(cmd, **popen_kw)
    deadline = started + timeout
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid == proc.pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            os.wait4(proc.pid, 0)
            proc.returncode = -9
            raise AssertionError("%s did not finish within %s s" % (cmd[0], timeout))
        time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage, time.monotonic() - started


def run_measured(cmd, timeout, **popen_kw):
    """Runs cmd to completion; returns (returncode, peak RSS in KiB of that process alone, elapsed s)."""
    rc, usage, elapsed = run_with_usage(cmd, timeout, **popen_kw)
    return rc, usage.ru_maxrss, elapsed


# --- Test data ----------------------------------------------------------------------------------------


def random_hashes(n):
    """n random key hashes (64 lower-case hex digits), unknown to any mock."""
    return [secrets.token_hex(32) for _ in range(n)]


def make_test_pki(workdir, sans="IP:127.0.0.1,DNS:localhost", name="pki"):
    """A CA and a server certificate for --cert/--key (openssl CLI, a Debian 12 base package), so that
    a restarted mock presents a certificate the running client already trusts. Returns (ca, chain, key)."""
    ca_key, ca = os.path.join(workdir, name + "-ca.key"), os.path.join(workdir, name + "-ca.pem")
    key, csr = os.path.join(workdir, name + "-server.key"), os.path.join(workdir, name + "-server.csr")
    cert, ext = os.path.join(workdir, name + "-server.pem"), os.path.join(workdir, name + "-ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n" % sans)
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    steps = [
        ["openssl", "req", "-x509"] + ec + ["-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=keyrevoke test CA",
                                          "-addext", "basicConstraints=critical,CA:TRUE",
                                          "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
        ["openssl", "req"] + ec + ["-keyout", key, "-out", csr, "-subj", "/CN=localhost"],
        ["openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
         "-days", "2", "-extfile", ext],
    ]
    for cmd in steps:
        subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    return ca, cert, key


# --- keyrevoke-mock -------------------------------------------------------------------------------------


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
        """Starts the mock and waits (bounded) for its port file; returns self."""
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
        """Whether it speaks plain HTTP (--http) instead of TLS."""
        return "--http" in self.args

    @property
    def base_url(self):
        """The API's base URL on this mock (what keyrevoke's --base-url takes)."""
        return "%s://127.0.0.1:%d/api/v1" % ("http" if self.plain else "https", self.port)

    def hashes(self):
        """The hashes of the keys the mock started with (its --hashes-out file)."""
        with open(self.hashes_file) as f:
            return [line.strip() for line in f if line.strip()]

    def _get(self, path):
        """GET `path` (under the host) on a fresh connection, the answer's JSON body parsed."""
        url = "%s://127.0.0.1:%d%s" % ("http" if self.plain else "https", self.port, path)
        ctx = None
        if not self.plain:
            ctx = ssl.create_default_context(cafile=self.ca)
            ctx.check_hostname = False
        with urllib.request.urlopen(url, context=ctx, timeout=10) as resp:
            return json.loads(resp.read())

    def stats(self, hashes=False):
        """The mock's counters (GET /__admin/stats); hashes=True adds the per-hash ones."""
        return self._get("/__admin/stats" + ("?hashes=1" if hashes else ""))

    def request(self, method, path, body=None, headers=None, timeout=10):
        """One raw request on a fresh connection, path under the host (not the base URL), no
        keyrevoke involved: (status, {lower-case header: value}, body bytes). `body` may be bytes or
        an iterable of bytes chunks (sent chunked). Connection errors propagate."""
        if self.plain:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        else:
            ctx = ssl.create_default_context(cafile=self.ca)
            ctx.check_hostname = False
            conn = http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout, context=ctx)
        try:
            chunked = body is not None and not isinstance(body, (bytes, bytearray))
            conn.request(method, path, body=body, headers=dict(headers or {}), encode_chunked=chunked)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def stop(self, sig=signal.SIGTERM):
        """Stops the mock with `sig` (SIGKILL after 10 s); a stopped mock can be started again."""
        stop_process(self.proc, sig)
        self.proc = None


def final_stats(mock, timeout=15):
    """Stops the mock (SIGTERM: it writes --stats-out on the way out) and returns that file's stats.
    For a mock whose TLS never completes (--tls-stall), where /__admin/stats cannot be fetched."""
    if mock.proc and mock.proc.poll() is None:
        mock.proc.send_signal(signal.SIGTERM)
        try:
            mock.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            mock.proc.kill()
            mock.proc.wait()
            raise AssertionError("mock did not stop within %s s of SIGTERM" % timeout)
    mock.proc = None
    with open(mock.stats_file) as f:
        return json.load(f)


def method_counts(stats, method):
    """What the mock saw of one HTTP method ("DELETE", "GET", "PATCH"...), from stats():
    {"requests": N, "with_body": N, "content_types": {"<value as sent>": N}}; zeros when never seen.
    with_body counts requests that carried content (Content-Length > 0 or chunked); admin requests
    are not counted."""
    empty = {"requests": 0, "with_body": 0, "content_types": {}}
    return dict(empty, **stats.get("requests_by_method", {}).get(method, {}))


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


# --- Reports ------------------------------------------------------------------------------------------
# The one reader of keyrevoke's report (JSON Lines: one object per "\n"-terminated line). Rows without a
# "type" are hash rows ({"hash": ...}, and {"hash": null, "outcome": "invalid", ...} for an input line
# that is not a hash); rows with one are each run's "header", the "verify" proofs and the "summary".
# keyrevoke writes "hash" or "type" as the first member, which count_rows_on_disk relies on.


class Report:
    """A report as its bytes stood when read. `data`: those bytes; `torn`: the unterminated tail (what a
    kill -9 mid-write can leave), b"" when the file ends with a newline. Rows are parsed on first use
    (so a test can check the raw bytes first); a whole line that is not JSON in UTF-8 raises, and so does
    a torn tail unless the report was read with torn_ok=True."""

    def __init__(self, data, torn_ok=False):
        self.data = data
        cut = data.rfind(b"\n") + 1
        self._whole, self.torn = data[:cut], data[cut:]
        self._torn_ok = torn_ok

    @functools.cached_property
    def all_rows(self):
        """Every row in file order: headers, hash rows, verify and summary rows."""
        if self.torn and not self._torn_ok:
            raise AssertionError("the report ends with a torn line (no newline): %r" % self.torn[-200:])
        return [json.loads(line.decode("utf-8")) for line in self._whole.split(b"\n")[:-1]]

    @property
    def rows(self):
        """The hash rows and invalid-line rows (no "type"), in file order."""
        return [r for r in self.all_rows if "type" not in r]

    def typed(self, kind):
        """The rows whose "type" is `kind` ("header", "verify", "summary"), in file order."""
        return [r for r in self.all_rows if r.get("type") == kind]

    @property
    def summary(self):
        """The last summary row (a resumed report has one per run); AssertionError if there is none."""
        summaries = self.typed("summary")
        if not summaries:
            raise AssertionError("no summary row")
        return summaries[-1]

    def outcomes(self):
        """hash -> outcome for the hash rows (invalid-line rows skipped); AssertionError if a hash has
        two rows."""
        by_hash = {}
        for r in self.rows:
            if r.get("hash") is None:
                continue
            if r["hash"] in by_hash:
                raise AssertionError("two rows for one hash: %r" % r["hash"])
            by_hash[r["hash"]] = r["outcome"]
        return by_hash


def read_report(path, torn_ok=False):
    """The report at `path` as a Report (see there for torn_ok)."""
    with open(path, "rb") as f:
        return Report(f.read(), torn_ok)


def count_rows_on_disk(path):
    """How many whole hash rows (and invalid-line rows) the report at `path` holds right now, 0 if it
    does not exist yet: for polling a run that is still writing (cheap: no JSON parsing)."""
    if not os.path.exists(path):
        return 0
    with open(path, "rb") as f:
        data = f.read()
    whole = data[:data.rfind(b"\n") + 1]
    return whole.count(b'\n{"hash"') + (1 if whole.startswith(b'{"hash"') else 0)


def spilled_rows(stderr):
    """The hash rows keyrevoke wrote to stderr (str) because it could not write them to the report."""
    return [json.loads(line) for line in stderr.splitlines() if line.startswith('{"hash"')]


# --- Other servers --------------------------------------------------------------------------------------


class Origin:
    """Something KeyrevokeTest.keyrevoke_cmd() can point keyrevoke at that is not a keyrevoke-mock:
    `base_url` and, for https, the CA file `ca` that signed its certificate."""

    def __init__(self, base_url, ca=None):
        self.base_url = base_url
        self.ca = ca
        self.plain = base_url.startswith("http://")


def stop_socket_server(listener, lock, conns, threads):
    """Stops a threaded test server: wakes its accept() (shutdown: close alone does not), closes every
    connection it holds (under `lock`), then joins its threads (bounded)."""
    for op in (lambda: listener.shutdown(socket.SHUT_RDWR), listener.close):
        try:
            op()
        except OSError:
            pass
    with lock:
        held = list(conns)
    for s in held:
        for op in (lambda: s.shutdown(socket.SHUT_RDWR), s.close):
            try:
                op()
            except OSError:
                pass
    for t in threads:
        t.join(timeout=5)


class ScriptedServer:
    """A tiny HTTP/1.1 server on 127.0.0.1 (port 0) for answers keyrevoke-mock cannot give: every
    DELETE /api/v1/keys/<hash> is answered by script[hash](conn, attempt), a function that writes raw
    bytes and returns True to keep the connection; GET /api/v1/keys (the list, which keyrevoke's
    preflight reads) by script["keys"], by default an empty list {"data":[]}. Ground truth: `deleted` holds each hash for which
    a genuine {"deleted":true} was sent in answer to a request for that very hash; `requests` counts
    requests per hash; `authorizations` keeps every Authorization header seen. With pki (make_test_pki's
    (ca, cert, key)) it speaks HTTPS (Python's ssl) and `origin` carries the CA."""

    OK_BODY = b'{"deleted":true}'

    def __init__(self, script=None, default=None, pki=None):
        self.tls = None
        if pki is not None:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(pki[1], pki[2])
        self.script = dict(script or {})
        self.default = default or ScriptedServer.answer_ok
        self.requests = {}
        self.deleted = set()
        self.authorizations = []
        self.bytes_sent = {}
        self.received = bytearray()  # every byte any client sent
        self.errors = []
        self._lock = threading.Lock()
        self._conns = []
        self._threads = []
        self._stopping = False
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port = self._listener.getsockname()[1]
        self.origin = (Origin("https://localhost:%d/api/v1" % self.port, ca=pki[0]) if pki is not None
                       else Origin("http://127.0.0.1:%d/api/v1" % self.port))
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self._threads.append(t)

    # -- answers (each returns whether to keep the connection) --
    def answer_ok(self, conn, attempt):
        """The real API: 200 {"deleted":true} the first time, 404 afterwards."""
        if conn.hash in self.deleted:
            return conn.send_response(404, b'{"error":{"code":404,"message":"Key not found"}}')
        keep = conn.send_response(200, ScriptedServer.OK_BODY)
        self.deleted.add(conn.hash)
        return keep

    def answer_list(self, conn, attempt):
        """The API's list route (keyrevoke's preflight reads its first page): no keys to show."""
        return conn.send_response(200, b'{"data":[]}')

    def _accept_loop(self):
        while not self._stopping:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                if self._stopping:
                    sock.close()
                    return
                self._conns.append(sock)
            t = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, sock):
        if self.tls is not None:
            try:
                sock.settimeout(30)
                raw, sock = sock, self.tls.wrap_socket(sock, server_side=True)  # raw is detached now
                with self._lock:
                    self._conns = [sock if c is raw else c for c in self._conns]
            except (OSError, ValueError) as e:  # a failed handshake: the client went away or refused us
                with self._lock:
                    self.errors.append(repr(e))
                sock.close()
                return
        conn = _ScriptedConnection(self, sock)
        try:
            while not self._stopping:
                if not conn.read_request():
                    return
                with self._lock:
                    n = self.requests.get(conn.hash, 0) + 1
                    self.requests[conn.hash] = n
                    self.authorizations.append(conn.headers.get("authorization", ""))
                answer = self.script.get(conn.hash)
                if answer is None:
                    answer = ScriptedServer.answer_list if conn.hash == "keys" else self.default
                if not answer(self, conn, n):
                    return
        except (OSError, ValueError) as e:  # the client went away mid-answer, or spoke garbage
            with self._lock:
                self.errors.append(repr(e))
        finally:
            with self._lock:
                self.bytes_sent[conn.hash] = self.bytes_sent.get(conn.hash, 0) + conn.sent
            try:
                sock.close()
            except OSError:
                pass

    def stop(self):
        self._stopping = True
        stop_socket_server(self._listener, self._lock, self._conns, self._threads)


class _ScriptedConnection:
    def __init__(self, server, sock):
        self.server = server
        self.sock = sock
        self.buf = b""
        self.hash = None
        self.headers = {}
        self.sent = 0
        sock.settimeout(30)

    def read_request(self):
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise ValueError("request head too large")
            if self.buf.startswith(b"\x16\x03"):
                # A TLS ClientHello on this plain-HTTP port: answer as web servers do, in clear text.
                self.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return False
            chunk = self.sock.recv(65536)
            if not chunk:
                return False
            with self.server._lock:
                self.server.received += chunk
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        self.headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        length = int(self.headers.get("content-length", "0"))
        while len(self.buf) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                return False
            with self.server._lock:
                self.server.received += chunk
            self.buf += chunk
        self.body, self.buf = self.buf[:length], self.buf[length:]
        self.method = method
        self.target = target
        # The hash for /keys/<hash>; "keys" for the list (GET /keys?offset=..., keyrevoke's preflight),
        # "key" for the own-key route.
        self.hash = target.split("?", 1)[0].rsplit("/", 1)[-1]
        self.query = target.split("?", 1)[1] if "?" in target else ""
        return True

    def send(self, data):
        self.sock.sendall(data)
        self.sent += len(data)

    def send_coalesced(self, *parts):
        """Each part in a TLS record (or write) of its own, all in one TCP segment (TCP_CORK): the
        client receives them in one read."""
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        try:
            for part in parts:
                self.send(part)
        finally:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)

    def send_response(self, status, body, headers=(), reason=None, keep=True):
        reasons = {200: "OK", 302: "Found", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
                   500: "Internal Server Error"}
        head = "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % (
            status, reason or reasons.get(status, "Status"), len(body))
        for h in headers:
            head += h + "\r\n"
        if not keep:
            head += "Connection: close\r\n"
        self.send(head.encode("latin-1") + b"\r\n" + body)
        return keep


# --- Test cases ---------------------------------------------------------------------------------------


class KeyrevokeTest(unittest.TestCase):
    """Each test gets a temporary directory; mocks started through self.mock() are always stopped."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="keyrevoke-it-")
        self.dir = self._tmp.name
        self._mocks = []

    def tearDown(self):
        for m in self._mocks:
            m.stop(TEARDOWN_SIGNAL)
        self._tmp.cleanup()

    def mock(self, keys=1000, args=(), **kw):
        """A started Mock in the test's directory (keyword arguments as Mock's), stopped on teardown."""
        m = Mock(self.dir, keys=keys, args=args, **kw)
        self._mocks.append(m)
        return m.start()

    def path(self, name):
        """`name` inside the test's temporary directory."""
        return os.path.join(self.dir, name)

    def write_lines(self, name, lines, newline="\n", prefix=""):
        """Writes `lines` to file `name` (each ended by `newline`, after `prefix`); returns its path."""
        p = self.path(name)
        with open(p, "w", newline="") as f:
            f.write(prefix + newline.join(lines) + newline)
        return p

    def keyrevoke_cmd(self, origin, *args, report="report.jsonl"):
        """keyrevoke's command line against `origin` (a Mock, an Origin, anything with base_url, plain
        and ca), writing report `report` in the test's directory, then `args`."""
        cmd = [KEYREVOKE, "--base-url", origin.base_url, "--report", self.path(report), "--progress", "never"]
        if origin.plain:
            cmd.append("--allow-insecure-http")
        else:
            cmd += ["--cacert", origin.ca]
        return cmd + list(args)

    def run_keyrevoke(self, origin, *args, report="report.jsonl", input=None, env=None, timeout=300,
                      with_key=True):
        """Runs keyrevoke_cmd() to completion (at most `timeout` s): a CompletedProcess, output as bytes."""
        full_env = keyrevoke_env(with_key, env)
        return subprocess.run(self.keyrevoke_cmd(origin, *args, report=report), input=input, env=full_env,
                              capture_output=True, timeout=timeout)

    def report(self, name="report.jsonl", torn_ok=False):
        """The report `name` in the test's directory, as a Report."""
        return read_report(self.path(name), torn_ok)


class KeyrevokeProcesses:
    """Mixin for KeyrevokeTest: keyrevoke processes started in the background, killed on teardown."""

    def start_keyrevoke(self, origin, *args, report="report.jsonl", env=None, with_key=True, **popen_kw):
        """keyrevoke_cmd() started in the background (stdout and stderr piped unless given): a Popen."""
        full_env = keyrevoke_env(with_key, env)
        popen_kw.setdefault("stdout", subprocess.PIPE)
        popen_kw.setdefault("stderr", subprocess.PIPE)
        proc = subprocess.Popen(self.keyrevoke_cmd(origin, *args, report=report), env=full_env, **popen_kw)
        if not hasattr(self, "_procs"):
            self._procs = []
        self._procs.append(proc)
        return proc

    def tearDown(self):
        self._kill_procs()
        super().tearDown()

    def _kill_procs(self):
        for p in getattr(self, "_procs", []):
            if p.poll() is None:
                p.kill()
            try:
                p.communicate(timeout=10)
            except (subprocess.TimeoutExpired, ValueError):
                pass

    def wait_for(self, predicate, timeout, what, poll=0.02):
        """Polls predicate() every `poll` s until it holds; fails the test after `timeout` s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(poll)
        self.fail("timed out after %s s waiting for %s" % (timeout, what))

    def report_rows_now(self, name="report.jsonl"):
        """Whole hash rows of report `name` on disk right now (count_rows_on_disk)."""
        return count_rows_on_disk(self.path(name))
