"""TLS that must not be trusted (unknown CA, wrong host name) aborts before any API request reaches
the server; a handshake that never completes is bounded by --timeout and reported, not hung on."""

import os
import subprocess
import time
import types
import unittest

from harness import KeyrevokeTest, MANAGEMENT_KEY, ScriptedServer, final_stats, make_test_pki, random_hashes


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
        self.assertIn("could not be reached", res.stderr.decode().splitlines()[0])
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


if __name__ == "__main__":
    unittest.main()
