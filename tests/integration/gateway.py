"""Servers keyrevoke's authors did not write, and a stand-in for the real API:
- Nginx: Debian's nginx as a TLS gateway in front of keyrevoke-mock (plain HTTP upstream), with
  limit_req (429), keepalive limits, a short proxy_read_timeout (504 after the backend acted), TLS versions
  and session resumption to choose, route-404s (nginx's own HTML page) and an access log that is the
  gateway's ground truth; NginxGateways, the test-case mixin that starts and stops them;
- ApiServer: a small raw-socket HTTP/1.1 server that plays the key API (list, get, delete, patch) with
  per-request overrides for framing and header cases, recording every request byte for byte;
- Prism: Stoplight Prism in mock mode against tests/contract/modelgates-keys.openapi.yaml.
Loopback only; every process is started and killed by the test (bounded waits, free ports from port 0)."""

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse

from harness import Origin, free_port, make_test_pki, stop_process, stop_socket_server, wait_listening

HERE = os.path.dirname(os.path.abspath(__file__))
CONTRACT_DIR = os.path.join(os.path.dirname(HERE), "contract")


# --- nginx ------------------------------------------------------------------------------------------

NGINX = os.environ.get("KEYREVOKE_NGINX_BIN") or shutil.which("nginx") or "/usr/sbin/nginx"
NGINX_MISSING = "no nginx at %s: cmake/install-deps.sh installs nginx-light" % NGINX


def nginx_available():
    """Whether NGINX is an executable file (KEYREVOKE_NGINX_BIN, else nginx on PATH)."""
    return os.path.isfile(NGINX) and os.access(NGINX, os.X_OK)


class LogLine:
    """One access-log line: method, path, query, status, tls_resumed (nginx's $ssl_session_reused),
    ssl_protocol ("TLSv1.3"...), connection (nginx's connection serial number), upstream_status ("-" when
    nginx answered itself)."""

    def __init__(self, method, path, query, status, tls_resumed, connection, ssl_protocol, upstream_status):
        self.method, self.path, self.query, self.status = method, path, query, status
        self.tls_resumed, self.connection, self.ssl_protocol = tls_resumed, connection, ssl_protocol
        self.upstream_status = upstream_status

    def __repr__(self):
        return "%s %s %d" % (self.method, self.path, self.status)


