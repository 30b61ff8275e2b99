"""TLS that must not be trusted (unknown CA, wrong host name) aborts before any API request reaches
the server; a handshake that never completes is bounded by --timeout and reported, not hung on; the
system trust store is OpenSSL's default CA bundle file and its hashed directory, both, or SSL_CERT_FILE /
SSL_CERT_DIR when set (issue 15 item 3)."""

import os
import shutil
import ssl
import subprocess
import time
import types
import unittest

from harness import KEYREVOKE, KeyrevokeTest, MANAGEMENT_KEY, ScriptedServer, final_stats, make_test_pki, random_hashes


def at_host(mock, host):
    """The mock reached by another name (keyrevoke_cmd takes anything with base_url, plain and ca)."""
    return types.SimpleNamespace(plain=False, ca=mock.ca, base_url="https://%s:%d/api/v1" % (host, mock.port))


class UntrustedTest(KeyrevokeTest):
    def check_aborted_before_any_request(self, mock, res, n):
        err = res.stderr.decode()
        self.assertEqual(res.returncode, 3, err)
        self.assertIn("not trusted", err)
        report = self.report()
        rows = report.rows
        outcomes = report.outcomes()
        self.assertEqual(len(outcomes), n)  # every hash has a row
        # The preflight met the untrusted certificate before any hash was sent: every hash is
        # not_attempted, and says why.
        self.assertEqual(set(outcomes.values()), {"not_attempted"})
        for r in rows:
            self.assertIn("TLS", r["error"])
            self.assertIsNone(r["http_status"])
            self.assertEqual(r["attempts"], 0)
        stats = mock.stats()
        self.assertEqual(stats["api_requests"], 0)  # nothing, not even the key, crossed
        self.assertEqual(stats["auth_failures"], 0)
        self.assertGreaterEqual(stats["tls_handshake_failures"], 1)
        self.assertEqual(stats["tls_handshakes"], 0)  # completed handshakes on API connections

    def test_unknown_ca_without_cacert_exits_3(self):
        mock = self.mock(keys=30)
        cmd = self.keyrevoke_cmd(mock, "--concurrency", "4", self.write_lines("in.txt", mock.hashes()))
        i = cmd.index("--cacert")
        del cmd[i:i + 2]
        env = dict(os.environ, MODELGATES_MANAGEMENT_KEY=MANAGEMENT_KEY)
        res = subprocess.run(cmd, env=env, capture_output=True, timeout=60)
        self.check_aborted_before_any_request(mock, res, 30)
        self.assertEqual(mock.stats()["keys"]["remaining"], 30)

    def test_hostname_mismatch_exits_3_for_an_ip_and_for_a_name(self):
        mock = self.mock(keys=30, args=["--cert-hostname", "wrong.example"])
        inp = self.write_lines("in.txt", mock.hashes())
        for host in ("127.0.0.1", "localhost"):
            with self.subTest(host):
                report = "report-%s.jsonl" % host
                res = self.run_keyrevoke(at_host(mock, host), "--concurrency", "4", inp, report=report,
                                         timeout=60)
                self.assertEqual(res.returncode, 3, res.stderr.decode())
                self.assertIn("not trusted", res.stderr.decode())
                outcomes = self.report(report).outcomes()
                self.assertEqual(len(outcomes), 30)
                self.assertNotIn("deleted", outcomes.values())
        stats = mock.stats()
        self.assertEqual(stats["api_requests"], 0)
        self.assertEqual(stats["keys"]["remaining"], 30)
        self.assertGreaterEqual(stats["tls_handshake_failures"], 2)

    def test_a_server_requiring_a_client_certificate_is_a_tls_refusal_exit_3(self):
        # TLS 1.3 servers refuse a client without a certificate after the handshake, with an alert the
        # first read meets (RFC 8446 4.4.2.4): trial 10 saw "could not be reached", exit 4 (resumable),
        # for a server that will never take the run.
        pki = make_test_pki(self.dir)
        server = ScriptedServer(pki=pki)
        self.addCleanup(server.stop)
        server.tls.verify_mode = ssl.CERT_REQUIRED
        server.tls.load_verify_locations(pki[0])
        hashes = random_hashes(5)
        res = self.run_keyrevoke(server.origin, self.write_lines("in.txt", hashes), timeout=60)
        err = res.stderr.decode()
        self.assertEqual(res.returncode, 3, err)
        self.assertIn("TLS could not be trusted or was refused", err)
        self.assertIn("certificate required", err)
        self.assertEqual(self.report().outcomes(), {h: "not_attempted" for h in hashes})
        self.assertEqual(server.requests, {})  # nothing got through

    def test_trusted_name_control_succeeds(self):
        # The control for the two tests above: the same CA and a name in the certificate work.
        mock = self.mock(keys=30)
        res = self.run_keyrevoke(at_host(mock, "localhost"), self.write_lines("in.txt", mock.hashes()), timeout=60)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        self.assertEqual(mock.stats()["keys"]["remaining"], 0)


