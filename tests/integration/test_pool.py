"""The connection pool against real servers: TLS sessions survive closed connections (keyrevoke-mock and
Debian's nginx), waiting for the first session costs no CPU and no serialisation, an oversized answer keeps
its status and headers (its body drained or the connection dropped), and an idle connection the server
closed is not written to."""

import re
import socket
import subprocess
import threading
import unittest

from gateway import NginxGateways
from harness import EMPTY_PREFLIGHT_REQUESTS, PREFLIGHT_REQUESTS, KeyrevokeTest, ScriptedServer, keyrevoke_env, random_hashes, run_with_usage

SUMMARY_CONNECTIONS = re.compile(r"connections opened ([\d,]+) \(TLS sessions resumed ([\d,]+)")
SUMMARY_429 = re.compile(r"throttled: ([\d,]+)")  # 429s (and 403/503s with a hint)


def summary_number(pattern, stderr, group=1):
    m = pattern.search(stderr)
    if m is None:
        raise AssertionError("no %r in keyrevoke's summary:\n%s" % (pattern.pattern, stderr))
    return int(m.group(group).replace(",", ""))


def run_cpu_measured(cmd, timeout, env, stderr_path):
    """Runs cmd to completion: (returncode, CPU seconds of that process alone, wall seconds, stderr)."""
    with open(stderr_path, "wb") as err:
        rc, usage, wall = run_with_usage(cmd, timeout, env=env, stdout=subprocess.DEVNULL, stderr=err)
    with open(stderr_path) as f:
        return rc, usage.ru_utime + usage.ru_stime, wall, f.read()


def check_resumed(test, res, min_dials):
    """keyrevoke succeeded, dialled at least min_dials times and resumed at least 90% of the redials."""
    err = res.stderr.decode()
    test.assertEqual(res.returncode, 0, err)
    dials = summary_number(SUMMARY_CONNECTIONS, err, 1)
    resumed = summary_number(SUMMARY_CONNECTIONS, err, 2)
    test.assertGreaterEqual(dials, min_dials, err)
    test.assertGreaterEqual(resumed, 0.9 * (dials - 1), err)  # the first dial has nothing to resume
    return dials, resumed


class ResumptionTest(KeyrevokeTest):
    """Every redial resumes a TLS session, also when the server closes every connection (a closed
    connection used to spoil the one shared session)."""

    def test_mock_closing_every_connection_after_1_and_2_requests(self):
        for close_every, min_dials in ((1, 200), (2, 100)):
            with self.subTest(close_every=close_every):
                mock = self.mock(keys=200, args=["--close-every", str(close_every)], name="mock%d" % close_every)
                inp = self.write_lines("in%d.txt" % close_every, mock.hashes())
                res = self.run_keyrevoke(mock, "--concurrency", "4", inp, report="r%d.jsonl" % close_every,
                                         timeout=120)
                dials, resumed = check_resumed(self, res, min_dials)
                stats = mock.stats()
                self.assertEqual(stats["keys"]["deleted"], 200)
                # The server's own count (the stats request itself is a fresh handshake, not resumed).
                self.assertEqual(stats["tls_sessions_resumed"], resumed)
                mock.stop()


