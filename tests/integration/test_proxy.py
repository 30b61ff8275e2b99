"""Network paths: an HTTP CONNECT proxy (HTTPS_PROXY, --proxy, credentials, refusals, NO_PROXY),
--connect-to and --resolve, against keyrevoke-mock on loopback with its ground truth.

The mock's certificate names only a made-up host (--cert-hostname api.keyrevoke.test), which no
resolver knows: through the proxy it works only because the proxy (this file's ConnectProxy) maps the
name to 127.0.0.1, and TLS still verifies the origin's name inside the tunnel. The proxy counts its
tunnels, can require Basic credentials, and can refuse every CONNECT with a fixed status."""

import base64
import hashlib
import os
import select
import socket
import subprocess
import time
import threading
import unittest

from harness import (KEYREVOKE, MANAGEMENT_KEY, KeyrevokeTest, Origin, keyrevoke_env, method_counts,
                     repeated_hashes)

ORIGIN_NAME = "api.keyrevoke.test"  # made up: only the proxy (or --connect-to / --resolve) knows it
PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "http_proxy", "no_proxy", "NO_PROXY")
PROXY_PASSWORD = "pr0xy-pw-" + base64.b16encode(os.urandom(12)).decode().lower()


class ConnectProxy:
    """A small threaded HTTP CONNECT proxy on 127.0.0.1. `hosts` maps names it resolves (anything else
    but loopback literals gets a 502); `credentials` (user, password) makes it require
    Proxy-Authorization: Basic (else 407); `refuse` answers every CONNECT with that status."""

    def __init__(self, hosts=None, credentials=None, refuse=None, garbage=None, stall=False):
        self.hosts = dict(hosts or {})
        self.stall = stall  # read CONNECT, never answer
        self._stopped = threading.Event()
        self.garbage = garbage  # bytes sent instead of an HTTP answer
        self.credentials = credentials
        self.refuse = refuse
        self.lock = threading.Lock()
        self.connects = []  # (target, Proxy-Authorization value or None) per CONNECT received
        self.tunnels = 0    # tunnels opened (a 200 sent)
        self.other_requests = 0  # anything but CONNECT
        self._stop = False
        self._threads = []
        self._socks = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.url = "http://127.0.0.1:%d" % self.port
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self._threads.append(t)

    def _accept_loop(self):
        self.listener.settimeout(0.2)
        while not self._stop:
            try:
                sock, _ = self.listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self._socks.append(sock)
            t = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            t.start()
            self._threads.append(t)

    def _answer(self, sock, status, reason, extra=""):
        sock.sendall(("HTTP/1.1 %d %s\r\n%sContent-Length: 0\r\nConnection: close\r\n\r\n"
                      % (status, reason, extra)).encode())

    def _serve(self, sock):
        sock.settimeout(10)
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk or len(data) > 16384:
                    return
                data += chunk
            head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
            method, target, _ = head[0].split(" ", 2)
            fields = {}
            for line in head[1:]:
                name, _, value = line.partition(":")
                fields[name.strip().lower()] = value.strip()
            if method != "CONNECT":
                with self.lock:
                    self.other_requests += 1
                self._answer(sock, 405, "Method Not Allowed")
                return
            auth = fields.get("proxy-authorization")
            with self.lock:
                self.connects.append((target, auth))
            if self.stall:
                self._stopped.wait(60)
                return
            if self.garbage is not None:
                sock.sendall(self.garbage)
                return
            if self.refuse:
                self._answer(sock, self.refuse, {403: "Forbidden", 502: "Bad Gateway"}.get(self.refuse, "No"))
                return
            if self.credentials:
                expected = "Basic " + base64.b64encode(("%s:%s" % self.credentials).encode()).decode()
                if auth != expected:
                    self._answer(sock, 407, "Proxy Authentication Required",
                                 'Proxy-Authenticate: Basic realm="test"\r\n')
                    return
            host, _, port = target.rpartition(":")
            host = host.strip("[]")
            address = self.hosts.get(host, host if host in ("127.0.0.1", "::1", "localhost") else None)
            if address is None:
                self._answer(sock, 502, "Bad Gateway")
                return
            upstream = socket.create_connection((address, int(port)), timeout=5)
            with self.lock:
                self._socks.append(upstream)
                self.tunnels += 1
            sock.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self._pump(sock, upstream)
        except (OSError, ValueError):
            pass
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def _pump(self, a, b):
        a.settimeout(None)
        b.settimeout(None)
        try:
            while not self._stop:
                ready, _, _ = select.select([a, b], [], [], 0.5)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    (b if s is a else a).sendall(data)
        finally:
            b.close()

    def stop(self):
        self._stop = True
        self._stopped.set()
        self.listener.close()
        with self.lock:
            for s in self._socks:
                try:
                    s.close()
                except OSError:
                    pass
        for t in self._threads:
            t.join(timeout=5)