class PlainServerTest(KeyrevokeTest):
    def test_https_url_at_a_plain_http_server_aborts_and_sends_nothing_in_clear(self):
        server = ScriptedServer()
        self.addCleanup(server.stop)
        ca, _, _ = make_test_pki(self.dir)
        origin = types.SimpleNamespace(plain=False, ca=ca, base_url="https://127.0.0.1:%d/api/v1" % server.port)
        res = self.run_keyrevoke(origin, "--timeout", "5", self.write_lines("in.txt", random_hashes(20)), timeout=60)
        self.assertEqual(res.returncode, 3, res.stderr.decode())
        self.assertIn("TLS", res.stderr.decode())
        self.assertEqual(server.requests, {})  # no HTTP request ever reached it
        self.assertGreater(len(server.received), 0)  # (it did hear from the client: a ClientHello)
        self.assertNotIn(MANAGEMENT_KEY.encode(), bytes(server.received))
        self.assertNotIn(b"Authorization", bytes(server.received))
        outcomes = self.report().outcomes()
        self.assertEqual(len(outcomes), 20)
        self.assertNotIn("deleted", outcomes.values())

class StallTest(KeyrevokeTest):
    def test_handshake_that_never_completes_is_bounded_by_timeout(self):
        mock = self.mock(keys=3, args=["--tls-stall"])
        hashes = mock.hashes()
        started = time.monotonic()
        res = self.run_keyrevoke(mock, "--timeout", "1", "--max-attempts", "2", "--concurrency", "4",
                                 self.write_lines("in.txt", hashes), timeout=60)
        elapsed = time.monotonic() - started
        # Nothing could be reached (the preflight's handshakes all timed out): exit 4, every hash
        # not_attempted, and the first line says why.
        self.assertEqual(res.returncode, 4, res.stderr.decode())
        first = res.stderr.decode().splitlines()[0]
        self.assertIn("could not be reached", first)
        # It names where it went: the URL and the address dialled.
        self.assertIn("the server at %s could not be reached" % mock.base_url, first)
        self.assertIn("dialling 127.0.0.1:%d" % mock.port, first)
        self.assertIn("timed out", res.stderr.decode())
        rows = self.report().rows
        self.assertEqual(len(rows), 3)
        for r in rows:
            self.assertEqual(r["outcome"], "not_attempted", r)
            self.assertEqual(r["attempts"], 0, r)
            self.assertIsNone(r["http_status"])
        self.assertEqual({r["hash"] for r in rows}, set(hashes))
        # 3 hashes x 2 attempts x 1 s, plus backoff and start-up: far from a hang.
        self.assertLess(elapsed, 20)
        stats = final_stats(mock)
        self.assertEqual(stats["api_requests"], 0)
        self.assertEqual(stats["tls_handshakes"], 0)
        self.assertGreaterEqual(stats["connections_accepted"], 3)  # the preflight's tries, one dial each
        print("\n  tls stall: %d dials in %.1f s" % (stats["connections_accepted"], elapsed))


SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"  # Debian's ca-certificates; OpenSSL's default file links here