class NginxResumptionTest(NginxGateways, KeyrevokeTest):
    """The same against a TLS server that is not ours: nginx with tickets (and no server-side session
    cache: what resumes is the ticket), closing connections through keepalive_requests, in front of a
    plain-HTTP mock."""

    def test_keepalive_requests_1_and_2(self):
        # TLS 1.3: tickets come after the handshake, and OpenSSL's client uses each once; TLS 1.2: the
        # session comes within the handshake.
        for keepalive_requests, protocols in ((1, "TLSv1.3"), (2, "TLSv1.3"), (1, "TLSv1.2")):
            with self.subTest(keepalive_requests=keepalive_requests, protocols=protocols):
                name = "%d-%s" % (keepalive_requests, protocols)
                mock = self.mock(keys=200, args=["--http"], name="up" + name)
                gw = self.gateway(mock.port, keepalive_requests=keepalive_requests, tls_protocols=protocols,
                                  session_cache=False, name="nginx" + name)
                inp = self.write_lines("in%s.txt" % name, mock.hashes())
                res = self.run_keyrevoke(gw, "--concurrency", "4", inp, report="r%s.jsonl" % name, timeout=120)
                dials, resumed = check_resumed(self, res, 200 // keepalive_requests)
                self.assertEqual(mock.stats()["keys"]["deleted"], 200)
                gw.stop()
                # nginx's own record: one line per request with the connection's serial and "r" if resumed.
                records = gw.log()
                self.assertEqual(len(records), 200 + PREFLIGHT_REQUESTS)  # + the preflight's GET /keys
                self.assertEqual({r.ssl_protocol for r in records}, {protocols})
                first = {}
                for r in records:
                    first.setdefault(r.connection, r)
                self.assertEqual(len(first), dials)
                self.assertEqual(sum(1 for r in first.values() if r.tls_resumed), resumed)

    def test_no_ticket_no_wait(self):
        """A server that gives no session: after the first handshake the others go at once (4 requests in
        flight against a 1 s upstream), and nothing is resumed."""
        mock = self.mock(keys=4, args=["--http", "--latency-ms", "1000"])
        gw = self.gateway(mock.port, session_tickets=False, session_cache=False)
        inp = self.write_lines("in.txt", mock.hashes())
        res = self.run_keyrevoke(gw, "--concurrency", "4", inp, timeout=60)
        err = res.stderr.decode()
        self.assertEqual(res.returncode, 0, err)
        self.assertEqual(summary_number(SUMMARY_CONNECTIONS, err, 2), 0, err)
        stats = mock.stats()
        self.assertEqual(stats["keys"]["deleted"], 4)
        self.assertEqual(stats["in_flight_max"], 4)


class WarmUpTest(KeyrevokeTest):
    def test_slow_server_costs_no_cpu_and_gets_all_requests_at_once(self):
        """While the first TLS session is fetched the other exchanges wait without polling, and once it is
        there they all go: 4 requests in flight against a server that takes 2 s to answer."""
        latency_s = 2.0

        def run(latency_ms, name):
            mock = self.mock(keys=4, args=["--latency-ms", str(latency_ms)], name=name)
            inp = self.write_lines("in-%s.txt" % name, mock.hashes())
            cmd = self.keyrevoke_cmd(mock, "--concurrency", "4", inp, report="r-%s.jsonl" % name)
            rc, cpu_s, wall_s, err = run_cpu_measured(cmd, 60, keyrevoke_env(), self.path("stderr-%s.txt" % name))
            self.assertEqual(rc, 0, err)
            return mock.stats(), cpu_s, wall_s, err

        # The same run against a server that answers at once: the CPU the work itself costs on this build
        # (a sanitizer build costs several times a release build's), measured here rather than assumed.
        _, cpu_fast, _, _ = run(0, "fast")
        stats, cpu_s, wall_s, err = run(int(latency_s * 1000), "slow")
        self.assertEqual(stats["keys"]["deleted"], 4)
        self.assertEqual(stats["in_flight_max"], 4, stats)
        # The busy wait this guards against burnt 1.65 s over the 2 s waits: waiting must cost next to
        # nothing beyond the work itself.
        self.assertLess(cpu_s, cpu_fast + 0.4, "%.3f s of CPU against %.3f s without latency\n%s"
                        % (cpu_s, cpu_fast, err))
        # One round trip for each of the preflight's requests (GET /keys, then its reads of the key route
        # one after another), then one for the four DELETEs at once (one at a time would take four).
        self.assertLess(wall_s, (PREFLIGHT_REQUESTS + 2) * latency_s, err)
        self.assertLessEqual(summary_number(SUMMARY_CONNECTIONS, err, 1), 4)


class OversizedAnswerTest(KeyrevokeTest):
    """A 429 whose body is larger than the body limit (a CDN's HTML page) is still a 429 with its hint."""

    HTML = b"<html><body>" + b"Too many requests. " * 5300 + b"</body></html>"  # about 100 KB

    def run_against(self, server, n, *args):
        inp = self.write_lines("in.txt", random_hashes(n))
        res = self.run_keyrevoke(server.origin, "--concurrency", "1", *args, inp, timeout=60)
        err = res.stderr.decode()
        self.assertEqual(res.returncode, 0, err)
        report = self.report()
        rows = report.rows
        self.assertEqual(set(report.outcomes().values()), {"deleted"}, err)
        for r in rows:
            self.assertEqual(r["attempts"], server.requests[r["hash"]], r)
            self.assertEqual(r["attempts"], 2, r)
        self.assertEqual(summary_number(SUMMARY_429, err), n, err)
        return err

    def throttle_once(self, answer_429):
        def script(server, conn, attempt):
            if attempt == 1:
                return answer_429(conn)
            return ScriptedServer.answer_ok(server, conn, attempt)
        server = ScriptedServer(default=script)
        self.addCleanup(server.stop)
        return server

    def test_100_kb_429_with_content_length_is_drained_and_the_connection_kept(self):
        server = self.throttle_once(lambda conn: conn.send_response(
            429, self.HTML, headers=("Retry-After: 1", "Content-Type: text/html"), reason="Too Many Requests"))
        self.run_against(server, 3)
        self.assertEqual(len(server._conns), 1)  # one connection served all 6 answers

    def test_100_kb_chunked_429_is_drained_and_the_connection_kept(self):
        def chunked(conn):
            head = b"HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/html\r\nRetry-After: 1\r\n" \
                   b"Transfer-Encoding: chunked\r\n\r\n"
            body = b"".join(b"%x\r\n%s\r\n" % (len(part), part)
                            for part in (self.HTML[i:i + 7000] for i in range(0, len(self.HTML), 7000)))
            conn.send(head + body + b"0\r\n\r\n")
            return True
        server = self.throttle_once(chunked)
        self.run_against(server, 3)
        self.assertEqual(len(server._conns), 1)

    def test_2_mb_429_drops_the_connection_and_keeps_the_answer(self):
        big = b"x" * (2 * 1024 * 1024)

        def huge(conn):
            try:
                conn.send_response(429, big, headers=("Retry-After: 1", "Content-Type: text/html"),
                                   reason="Too Many Requests")
            except OSError:
                pass  # the client closed the connection without reading it all
            return False
        server = self.throttle_once(huge)
        self.run_against(server, 2)
        self.assertGreaterEqual(len(server._conns), 3)  # each 429's connection was dropped


class StaleKeepAliveTest(KeyrevokeTest):
    def test_a_connection_the_server_closed_while_idle_is_not_written_to(self):
        """A server that closes idle connections after 0.1 s (like nginx's keepalive_timeout), requests
        0.5 s apart: every request goes on a fresh connection at its first attempt, none on a dead one."""
        def close(conn):
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)  # FIN: the server thread's recv() ends, it closes
            except OSError:
                pass  # already closed by the client

        def answer_then_close_soon(server, conn, attempt):
            ScriptedServer.answer_ok(server, conn, attempt)
            threading.Timer(0.1, close, args=(conn,)).start()
            return True
        server = ScriptedServer(default=answer_then_close_soon)
        self.addCleanup(server.stop)
        hashes = random_hashes(4)
        res = self.run_keyrevoke(server.origin, "--concurrency", "1", "--rate", "2",
                                 self.write_lines("in.txt", hashes), timeout=60)
        err = res.stderr.decode()
        self.assertEqual(res.returncode, 0, err)
        self.assertEqual(set(self.report().outcomes().values()), {"deleted"})
        for r in self.report().rows:
            self.assertEqual(r["attempts"], 1, r)
        self.assertEqual(sum(server.requests.values()), 4 + EMPTY_PREFLIGHT_REQUESTS)  # + the preflight (no key listed)
        self.assertEqual(len(server._conns), 4)


if __name__ == "__main__":
    unittest.main()