class Nginx:
    """nginx on 127.0.0.1:port with its own TLS, proxying base_path/ to a plain-HTTP upstream
    (127.0.0.1:upstream_port, HTTP/1.1, upstream keep-alive, no retry on another connection); everything
    else gets nginx's own 404 HTML page. Single process (master_process off), so one signal stops it;
    config, pid, logs and temp dirs live in workdir/name.

    It is an origin for KeyrevokeTest.keyrevoke_cmd() (base_url, ca, plain); origin(path) is the same
    server under another base path. Options (the defaults are what most tests want):
      pki                 (ca, cert, key) files; default: a fresh throwaway CA (harness.make_test_pki)
      rate, burst         limit_req at `rate` requests/s (burst, nodelay), answered 429; None: no limit
      limit_status        the status limit_req and limit_conn refuse with (nginx's default is 503)
      conn_limit          limit_conn: at most this many requests at once from one client address
      key_route_port      base_path/keys/<anything> (one key's route) goes to this other plain-HTTP
                          upstream instead (a gateway rewriting one route to another environment)
      key_route_methods   ... only for these methods ("DELETE PATCH"); the others reach the upstream
      second_upstream_port  a second server in the upstream group: nginx's round-robin sends every other
                          request to it (a gateway spreading the API over two environments)
      keepalive_requests  client connections closed after that many requests
      keepalive_timeout   ... or after that long idle (nginx time: "60s", "1s")
      read_timeout        proxy_read_timeout: 504 when the upstream takes longer (nginx time)
      tls_protocols       ssl_protocols ("TLSv1.2 TLSv1.3", "TLSv1.3"...)
      session_tickets     stateless TLS session tickets (any number of resumptions per ticket)
      session_cache       a server-side session cache too; with neither, nothing is resumable
    Access log: one line per request, read with log() once the request has ended."""

    def __init__(self, workdir, upstream_port, name="nginx", base_path="/api/v1", pki=None, port=0, rate=None,
                 burst=0, limit_status=429, conn_limit=None, key_route_port=None, key_route_methods=None, second_upstream_port=None, keepalive_requests=1000, keepalive_timeout="60s", read_timeout="30s",
                 tls_protocols="TLSv1.2 TLSv1.3", session_tickets=True, session_cache=True):
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.upstream_port = upstream_port
        self.base_path = base_path
        self.ca, self.cert, self.key = pki or make_test_pki(self.dir)
        self.port = port or free_port()
        self.plain = False
        self.rate, self.burst = rate, burst
        self.limit_status, self.conn_limit = limit_status, conn_limit
        self.key_route_port, self.key_route_methods = key_route_port, key_route_methods
        self.second_upstream_port = second_upstream_port
        self.keepalive_requests, self.keepalive_timeout = keepalive_requests, keepalive_timeout
        self.read_timeout = read_timeout
        self.tls_protocols = tls_protocols
        self.session_tickets, self.session_cache = session_tickets, session_cache
        self.conf = os.path.join(self.dir, "nginx.conf")
        self.access_log = os.path.join(self.dir, "access.log")
        self.error_log = os.path.join(self.dir, "error.log")
        self.proc = None

    def config(self):
        """nginx.conf for the options given."""
        limit_zone = limit = cache = ""
        if self.rate:
            limit_zone = "limit_req_zone $server_name zone=api:1m rate=%dr/s;" % self.rate
            limit = "limit_req zone=api burst=%d nodelay; limit_req_status %d;" % (self.burst, self.limit_status)
        if self.conn_limit:
            limit_zone += " limit_conn_zone $binary_remote_addr zone=conns:1m;"
            limit += " limit_conn conns %d; limit_conn_status %d;" % (self.conn_limit, self.limit_status)
        if self.session_cache:
            cache = "ssl_session_cache shared:gw:1m; ssl_session_timeout 10m;"
        key_route = ""
        if self.key_route_port and self.key_route_methods:
            key_route = ("location ~ ^%s/keys/.+$ { proxy_http_version 1.1; proxy_set_header Connection \"\"; "
                         "proxy_set_header Host $http_host; if ($request_method ~ ^(%s)$) { proxy_pass "
                         "http://127.0.0.1:%d; } proxy_pass http://api; }"
                         % (self.base_path.rstrip("/"), "|".join(self.key_route_methods.split()), self.key_route_port))
        elif self.key_route_port:
            key_route = ("location ~ ^%s/keys/.+$ { proxy_pass http://127.0.0.1:%d; proxy_http_version 1.1; "
                         "proxy_set_header Connection \"\"; proxy_set_header Host $http_host; }"
                         % (self.base_path.rstrip("/"), self.key_route_port))
        return """
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 1024; }}
http {{
  log_format gw '$request_method $request_uri $status $ssl_session_reused $connection $ssl_protocol $upstream_status';
  access_log {d}/access.log gw;
  client_body_temp_path {d}/client_body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  {limit_zone}
  upstream api {{ server 127.0.0.1:{up}; {second} keepalive 32; }}
  server {{
    listen 127.0.0.1:{port} ssl;
    server_name gateway;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols {protocols};
    ssl_session_tickets {tickets};
    {cache}
    keepalive_requests {kr};
    keepalive_timeout {kt};
    location {base}/ {{
      {limit}
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_next_upstream off;
      proxy_connect_timeout 2s;
      proxy_read_timeout {rt};
    }}
    {key_route}
    location / {{ return 404; }}
  }}
}}
""".format(d=self.dir, limit_zone=limit_zone, limit=limit, up=self.upstream_port, port=self.port, cert=self.cert,
           key=self.key, protocols=self.tls_protocols, tickets="on" if self.session_tickets else "off",
           cache=cache, kr=self.keepalive_requests, kt=self.keepalive_timeout, base=self.base_path.rstrip("/"),
           rt=self.read_timeout, key_route=key_route,
           second="server 127.0.0.1:%d;" % self.second_upstream_port if self.second_upstream_port else "")

    def start(self, timeout=20):
        """Writes the config, starts nginx and waits (bounded) until it listens; returns self."""
        with open(self.conf, "w") as f:
            f.write(self.config())
        with open(os.path.join(self.dir, "stderr.log"), "ab") as log:
            self.proc = subprocess.Popen([NGINX, "-p", self.dir, "-e", self.error_log, "-c", self.conf], stdout=log,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            wait_listening(self.port, self.proc, timeout, "nginx")
        except RuntimeError:
            self.stop()
            raise RuntimeError("nginx did not start: %s" % self.errors())
        return self

    def stop(self):
        """Fast shutdown (SIGTERM), SIGKILL after 10 s; the access log is complete afterwards."""
        stop_process(self.proc, signal.SIGTERM)
        self.proc = None

    def errors(self):
        """The ends of nginx's stderr and error log, for failure messages."""
        out = ""
        for p in (os.path.join(self.dir, "stderr.log"), self.error_log):
            if os.path.exists(p):
                with open(p, errors="replace") as f:
                    out += f.read()[-4000:]
        return out

    @property
    def base_url(self):
        return "https://127.0.0.1:%d%s" % (self.port, self.base_path)

    def origin(self, path=None):
        """This gateway under another base path (default: base_path), for keyrevoke_cmd()."""
        return Origin("https://127.0.0.1:%d%s" % (self.port, self.base_path if path is None else path), self.ca)

    def log(self):
        """The access log (nginx writes a line per request as it ends), one LogLine per request."""
        rows = []
        if not os.path.exists(self.access_log):
            return rows
        with open(self.access_log) as f:
            for line in f:
                parts = line.split(None, 6)
                if len(parts) < 6:
                    continue
                url = urllib.parse.urlsplit(parts[1])
                rows.append(LogLine(parts[0], url.path, url.query, int(parts[2]), parts[3] == "r", int(parts[4]),
                                    parts[5], parts[6].strip() if len(parts) > 6 else "-"))
        return rows

    def per_hash(self, method="DELETE"):
        """hash -> [status, ...] in order, for `method` requests to .../keys/{hash}."""
        out = {}
        for line in self.log():
            if line.method == method and "/keys/" in line.path:
                out.setdefault(line.path.rsplit("/", 1)[-1], []).append(line.status)
        return out


class NginxGateways:
    """Mixin for harness.KeyrevokeTest: fails setUp without nginx; gateway() starts an Nginx in the test's
    directory; all are stopped on teardown."""

    def setUp(self):
        super().setUp()
        self.assertTrue(nginx_available(), NGINX_MISSING)
        self._gateways = []

    def tearDown(self):
        for g in self._gateways:
            g.stop()
        super().tearDown()

    def gateway(self, upstream_port, **kw):
        """A started Nginx in front of 127.0.0.1:upstream_port (keyword arguments as Nginx's)."""
        kw.setdefault("name", "nginx%d" % len(self._gateways))
        g = Nginx(self.dir, upstream_port, **kw)
        self._gateways.append(g)
        return g.start()


# --- a scripted key API over raw sockets ---------------------------------------------------------------

REASONS = {200: "OK", 204: "No Content", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
           404: "Not Found", 405: "Method Not Allowed", 429: "Too Many Requests", 500: "Internal Server Error",
           502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}


def api_error(code, message):
    """The API's error shape (API.md)."""
    return json.dumps({"error": {"code": code, "message": message, "metadata": None},
                       "modelgates_metadata": None, "user_id": None}).encode()


class Response:
    def __init__(self, status, body=b"", content_type="application/json", headers=(), close=False,
                 no_length=False):
        self.status, self.body, self.content_type = status, body, content_type
        self.headers, self.close, self.no_length = list(headers), close, no_length

    def encode(self):
        head = "HTTP/1.1 %d %s\r\n" % (self.status, REASONS.get(self.status, "Status"))
        if self.content_type and self.body:
            head += "Content-Type: %s\r\n" % self.content_type
        if not self.no_length:
            head += "Content-Length: %d\r\n" % len(self.body)
        for h in self.headers:
            head += h + "\r\n"
        if self.close:
            head += "Connection: close\r\n"
        return head.encode("latin-1") + b"\r\n" + self.body


def json_response(status, obj, **kw):
    return Response(status, json.dumps(obj).encode(), **kw)


class Request:
    def __init__(self, method, target, headers, body, raw, at, conn_id):
        self.method, self.target, self.headers, self.body, self.raw = method, target, headers, body, raw
        self.at, self.conn_id = at, conn_id  # monotonic time the head was complete; connection number
        url = urllib.parse.urlsplit(target)
        self.path, self.query = url.path, urllib.parse.parse_qs(url.query)

    @property
    def hash(self):
        return self.path.rsplit("/", 1)[-1] if "/keys/" in self.path else None


class ApiServer:
    """The key API on 127.0.0.1 (plain HTTP), played from a dict of keys. Routes under `base`:
    GET /keys?offset=N (newest first, `page_size` per page whatever is asked, or page_size(n) for the n-th
    listing request), GET /keys/{h}, DELETE /keys/{h},
    PATCH /keys/{h}, GET /key (404: not exposed, as in ModelGates' documented API). `override(server, req)`
    may return a Response (sent instead) or None (the API answers). Ground truth: `requests` (every request,
    its raw bytes and arrival time), `deleted` (hashes whose DELETE was applied), `keys` (what is left)."""

    def __init__(self, hashes=(), override=None, page_size=100, base="/api/v1", labels=None):
        self.base = base
        self.override = override
        self.page_size = page_size
        self.keys = {}
        t0 = 1764000000
        n = len(hashes)
        for i, h in enumerate(hashes):  # the first hash is the newest
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t0 + (n - i) * 60))
            self.keys[h] = {"hash": h, "name": "key-%d" % i, "label": (labels or {}).get(h, "sk-mg-v1-...%03d" % i),
                            "disabled": False, "limit": None, "usage": 0, "created_at": stamp, "updated_at": None}
        self.order = list(hashes)
        self.list_requests = 0
        self.deleted = []
        self.requests = []
        self.unparsed = []  # bytes left on a connection that did not form a request when it closed
        self.errors = []
        self.started = time.monotonic()
        self._lock = threading.Lock()
        self._conns = []
        self._threads = []
        self._stopping = False
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(256)
        self.port = self._listener.getsockname()[1]
        self.origin = Origin("http://127.0.0.1:%d%s" % (self.port, base))
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self._threads.append(t)

    # -- the API's own answers --
    def api_answer(self, req):
        if not req.path.startswith(self.base + "/"):
            return Response(404, b"<html><body>404 Not Found</body></html>", "text/html")
        rel = req.path[len(self.base):]
        if rel == "/keys" and req.method == "GET":
            offset = int((req.query.get("offset") or ["0"])[0])
            with self._lock:
                live = [self.keys[h] for h in self.order if h in self.keys]
                self.list_requests += 1
                size = self.page_size(self.list_requests) if callable(self.page_size) else self.page_size
            return json_response(200, {"data": live[offset:offset + size]})
        if rel == "/key":
            return Response(404, api_error(404, "Not Found"))
        if rel.startswith("/keys/") and rel.count("/") == 2:
            h = rel[len("/keys/"):]
            with self._lock:
                key = self.keys.get(h)
                if key is None:
                    return Response(404, api_error(404, "Key not found"))
                if req.method == "GET":
                    return json_response(200, {"data": key})
                if req.method == "DELETE":
                    del self.keys[h]
                    self.deleted.append(h)
                    return Response(200, b'{"deleted":true}')
                if req.method == "PATCH":
                    try:
                        key["disabled"] = bool(json.loads(req.body or b"{}").get("disabled", key["disabled"]))
                    except ValueError:
                        return Response(400, api_error(400, "Bad request"))
                    return json_response(200, {"data": key})
            return Response(405, api_error(405, "Method not allowed"))
        return Response(404, api_error(404, "Not Found"))

    def delete_requests(self, h=None):
        with self._lock:
            return [r for r in self.requests if r.method == "DELETE" and (h is None or r.hash == h)]

    def count(self, method):
        with self._lock:
            return sum(1 for r in self.requests if r.method == method)

    # -- plumbing --
    def _accept_loop(self):
        n = 0
        while not self._stopping:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            n += 1
            with self._lock:
                if self._stopping:
                    sock.close()
                    return
                self._conns.append(sock)
            t = threading.Thread(target=self._serve, args=(sock, n), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, sock, conn_id):
        sock.settimeout(30)
        buf = b""
        try:
            while not self._stopping:
                while b"\r\n\r\n" not in buf:
                    if len(buf) > 65536:
                        raise ValueError("request head too large")
                    chunk = sock.recv(65536)
                    if not chunk:
                        if buf:
                            with self._lock:
                                self.unparsed.append(buf)
                        return
                    buf += chunk
                head, rest = buf.split(b"\r\n\r\n", 1)
                lines = head.decode("latin-1").split("\r\n")
                method, target, _ = lines[0].split(" ", 2)
                headers = {}
                for line in lines[1:]:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
                if "transfer-encoding" in headers:
                    body, buf = self._read_chunked(sock, rest)
                else:
                    length = int(headers.get("content-length", "0"))
                    while len(rest) < length:
                        chunk = sock.recv(65536)
                        if not chunk:
                            return
                        rest += chunk
                    body, buf = rest[:length], rest[length:]
                raw = head + b"\r\n\r\n" + body
                req = Request(method, target, headers, body, raw, time.monotonic(), conn_id)
                with self._lock:
                    self.requests.append(req)
                answer = self.override(self, req) if self.override else None
                if answer is None:
                    answer = self.api_answer(req)
                sock.sendall(answer.encode())
                if answer.close or headers.get("connection", "").lower() == "close":
                    return
        except (OSError, ValueError) as e:
            with self._lock:
                self.errors.append(repr(e))
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def _read_chunked(self, sock, data):
        body = b""
        while True:
            while b"\r\n" not in data:
                data += sock.recv(65536)
            size_line, data = data.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            while len(data) < size + 2:
                data += sock.recv(65536)
            body += data[:size]
            data = data[size + 2:]
            if size == 0:
                return body, data

    def stop(self):
        self._stopping = True
        stop_socket_server(self._listener, self._lock, self._conns, self._threads)