class ProxyTest(KeyrevokeTest):
    """Each test may start proxies (stopped on teardown) and checks no secret reached any output."""

    def setUp(self):
        super().setUp()
        self._proxies = []

    def tearDown(self):
        for p in self._proxies:
            p.stop()
        super().tearDown()

    def proxy(self, **kw):
        p = ConnectProxy(**kw)
        self._proxies.append(p)
        return p

    def named_mock(self, keys=100, args=()):
        """A mock whose certificate names only ORIGIN_NAME; returns (mock, origin at that name)."""
        mock = self.mock(keys=keys, args=["--cert-hostname", ORIGIN_NAME] + list(args))
        return mock, Origin("https://%s:%d/api/v1" % (ORIGIN_NAME, mock.port), ca=mock.ca)

    def clean_env(self, **extra):
        """The variables to set on top of an environment without any proxy variable (see full_env)."""
        return dict(extra)

    @staticmethod
    def full_env(env, with_key=True):
        """keyrevoke's environment: no proxy variable from the outside world (set, even empty, one
        would decide: curl's rules), then `env`."""
        full = keyrevoke_env(with_key)
        for name in PROXY_VARIABLES:
            full.pop(name, None)
        full.update(env or {})
        return full

    def run_keyrevoke(self, origin, *args, report="report.jsonl", input=None, env=None, timeout=300,
                      with_key=True):
        return subprocess.run(self.keyrevoke_cmd(origin, *args, report=report), input=input,
                              env=self.full_env(env, with_key), capture_output=True, timeout=timeout)

    def assert_no_secrets(self, res, *files):
        outputs = [res.stdout, res.stderr]
        for name in files:
            if os.path.exists(name):
                with open(name, "rb") as f:
                    outputs.append(f.read())
        for out in outputs:
            self.assertNotIn(MANAGEMENT_KEY.encode(), out)
            self.assertNotIn(PROXY_PASSWORD.encode(), out)
            self.assertNotIn(base64.b64encode(("alice:%s" % PROXY_PASSWORD).encode()), out)

    def assert_deleted_once(self, mock, hashes):
        outcomes = self.report().outcomes()
        self.assertEqual({outcomes[h] for h in hashes}, {"deleted"})
        stats = mock.stats(hashes=True)
        self.assertEqual(stats["keys"]["deleted"], len(hashes))
        self.assertEqual(method_counts(stats, "DELETE")["requests"], len(hashes))
        self.assertEqual(repeated_hashes(stats), set())

    def assert_nothing_sent(self, mock):
        stats = mock.stats()
        self.assertEqual(stats["keys"]["deleted"], 0)
        self.assertEqual(method_counts(stats, "DELETE")["requests"], 0)
        self.assertEqual(method_counts(stats, "GET")["requests"], 0)


