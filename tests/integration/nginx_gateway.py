"""Debian's nginx as a TLS gateway in front of a keyrevoke-mock, for tests against a server that is not our
own. Standard library only; loopback only; every process is bounded in time and stopped.

    gw = NginxGateway(workdir, upstream_port=mock.port).start()   # mock started with --http
    ... keyrevoke_cmd(gw, ...) ...                                 # gw has base_url, ca, plain
    gw.stop()

What the gateway does (its configuration is written to <workdir>/<name>.conf):
- listens on 127.0.0.1:<free port> with its own TLS: a throwaway CA and certificate from
  harness.make_test_pki (trust it with --cacert gw.ca), TLS 1.2 and 1.3 (tls_protocols), `ssl_session_tickets on`
  (stateless tickets: any number of resumptions per ticket; session_tickets=False: none, and with no
  server-side session cache nothing is resumable);
- `location /` proxies to http://127.0.0.1:<upstream_port> (HTTP/1.1, upstream keep-alive);
- `keepalive_requests` / `keepalive_timeout` close client connections after that many requests / idle seconds;
- `extra_locations` is nginx text inserted in the server block before `location /` (e.g. a route-404
  `location /v1/ { return 404 "..."; }`); `extra_http` is inserted in the http block (e.g. a limit_req_zone);
- the access log (<workdir>/<name>-access.log) has one line per request: see access_records().

Extending it: add keyword arguments with defaults that leave the configuration as it is today, so that
existing tests keep their meaning.
"""

import os
import shutil
import signal
import socket
import subprocess
import time

from harness import make_test_pki

NGINX = os.environ.get("NGINX_BIN") or shutil.which("nginx") or "/usr/sbin/nginx"

# One access-log line per request, fields separated by spaces (see access_records).
_LOG_FIELDS = ("status", "ssl_session_reused", "ssl_protocol", "connection", "connection_requests",
               "request_method", "uri")


def nginx_available():
    return os.path.isfile(NGINX) and os.access(NGINX, os.X_OK)


def free_port():
    """A port free on 127.0.0.1 right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NginxGateway:
    def __init__(self, workdir, upstream_port, extra_locations="", keepalive_requests=1000,
                 keepalive_timeout=75, extra_http="", name="nginx", base_path="/api/v1", session_tickets=True,
                 tls_protocols="TLSv1.2 TLSv1.3"):
        self.workdir = workdir
        self.upstream_port = upstream_port
        self.extra_locations = extra_locations
        self.extra_http = extra_http
        self.keepalive_requests = keepalive_requests
        self.keepalive_timeout = keepalive_timeout
        self.session_tickets = session_tickets
        self.tls_protocols = tls_protocols
        self.name = name
        self.base_path = base_path
        self.port = None
        self.proc = None
        self.plain = False
        self.conf = os.path.join(workdir, name + ".conf")
        self.error_log = os.path.join(workdir, name + "-error.log")
        self.access_log = os.path.join(workdir, name + "-access.log")
        self.pid_file = os.path.join(workdir, name + ".pid")
        self.temp_dir = os.path.join(workdir, name + "-temp")
        self.ca, self.cert, self.key = None, None, None

    @property
    def base_url(self):
        return "https://127.0.0.1:%d%s" % (self.port, self.base_path)

    def _config(self):
        user = "user root root;\n" if os.geteuid() == 0 else ""  # workers must read the workdir's files
        temp = self.temp_dir
        return """# written by tests/integration/nginx_gateway.py
{user}daemon off;
master_process on;
worker_processes 1;
pid {pid};
error_log {error_log} info;
events {{ worker_connections 1024; }}
http {{
    log_format keyrevoke '$status $ssl_session_reused $ssl_protocol $connection $connection_requests $request_method $uri';
    access_log {access_log} keyrevoke;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    default_type application/json;
    upstream keyrevoke_upstream {{
        server 127.0.0.1:{upstream_port};
        keepalive 32;
    }}
{extra_http}
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols {tls_protocols};
        ssl_session_tickets {tickets};
        keepalive_requests {keepalive_requests};
        keepalive_timeout {keepalive_timeout};
{extra_locations}
        location / {{
            proxy_pass http://keyrevoke_upstream;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
        }}
    }}
}}
""".format(user=user, pid=self.pid_file, error_log=self.error_log, access_log=self.access_log, temp=temp,
           upstream_port=self.upstream_port, port=self.port, cert=self.cert, key=self.key,
           keepalive_requests=self.keepalive_requests, keepalive_timeout=self.keepalive_timeout,
           extra_locations=self.extra_locations, extra_http=self.extra_http,
           tickets="on" if self.session_tickets else "off", tls_protocols=self.tls_protocols)

    def start(self, timeout=15):
        if self.ca is None:
            self.ca, self.cert, self.key = make_test_pki(self.workdir, name=self.name + "-pki")
        os.makedirs(self.temp_dir, exist_ok=True)
        if self.port is None:
            self.port = free_port()
        with open(self.conf, "w") as f:
            f.write(self._config())
        log = open(os.path.join(self.workdir, self.name + ".stderr"), "ab")
        try:
            self.proc = subprocess.Popen([NGINX, "-e", self.error_log, "-p", self.workdir + "/", "-c", self.conf],
                                         stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx exited with %s: %s" % (self.proc.returncode, self._tail()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("nginx did not listen on 127.0.0.1:%d: %s" % (self.port, self._tail()))
            time.sleep(0.02)

    def stop(self, timeout=10):
        """Fast shutdown (SIGTERM), killed if it takes longer than timeout s."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def access_records(self):
        """One dict per logged request: status, ssl_session_reused ("r" resumed, "." full handshake),
        ssl_protocol, connection (nginx's connection serial), connection_requests, request_method, uri.
        nginx writes the line when the request ends, so read it after keyrevoke has exited."""
        if not os.path.exists(self.access_log):
            return []
        with open(self.access_log) as f:
            return [dict(zip(_LOG_FIELDS, line.split())) for line in f if line.strip()]

    def _tail(self, n=2000):
        try:
            with open(self.error_log) as f:
                return f.read()[-n:]
        except OSError:
            return "(no error log)"