class TrustStoreTest(KeyrevokeTest):
    """The mock's CA placed in one part of the trust store at a time, keyrevoke run without --cacert (and
    with SSL_CERT_FILE / SSL_CERT_DIR unset unless the case sets them). A system store is changed only in a
    private mount namespace (unshare -m, as root): a bind mount over /etc/ssl/certs or over its bundle."""

    def setUp(self):
        super().setUp()
        self.assertTrue(os.path.isfile(SYSTEM_BUNDLE), "no %s: cmake/install-deps.sh installs ca-certificates"
                        % SYSTEM_BUNDLE)
        self.srv = self.mock(keys=20)
        self.hashes = self.srv.hashes()
        self.used = 0
        with open(SYSTEM_BUNDLE, "rb") as f:
            system = f.read()
        with open(self.srv.ca, "rb") as f:
            ca = f.read()
        self.bundle = self.path("bundle-with-ca.pem")  # the system's CAs and the mock's, no hash links
        with open(self.bundle, "wb") as f:
            f.write(system + b"\n" + ca)
        self.bundle_only_dir = self.path("bundle-only")  # a distribution that ships only the bundle
        os.makedirs(self.bundle_only_dir)
        shutil.copy(self.bundle, os.path.join(self.bundle_only_dir, "ca-certificates.crt"))
        self.empty_dir = self.path("empty")
        os.makedirs(self.empty_dir)
        self.hashed_dir = self.path("hashed")  # the mock's CA under its subject-hash link, nothing else
        os.makedirs(self.hashed_dir)
        shutil.copy(self.srv.ca, os.path.join(self.hashed_dir, "mock-ca.pem"))
        subprocess.run(["openssl", "rehash", self.hashed_dir], check=True, capture_output=True, timeout=30)
        self.assertTrue(any(n.endswith(".0") for n in os.listdir(self.hashed_dir)))

    def run_without_cacert(self, name, env, mounts=(), list_keys=False):
        """keyrevoke (or keyrevoke list) without --cacert: env sets or (None) unsets SSL_CERT_FILE/DIR;
        mounts are (source, target) bind mounts in a private mount namespace. Returns (rc, stderr, hash)."""
        h = self.hashes[self.used]
        self.used += 1
        if list_keys:
            cmd = [KEYREVOKE, "list", "--base-url", self.srv.base_url]
        else:
            cmd = self.keyrevoke_cmd(self.srv, self.write_lines(name + ".txt", [h]), report=name + ".jsonl")
            i = cmd.index("--cacert")
            del cmd[i:i + 2]
        full_env = dict(os.environ, MODELGATES_MANAGEMENT_KEY=MANAGEMENT_KEY)
        for var in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
            full_env.pop(var, None)
            if env.get(var):
                full_env[var] = env[var]
        if mounts:
            script = " && ".join("mount --bind '%s' '%s'" % m for m in mounts) + ' && exec "$@"'
            cmd = ["unshare", "-m", "sh", "-c", script, "sh"] + cmd
        res = subprocess.run(cmd, env=full_env, capture_output=True, timeout=60)
        return res.returncode, res.stderr.decode(errors="replace"), h

    def assert_trusted(self, name, env, mounts=()):
        rc, err, h = self.run_without_cacert(name, env, mounts)
        self.assertEqual(rc, 0, err)
        self.assertEqual(self.report(name + ".jsonl").outcomes(), {h: "deleted"})
        rc, err, _ = self.run_without_cacert(name + "-list", env, mounts, list_keys=True)
        self.assertEqual(rc, 0, err)

    def test_a_ca_only_in_the_default_bundle_file_is_trusted(self):
        """The default layout (hash links for the system's CAs), the mock's CA added to the bundle file
        only, as a CA installed by hand or by a tool that does not make links."""
        self.assert_trusted("bundle-file", {}, [(self.bundle, SYSTEM_BUNDLE)])

    def test_a_bundle_only_system_store_is_trusted(self):
        """/etc/ssl/certs holding nothing but the bundle (no hash links at all)."""
        self.assert_trusted("bundle-only", {}, [(self.bundle_only_dir, "/etc/ssl/certs")])

    def test_ssl_cert_file_with_an_empty_ssl_cert_dir(self):
        self.assert_trusted("env-file", {"SSL_CERT_FILE": self.bundle, "SSL_CERT_DIR": self.empty_dir})

    def test_ssl_cert_dir_with_hash_links_only(self):
        self.assert_trusted("env-dir", {"SSL_CERT_DIR": self.hashed_dir})

    def test_a_ca_in_neither_is_exit_3_and_says_what_to_do(self):
        env = {"SSL_CERT_FILE": SYSTEM_BUNDLE, "SSL_CERT_DIR": self.empty_dir}
        rc, err, h = self.run_without_cacert("neither", env)
        self.assertEqual(rc, 3, err)
        self.assertEqual(self.report("neither.jsonl").outcomes(), {h: "not_attempted"})
        self.assertEqual(err.count("--cacert"), 1, err)
        self.assertEqual(err.count("SSL_CERT_FILE"), 1, err)
        rc, err, _ = self.run_without_cacert("neither-list", env, list_keys=True)
        self.assertEqual(rc, 3, err)
        self.assertEqual(err.count("--cacert"), 1, err)
        self.assertEqual(err.count("SSL_CERT_FILE"), 1, err)
        stats = self.srv.stats()
        self.assertEqual(stats["api_requests"], 0)  # nothing crossed an untrusted connection
        self.assertEqual(stats["keys"]["remaining"], 20)


if __name__ == "__main__":
    unittest.main()