class TestThroughProxy(ProxyTest):

    def test_https_proxy_env_reaches_a_name_only_the_proxy_resolves(self):
        # The own-key check (--protect) and the run both go through the tunnel; the name never resolves here.
        own = hashlib.sha256(MANAGEMENT_KEY.encode()).hexdigest()
        mock, origin = self.named_mock(args=["--expose-key-hash", "--management-key-listed"])
        proxy = self.proxy(hosts={ORIGIN_NAME: "127.0.0.1"})
        hashes = mock.hashes()[:30]
        inp = self.write_lines("in.txt", hashes + [own])
        prot = self.write_lines("protect.txt", ["# only the management key itself"])
        res = self.run_keyrevoke(origin, "--protect", prot, "--concurrency", "4", inp,
                                 env=self.clean_env(HTTPS_PROXY=proxy.url), timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        self.assert_deleted_once(mock, hashes)
        self.assertEqual(self.report().outcomes()[own], "protected")
        self.assertFalse(mock.stats()["management_key_revoked"])
        self.assertGreaterEqual(proxy.tunnels, 2)  # the own-key check's, then the run's
        self.assertEqual({t for t, _ in proxy.connects}, {"%s:%d" % (ORIGIN_NAME, mock.port)})
        self.assertEqual({a for _, a in proxy.connects}, {None})
        self.assertEqual(proxy.other_requests, 0)
        self.assert_no_secrets(res, self.path("report.jsonl"))

    def test_without_the_proxy_the_made_up_name_does_not_resolve(self):
        # The control for the test above: the same run, direct, cannot reach the origin (exit 4).
        mock, origin = self.named_mock()
        inp = self.write_lines("in.txt", mock.hashes()[:3])
        res = self.run_keyrevoke(origin, "--timeout", "5", inp, env=self.clean_env(), timeout=120)
        self.assertEqual(res.returncode, 4, res.stderr.decode())
        self.assertIn("cannot resolve host '%s'" % ORIGIN_NAME, res.stderr.decode())
        self.assert_nothing_sent(mock)

    def test_proxy_option_with_credentials_file_beats_the_environment(self):
        mock, origin = self.named_mock()
        proxy = self.proxy(hosts={ORIGIN_NAME: "127.0.0.1"}, credentials=("alice", PROXY_PASSWORD))
        decoy = self.proxy(refuse=403)
        creds = self.write_lines("proxy-user", ["alice:" + PROXY_PASSWORD])
        hashes = mock.hashes()[:20]
        inp = self.write_lines("in.txt", hashes)
        res = self.run_keyrevoke(origin, "--proxy", proxy.url, "--proxy-user-file", creds, inp,
                                 env=self.clean_env(HTTPS_PROXY=decoy.url), timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        self.assert_deleted_once(mock, hashes)
        self.assertEqual(decoy.connects, [])
        expected = "Basic " + base64.b64encode(("alice:" + PROXY_PASSWORD).encode()).decode()
        self.assertEqual({a for _, a in proxy.connects}, {expected})
        self.assert_no_secrets(res, self.path("report.jsonl"))

    def test_tunnelled_connections_outlive_the_timeout(self):
        # A run through the proxy that lasts several times --timeout keeps its tunnels: the CONNECT's
        # own deadline must not be left armed on the connection (it ended every later read --timeout
        # after the tunnel was opened, so each connection died and was dialled again).
        mock, origin = self.named_mock(keys=300)
        proxy = self.proxy(hosts={ORIGIN_NAME: "127.0.0.1"})
        hashes = mock.hashes()[:240]
        inp = self.write_lines("in.txt", hashes)
        started = time.monotonic()
        res = self.run_keyrevoke(origin, "--proxy", proxy.url, "--timeout", "1", "--rate", "80",
                                 "--concurrency", "4", inp, env=self.clean_env(), timeout=120)
        elapsed = time.monotonic() - started
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        self.assert_deleted_once(mock, hashes)
        self.assertGreater(elapsed, 2.5)  # the run did outlast --timeout several times over
        # One tunnel per connection (4), the proxy test CONNECT, and a little slack; not one per second each.
        self.assertLessEqual(proxy.tunnels, 8, res.stderr.decode())
        self.assertEqual([r["hash"] for r in self.report().rows if r.get("attempts", 1) != 1], [])

    def test_credentials_in_the_environment_url_percent_decoded(self):
        mock, origin = self.named_mock()
        password = PROXY_PASSWORD + "@:/"
        proxy = self.proxy(hosts={ORIGIN_NAME: "127.0.0.1"}, credentials=("alice", password))
        url = "http://alice:%s%%40%%3A%%2F@127.0.0.1:%d" % (PROXY_PASSWORD, proxy.port)
        hashes = mock.hashes()[:10]
        inp = self.write_lines("in.txt", hashes)
        res = self.run_keyrevoke(origin, inp, env=self.clean_env(https_proxy=url), timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        self.assert_deleted_once(mock, hashes)
        self.assert_no_secrets(res, self.path("report.jsonl"))

    def test_wrong_or_missing_credentials_stop_before_anything_is_sent(self):
        mock, origin = self.named_mock()
        proxy = self.proxy(hosts={ORIGIN_NAME: "127.0.0.1"}, credentials=("alice", "the-right-one"))
        inp = self.write_lines("in.txt", mock.hashes()[:10])
        creds = self.write_lines("proxy-user", ["alice:" + PROXY_PASSWORD])
        for name, args in (("wrong", ["--proxy-user-file", creds]), ("missing", [])):
            with self.subTest(name):
                res = self.run_keyrevoke(origin, "--proxy", proxy.url, *args, inp, env=self.clean_env(),
                                         report=name + ".jsonl", timeout=60)
                err = res.stderr.decode()
                self.assertEqual(res.returncode, 2, err)
                self.assertIn("407", err)
                self.assertIn("rejected the proxy credentials" if name == "wrong" else "requires credentials", err)
                self.assertIn("http://127.0.0.1:%d" % proxy.port, err)
                self.assertFalse(os.path.exists(self.path(name + ".jsonl")))
                self.assert_no_secrets(res)
        self.assertEqual(proxy.tunnels, 0)
        self.assert_nothing_sent(mock)

    def test_refusals_name_the_proxy_status(self):
        mock, origin = self.named_mock()
        inp = self.write_lines("in.txt", mock.hashes()[:5])
        # 403 (policy): configuration, exit 2 at once. 502 (the proxy cannot reach the server): the
        # server could not be reached, exit 4 after the preflight's tries, every hash not_attempted.
        for status, code in ((403, 2), (502, 4)):
            with self.subTest(status):
                proxy = self.proxy(refuse=status)
                report = "r%d.jsonl" % status
                res = self.run_keyrevoke(origin, "--timeout", "5", inp, report=report,
                                         env=self.clean_env(HTTPS_PROXY=proxy.url), timeout=120)
                err = res.stderr.decode()
                self.assertEqual(res.returncode, code, err)
                self.assertIn("answered CONNECT %s:%d with %d" % (ORIGIN_NAME, mock.port, status), err)
                if code == 4:
                    self.assertEqual(set(self.report(report).outcomes().values()), {"not_attempted"})
                else:
                    self.assertFalse(os.path.exists(self.path(report)))
        self.assert_nothing_sent(mock)

    def test_not_an_http_proxy(self):
        # An answer to CONNECT that is not HTTP (here an SSH server's banner): not an HTTP proxy, exit 2.
        mock, origin = self.named_mock()
        inp = self.write_lines("in.txt", mock.hashes()[:2])
        proxy = self.proxy(garbage=b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")
        res = self.run_keyrevoke(origin, "--proxy", proxy.url, "--timeout", "5", inp, env=self.clean_env(), timeout=60)
        self.assertEqual(res.returncode, 2, res.stderr.decode())
        self.assertIn("is not a valid HTTP answer", res.stderr.decode())
        self.assertFalse(os.path.exists(self.path("report.jsonl")))
        # --proxy pointed at the TLS server itself: it closes without answering CONNECT. That says
        # nothing of the configuration: the server could not be reached (exit 4), and the message says how.
        res = self.run_keyrevoke(origin, "--proxy", "127.0.0.1:%d" % mock.port, "--timeout", "5", inp,
                                 report="r2.jsonl", env=self.clean_env(), timeout=60)
        self.assertEqual(res.returncode, 4, res.stderr.decode())
        self.assertIn("closed the connection without a whole answer to CONNECT", res.stderr.decode())
        self.assert_nothing_sent(mock)

    def test_the_proxy_answer_is_bounded_in_size_and_time(self):
        mock, origin = self.named_mock()
        inp = self.write_lines("in.txt", mock.hashes()[:2])
        # A header over 16 KiB is no answer (exit 2 at once).
        proxy = self.proxy(garbage=b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 20000 + b"\r\n\r\n")
        res = self.run_keyrevoke(origin, "--proxy", proxy.url, "--timeout", "5", inp, env=self.clean_env(), timeout=60)
        self.assertEqual(res.returncode, 2, res.stderr.decode())
        self.assertIn("header limit", res.stderr.decode())
        # A proxy that never answers CONNECT: each try ends at --timeout; the server could not be
        # reached (exit 4), and the message says the proxy did not answer.
        stalled = self.proxy(stall=True)
        res = self.run_keyrevoke(origin, "--proxy", stalled.url, "--timeout", "1", inp, report="r2.jsonl",
                                 env=self.clean_env(), timeout=60)
        self.assertEqual(res.returncode, 4, res.stderr.decode())
        self.assertIn("no answer to CONNECT %s:%d within --timeout" % (ORIGIN_NAME, mock.port), res.stderr.decode())
        self.assertEqual(set(self.report("r2.jsonl").outcomes().values()), {"not_attempted"})
        self.assert_nothing_sent(mock)

    def test_no_proxy_and_noproxy_bypass_it(self):
        mock = self.mock(keys=60)
        proxy = self.proxy(refuse=403)  # used, it would stop the run
        cases = (("NO_PROXY", [], {"NO_PROXY": "localhost, 127.0.0.0/8"}),
                 ("no_proxy", [], {"no_proxy": "127.0.0.1"}),
                 ("--noproxy", ["--noproxy", "127.0.0.1"], {"NO_PROXY": "other.example"}),
                 ("--noproxy *", ["--proxy", proxy.url, "--noproxy", "*"], {}))
        hashes = mock.hashes()
        for i, (name, args, env) in enumerate(cases):
            with self.subTest(name):
                batch = hashes[i * 10:(i + 1) * 10]
                inp = self.write_lines("in%d.txt" % i, batch)
                res = self.run_keyrevoke(mock, *args, inp, report="r%d.jsonl" % i,
                                         env=self.clean_env(HTTPS_PROXY=proxy.url, **env), timeout=120)
                self.assertEqual(res.returncode, 0, res.stderr.decode())
                self.assertEqual(set(self.report("r%d.jsonl" % i).outcomes().values()), {"deleted"})
        self.assertEqual(proxy.connects, [])
        self.assertEqual(mock.stats()["keys"]["deleted"], 40)

    def test_list_goes_through_the_proxy(self):
        mock, origin = self.named_mock(keys=250)
        proxy = self.proxy(hosts={ORIGIN_NAME: "127.0.0.1"}, credentials=("alice", PROXY_PASSWORD))
        creds = self.write_lines("proxy-user", ["alice:" + PROXY_PASSWORD])
        cmd = [KEYREVOKE, "list", "--base-url", origin.base_url, "--cacert", origin.ca, "--proxy-user-file", creds]
        res = subprocess.run(cmd, env=self.full_env({"HTTPS_PROXY": proxy.url}),
                             capture_output=True, timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        self.assertEqual(set(res.stdout.decode().split()), set(mock.hashes()))
        self.assertGreaterEqual(proxy.tunnels, 1)
        self.assert_no_secrets(res)
        # And a refusal is the list's configuration error (exit 2), naming the status.
        res = subprocess.run(cmd[:-2], env=self.full_env({"HTTPS_PROXY": proxy.url}),
                             capture_output=True, timeout=60)
        self.assertEqual(res.returncode, 2, res.stderr.decode())
        self.assertIn("407", res.stderr.decode())

    def test_proxy_name_pinned_with_resolve(self):
        # --resolve applies to what is dialled: through a proxy, the proxy's (made-up) name.
        mock, origin = self.named_mock()
        proxy = self.proxy(hosts={ORIGIN_NAME: "127.0.0.1"})
        hashes = mock.hashes()[:10]
        inp = self.write_lines("in.txt", hashes)
        res = self.run_keyrevoke(origin, "--proxy", "http://proxy.keyrevoke.test:%d" % proxy.port,
                                 "--resolve", "proxy.keyrevoke.test:%d:127.0.0.1" % proxy.port, inp,
                                 env=self.clean_env(), timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        self.assert_deleted_once(mock, hashes)
        self.assertGreaterEqual(proxy.tunnels, 1)


class TestCommandLine(ProxyTest):

    def test_unsupported_or_exposed_proxies_are_usage_errors(self):
        mock = self.mock(keys=5)
        inp = self.write_lines("in.txt", mock.hashes())
        cases = (("https://127.0.0.1:1", "https:// proxies"),
                 ("socks5h://127.0.0.1:1", "SOCKS"),
                 ("http://alice:%s@127.0.0.1:1" % PROXY_PASSWORD, "ps"))
        for url, says in cases:
            with self.subTest(url.split(":")[0]):
                res = self.run_keyrevoke(mock, "--proxy", url, inp, env=self.clean_env(), timeout=60)
                self.assertEqual(res.returncode, 2, res.stderr.decode())
                self.assertIn(says, res.stderr.decode())
                self.assert_no_secrets(res)
        res = self.run_keyrevoke(mock, inp, env=self.clean_env(HTTPS_PROXY="socks5://127.0.0.1:1"), timeout=60)
        self.assertEqual(res.returncode, 2, res.stderr.decode())
        self.assertIn("HTTPS_PROXY", res.stderr.decode())
        for bad in ("--connect-to=a:b", "--resolve=h:443:not-an-ip"):
            res = self.run_keyrevoke(mock, bad, inp, env=self.clean_env(), timeout=60)
            self.assertEqual(res.returncode, 2, res.stderr.decode())
        self.assert_nothing_sent(mock)


class TestPinning(ProxyTest):

    def test_connect_to_pins_a_made_up_name_and_tls_checks_the_origin_name(self):
        mock, origin = self.named_mock()
        hashes = mock.hashes()[:20]
        inp = self.write_lines("in.txt", hashes)
        res = self.run_keyrevoke(origin, "--connect-to", "%s:%d:127.0.0.1:%d" % (ORIGIN_NAME, mock.port, mock.port),
                                 inp, env=self.clean_env(), timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        self.assert_deleted_once(mock, hashes)
        # An empty HOST2 with only a port, a wildcard HOST: the same server. A rule for another port
        # does not apply (the name then does not resolve: exit 4).
        other = mock.hashes()[20:30]
        inp = self.write_lines("in2.txt", other)
        res = self.run_keyrevoke(origin, "--connect-to", "::127.0.0.1:", inp, report="r2.jsonl",
                                 env=self.clean_env(), timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        res = self.run_keyrevoke(origin, "--connect-to", "%s:1:127.0.0.1:%d" % (ORIGIN_NAME, mock.port),
                                 "--timeout", "5", inp, report="r3.jsonl", env=self.clean_env(), timeout=120)
        self.assertEqual(res.returncode, 4, res.stderr.decode())
        # TLS verifies the URL's name, not the pinned address: another name is refused (exit 3).
        wrong = Origin("https://other.keyrevoke.test:%d/api/v1" % mock.port, ca=mock.ca)
        res = self.run_keyrevoke(wrong, "--connect-to", "::127.0.0.1:", inp, report="r4.jsonl",
                                 env=self.clean_env(), timeout=120)
        self.assertEqual(res.returncode, 3, res.stderr.decode())
        stats = mock.stats(hashes=True)
        self.assertEqual(stats["keys"]["deleted"], 30)
        self.assertEqual(repeated_hashes(stats), set())

    def test_resolve_pins_a_made_up_name(self):
        mock, origin = self.named_mock()
        hashes = mock.hashes()[:20]
        inp = self.write_lines("in.txt", hashes)
        res = self.run_keyrevoke(origin, "--resolve", "%s:%d:127.0.0.1" % (ORIGIN_NAME.upper(), mock.port), inp,
                                 env=self.clean_env(), timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        self.assert_deleted_once(mock, hashes)
        # The wildcard host and an address list with a dead first entry (the next one is tried).
        more = mock.hashes()[20:30]
        inp = self.write_lines("in2.txt", more)
        res = self.run_keyrevoke(origin, "--resolve", "*:%d:127.0.0.2,127.0.0.1" % mock.port, inp,
                                 report="r2.jsonl", env=self.clean_env(), timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        self.assertEqual(set(self.report("r2.jsonl").outcomes().values()), {"deleted"})
        self.assertEqual(mock.stats()["keys"]["deleted"], 30)


if __name__ == "__main__":
    unittest.main()