# --- Stoplight Prism ---------------------------------------------------------------------------------


def prism_bin():
    return os.path.join(CONTRACT_DIR, "node_modules", ".bin", "prism")


def ensure_prism(timeout=600):
    """Installs tests/contract's pinned @stoplight/prism-cli into tests/contract/node_modules if missing
    (npm registry). Returns the prism executable."""
    if not os.path.exists(prism_bin()):
        npm = shutil.which("npm")
        if npm is None:
            raise RuntimeError("npm is not installed (cmake/install-deps.sh installs it)")
        cmd = [npm, "ci" if os.path.exists(os.path.join(CONTRACT_DIR, "package-lock.json")) else "install",
               "--no-audit", "--no-fund", "--loglevel=error"]
        subprocess.run(cmd, cwd=CONTRACT_DIR, check=True, timeout=timeout, capture_output=True)
    return prism_bin()


class Prism:
    """`prism mock --errors` on 127.0.0.1:port. Its log (stdout+stderr) records every request and every
    violation it found in it."""

    def __init__(self, workdir, spec, port=0):
        self.spec = spec
        self.port = port or free_port()
        self.log_path = os.path.join(workdir, "prism.log")
        self.proc = None

    def start(self, timeout=60):
        exe = ensure_prism()
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([exe, "mock", "-h", "127.0.0.1", "-p", str(self.port), "--errors", self.spec],
                                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=CONTRACT_DIR)
        try:
            wait_listening(self.port, self.proc, timeout, "prism")
        except RuntimeError:
            raise RuntimeError("prism did not start: %s" % self.log()[-4000:])
        return self

    def stop(self):
        stop_process(self.proc, signal.SIGTERM)
        self.proc = None

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()
