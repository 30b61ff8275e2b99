"""Debian's nginx (nginx-light) as the TLS front of a plain-HTTP keyrevoke-mock, for the runs that measure
keyrevoke and wrk against a server keyrevoke's authors did not write. One nginx process (master_process
off), pinned with the mock, upstream keep-alive; a throwaway self-signed certificate for 127.0.0.1.

A Front stands where a Mock stands in tools.py: base_url, origin and ca are nginx's; CPU is nginx's and
the mock's together (the server side: otherwise nginx's work would count as another tenant's noise and
decide which pair is the headline); everything else (stats, the process) is the mock's: the mock's
counters stay the ground truth."""

import os
import shutil
import socket
import subprocess
import time

from .measure import proc_cpu_seconds
from .procs import REG, pinned, spawn

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def available():
    return os.access(NGINX, os.X_OK) and shutil.which("openssl") is not None


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_cert(workdir, name):
    """A self-signed certificate (CA:TRUE, SAN IP:127.0.0.1) and its key; returns (cert, key)."""
    cert, key = os.path.join(workdir, name + "-cert.pem"), os.path.join(workdir, name + "-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


class Front:
    """nginx on 127.0.0.1 proxying /api/v1/ to mock (started with --http); cpu: where nginx is pinned."""

    def __init__(self, mock, workdir, name, cpu=None, keepalive_requests=100000):
        self.mock, self.cpu = mock, cpu
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.cert, self.key = make_cert(self.dir, "nginx")
        self.port = _free_port()
        self.keepalive_requests = keepalive_requests
        self.proc_nginx = None

    def __getattr__(self, attr):  # stats(), cpu_seconds(), proc, threads...: the mock's
        return getattr(self.mock, attr)

    def cpu_seconds(self):
        """CPU (s) of the server side: nginx and the mock behind it."""
        nginx = proc_cpu_seconds(self.proc_nginx.pid) if self.proc_nginx is not None else 0.0
        return self.mock.cpu_seconds() + nginx

    @property
    def ca(self):
        return self.cert

    @property
    def origin(self):
        return "https://127.0.0.1:%d" % self.port

    @property
    def base_url(self):
        return self.origin + "/api/v1"

    def config(self):
        return """
daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {d}/client_body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  upstream api {{ server 127.0.0.1:{up}; keepalive 128; }}
  server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:bench:1m;
    keepalive_requests {kr};
    keepalive_timeout 60s;
    location /api/v1/ {{
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
    }}
    location / {{ return 404; }}
  }}
}}
""".format(d=self.dir, up=self.mock.port, port=self.port, cert=self.cert, key=self.key, kr=self.keepalive_requests)

    def start(self, timeout=20):
        conf = os.path.join(self.dir, "nginx.conf")
        with open(conf, "w") as f:
            f.write(self.config())
        self._log = open(os.path.join(self.dir, "stderr.log"), "ab")
        self.proc_nginx = spawn(pinned([NGINX, "-p", self.dir, "-e", os.path.join(self.dir, "error.log"), "-c", conf],
                                       self.cpu), stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return self
            if self.proc_nginx.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("nginx did not start: %s" % open(os.path.join(self.dir, "error.log")).read()[-500:])
            time.sleep(0.02)

    def stop(self):
        p = getattr(self, "proc_nginx", None)
        if p is not None and p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p is not None:
            REG.forget(p)
            self._log.close()
        self.proc_nginx = None
        self.mock.stop()
