"""Hostile input: lines built to break the parser or to steer the request URL, huge and endless inputs,
and hostile server answers (from a scripted HTTP/1.1 server in this file's harness: keyrevoke-mock
only gives well-formed answers). Judged by the mock's / the scripted server's ground truth."""

import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import unittest

from harness import (make_test_pki, Origin, EMPTY_PREFLIGHT_REQUESTS, PREFLIGHT_REQUESTS, confirm_requests, MANAGEMENT_KEY, KeyrevokeProcesses, KeyrevokeTest, Report, ScriptedServer, random_hashes,
                     repeated_hashes, run_measured, status_count)


def hostile_lines(h):
    """Lines that must all be invalid (one row each), built around a real hash h."""
    return [
        b"\x00" + h,                         # NUL bytes before, inside, after
        h[:32] + b"\x00" + h[32:],
        h + b"\x00",
        h[:63] + b"\x00",                    # 64 bytes, one of them NUL
        b"\xff\xfe" + h,                     # invalid UTF-8
        h[:62] + b"\xc3\x28",
        b"\xc0\xaf" + h,                     # overlong '/'
        b"\xed\xa0\x80" + h,                 # a UTF-16 surrogate in UTF-8
        b"../" + h,                          # path tricks around a hash
        h + b"/../../__admin/stats",
        h + b"?x=1",
        h + b"#frag",
        h + b"%2F..",
        b"%2e%2e%2f" + h,
        b"../" + h[:61],                     # 64 characters, but not hex
        h[:60] + b"?x=1",
        h[:61] + b"%2F",
        h[:32] + b"/" + h[33:],
        h[:32] + b" " + h[32:],              # two pieces
        h + b" " + h,                        # two hashes on one line
        h[:32] + b"\r" + h[32:],             # a bare CR inside
        b"\x0b" + h,                         # vertical tab, form feed: not blanks
        b"\x0c" + h,
        b"\x1b[2J\x1b[31m" + h,              # terminal escapes
        "\u202e".encode() + h,               # right-to-left override
        h[:63] + "\u0660".encode(),          # an Arabic-Indic digit zero
        "\uff10".encode() * 64,              # 64 full-width zeros
        "\ufeff".encode() + h,               # a BOM that is not at the start of the file
        b"0x" + h[:62],
        b"sk-mg-v1-" + h,                    # a key, not a hash
        b"a" * (1 << 20),                    # a 1 MB line
        b" " * (1 << 20) + h,                # a hash after 1 MB of blanks
        h * 16384,                           # a 1 MB line of hashes
    ]


class HostileLinesTest(KeyrevokeTest):
    def test_hostile_lines_are_invalid_and_never_reach_the_url(self):
        mock = self.mock(keys=50)
        hashes = mock.hashes()
        valid = hashes[:10]
        hostile = hostile_lines(hashes[20].encode())
        lines, hostile_numbers = [], []
        for i, bad in enumerate(hostile):
            lines.append(valid[i % 10].encode() if i < 10 else b"# filler")
            lines.append(bad)
            hostile_numbers.append(len(lines))
        with open(self.path("in.txt"), "wb") as f:
            f.write(b"\n".join(lines) + b"\n")
        res = self.run_keyrevoke(mock, "--concurrency", "4", self.path("in.txt"), timeout=60)
        self.assertEqual(res.returncode, 1, res.stderr[-2000:].decode("utf-8", "replace"))

        report = self.report()
        self.assertLess(len(report.data), 64 * 1024)  # no 1 MB line copied into the report
        report.data.decode("utf-8")  # strictly valid UTF-8, whatever the input held
        rows = report.rows  # without the header and summary rows
        invalid = [r for r in rows if r["outcome"] == "invalid"]
        self.assertEqual(sorted(r["line"] for r in invalid), hostile_numbers)
        for r in invalid:
            self.assertLess(len(r["input"]), 40, r)
            self.assertFalse(any(ord(c) < 0x20 or ord(c) == 0x7f for c in r["input"]), r)
            self.assertNotIn(hashes[20][:16], r["input"])  # a preview, never the whole thing
        self.assertEqual({r["hash"]: r["outcome"] for r in rows if r["hash"]}, {h: "deleted" for h in valid})

        # stderr: bounded, valid UTF-8, no control characters a terminal would obey.
        self.assertLess(len(res.stderr), 8192)
        err = res.stderr.decode("utf-8")
        self.assertNotIn("\x1b", err)
        self.assertNotIn("\x00", err)
        self.assertNotIn("\u202e", err)

        # Ground truth: only the ten valid hashes were requested; nothing else reached a URL.
        stats = mock.stats()
        self.assertEqual(stats["api_requests"], 10 + PREFLIGHT_REQUESTS)  # + the preflight
        self.assertEqual(status_count(stats, 200), 10 + PREFLIGHT_REQUESTS)
        self.assertEqual(status_count(stats, 400), 0)
        self.assertEqual(status_count(stats, 404), 0)
        self.assertEqual(stats["unknown_hash_deletes"], 0)
        self.assertEqual(stats["keys"]["remaining"], 40)
        print("\n  %d hostile lines, all invalid; %d API requests" % (len(hostile), stats["api_requests"]))

    def test_empty_and_comment_only_inputs_exit_2_unless_allowed_with_no_hash_rows(self):
        # An input without any hash is refused (exit 2, nothing sent) unless --allow-empty (issue 15,
        # item 12: a cron line whose file variable is empty reads an empty stdin); with it, exit 0.
        def only_header_and_summary(name, code):
            rows = self.report(name).all_rows
            self.assertEqual([r["type"] for r in rows], ["header", "summary"])
            self.assertEqual(rows[1]["counts"]["hashes"], 0)
            self.assertEqual(rows[1]["exit_code"], code)

        mock = self.mock(keys=10)
        cases = {"empty": b"", "comments and blanks": b"# nothing to do\n\n   \n\t\r\n# done"}
        for name, data in cases.items():
            with self.subTest(name):
                inp = self.path(name.replace(" ", "_") + ".txt")
                with open(inp, "wb") as f:
                    f.write(data)
                report = name.replace(" ", "_") + ".jsonl"
                res = self.run_keyrevoke(mock, inp, report=report, timeout=60)
                self.assertEqual(res.returncode, 2, res.stderr.decode())
                # Nothing sent: no report left behind to refuse the next run at the same path.
                self.assertFalse(os.path.exists(self.path(report)), "a refused empty input left a report")
                res = self.run_keyrevoke(mock, "--allow-empty", inp, report="allowed-" + report, timeout=60)
                self.assertEqual(res.returncode, 0, res.stderr.decode())
                only_header_and_summary("allowed-" + report, 0)
                res = self.run_keyrevoke(mock, "-", input=data, report="stdin-" + report, timeout=60)
                self.assertEqual(res.returncode, 2, res.stderr.decode())
                self.assertFalse(os.path.exists(self.path("stdin-" + report)))
                res = self.run_keyrevoke(mock, "--allow-empty", "-", input=data, report="stdin-ok-" + report,
                                         timeout=60)
                self.assertEqual(res.returncode, 0, res.stderr.decode())
                only_header_and_summary("stdin-ok-" + report, 0)
        self.assertEqual(mock.stats()["api_requests"], 0)

    def test_missing_or_unreadable_inputs_exit_2_and_create_nothing(self):
        mock = self.mock(keys=10)
        good = self.write_lines("in.txt", mock.hashes())
        cases = {
            "missing file": [self.path("nope.txt")],
            "good then missing": [good, self.path("nope.txt")],
            "a directory": [self.dir],
        }
        for name, inputs in cases.items():
            with self.subTest(name):
                report = name.replace(" ", "_") + ".jsonl"
                res = self.run_keyrevoke(mock, *inputs, report=report, timeout=60)
                self.assertEqual(res.returncode, 2, res.stderr.decode())
                self.assertFalse(os.path.exists(self.path(report)), "a report was created")
        self.assertEqual(mock.stats()["api_requests"], 0)


class HostileReportTest(KeyrevokeTest):
    def test_resume_from_a_corrupted_report_skips_exactly_the_rows_it_can_trust(self):
        mock = self.mock(keys=400)
        hashes = mock.hashes()
        done, rest = hashes[:150], hashes[150:]
        row = '{"hash":"%s","outcome":"%s","http_status":200,"attempts":1,"elapsed_ms":1.0,"error":null}\n'
        junk = [
            b"\x00" * 5000 + b"\n",                                          # a hole left by a truncation
            b"\xff\xfe garbage \xc3\x28\n",                                  # invalid UTF-8
            b"{" * 200000 + b"\n",                                            # a 200 kB line
            b'{"hash":"%s","outcome":"bogus"}\n' % rest[0].encode(),        # unknown outcome: not done
            b'{"hash":"%s"}\n' % rest[1].encode(),                           # no outcome: not done
            b'{"hash":"%s","outcome":"deleted"\n' % rest[2].encode(),        # cut JSON: not done
            b'["%s","deleted"]\n' % rest[3].encode(),                        # not an object
            b'{"hash":"%s","outcome":"deleted"}\n' % rest[4][:63].encode(),  # not a hash
            b"\r\n\n",
        ]
        with open(self.path("report.jsonl"), "wb") as f:
            for i, h in enumerate(done):
                f.write((row % (h, "deleted" if i % 2 else "not_found")).encode())
                if i % 30 == 0:
                    f.write(junk[(i // 30) % len(junk)])
            for j in junk:
                f.write(j)
            f.write(b'{"hash":"%s","outcome":"del' % rest[5].encode())  # a torn tail
        size_before = os.path.getsize(self.path("report.jsonl"))
        res = self.run_keyrevoke(mock, "--resume", self.write_lines("in.txt", hashes), timeout=60)
        self.assertEqual(res.returncode, 0, res.stderr.decode("utf-8", "replace"))
        # Ground truth: exactly the 250 hashes without a trustworthy final row were sent, once each.
        stats = mock.stats(hashes=True)
        self.assertEqual(stats["api_requests"], 250 + PREFLIGHT_REQUESTS)  # + the preflight
        self.assertEqual(stats["keys"]["remaining"], 150)
        self.assertEqual(stats.get("repeated_hashes", []), [])
        # What was appended are whole rows, one per hash sent, after the torn tail was cut.
        data = self.report().data
        self.assertLess(data.find(b'"outcome":"del' + b"{"), 0)
        appended = Report(data[size_before - len(b'{"hash":"%s","outcome":"del' % rest[5].encode()):])
        self.assertEqual(appended.all_rows[0]["type"], "header")  # each run opens its rows with a header
        self.assertEqual(appended.all_rows[-1]["type"], "summary")
        new_rows = appended.rows
        self.assertEqual({r["hash"] for r in new_rows}, set(rest))
        self.assertEqual({r["outcome"] for r in new_rows}, {"deleted"})

# Writes `total` lines to stdout in blocks: per 10,000 lines, 3,000 copies of the given hashes, one
# invalid line, the rest blank or comments. Fast (one bytes object written over and over).
GENERATOR = r"""
import sys
hashes = sys.argv[2].split(",")
block = []
j = 0
for i in range(10000):
    if i % 10 < 3:
        block.append(hashes[j % len(hashes)])
        j += 1
    elif i == 5:
        block.append("not-a-hash")
    else:
        block.append("" if i % 2 else "#")
data = ("\n".join(block) + "\n").encode()
out = sys.stdout.buffer
for _ in range(int(sys.argv[1]) // 10000):
    out.write(data)
"""


class LargeInputTest(KeyrevokeProcesses, KeyrevokeTest):
    def run_piped(self, mock, total, hashes, report):
        gen = subprocess.Popen([sys.executable, "-c", GENERATOR, str(total), ",".join(hashes)],
                               stdout=subprocess.PIPE)
        try:
            env = dict(os.environ, MODELGATES_MANAGEMENT_KEY=MANAGEMENT_KEY)
            with open(self.path(report + ".err"), "wb") as err:
                rc, rss_kib, elapsed = run_measured(self.keyrevoke_cmd(mock, "--concurrency", "8", "-", report=report),
                                                    timeout=240, stdin=gen.stdout, stderr=err,
                                                    stdout=subprocess.DEVNULL, env=env)
        finally:
            gen.stdout.close()
            gen.kill()
            gen.wait()
        with open(self.path(report + ".err")) as f:
            return rc, rss_kib, elapsed, f.read()

    def test_ten_million_lines_through_a_pipe_in_flat_memory(self):
        mock = self.mock(keys=300)
        hashes = mock.hashes()
        rc, small_rss, _, err = self.run_piped(mock, 100_000, hashes, "small.jsonl")
        self.assertEqual(rc, 1, err)  # invalid lines
        rc, big_rss, elapsed, err = self.run_piped(mock, 10_000_000, hashes, "big.jsonl")
        self.assertEqual(rc, 1, err)

        self.assertIn("2,999,700 duplicates", err)  # every one of the 10 million lines was read
        report = self.report("big.jsonl")
        rows = report.rows
        invalid = [r for r in rows if r["outcome"] == "invalid"]
        self.assertEqual(len(invalid), 1000)
        # All 300 were deleted by the small run: the big one gets 404s, one request per distinct hash.
        self.assertEqual(report.outcomes(), {h: "not_found" for h in hashes})
        stats = mock.stats()
        # + each run's preflight: the big run's listing is empty (the small run deleted every key)
        # (and the big run's 404s confirmed by GETs)
        self.assertEqual(stats["api_requests"], 600 + PREFLIGHT_REQUESTS + EMPTY_PREFLIGHT_REQUESTS + confirm_requests(300))
        self.assertEqual(stats["keys"]["remaining"], 0)
        # Memory: bounded, and flat in the number of lines (100 times more lines, same footprint).
        print("\n  10M lines: peak RSS %.1f MB (100k lines: %.1f MB), %.1f s"
              % (big_rss / 1024, small_rss / 1024, elapsed))
        self.assertLess(big_rss, 200 * 1024)
        self.assertLess(big_rss - small_rss, 32 * 1024)

    def test_hashes_from_an_open_pipe_are_sent_without_waiting_for_more(self):
        # `tail -f leaks.txt | keyrevoke -`: a hash that has arrived must not wait for 1,023 more
        # lines, or for the end of the input, before it is revoked.
        mock = self.mock(keys=100)
        hashes = mock.hashes()
        err_file = open(self.path("stderr.txt"), "wb")
        self.addCleanup(err_file.close)
        proc = self.start_keyrevoke(mock, "-", stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err_file)
        proc.stdin.write(("\n".join(hashes) + "\n").encode())
        proc.stdin.flush()
        try:
            # The server's record first: every key gone while the pipe is still open (waiting on the
            # mock's counter, not on a sleep), then the rows on disk.
            deadline = time.monotonic() + 30
            while mock.stats()["keys"]["deleted"] < 100 and time.monotonic() < deadline:
                time.sleep(0.05)
            stats = mock.stats(hashes=True)
            self.assertEqual(stats["keys"]["deleted"], 100, "keys deleted 30 s after 100 hashes went into a "
                             "pipe that stays open; the API saw %d requests" % stats["api_requests"])
            self.assertIsNone(proc.poll(), "the run ended although its input is still open")
            while self.report_rows_now() < 100 and time.monotonic() < deadline:
                time.sleep(0.05)
            self.assertEqual(self.report_rows_now(), 100, "rows on disk while the pipe stays open")
        finally:
            proc.stdin.close()
            proc.wait(timeout=30)
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(self.report().outcomes(), {h: "deleted" for h in hashes})
        stats = mock.stats(hashes=True)
        self.assertEqual(stats["keys"]["remaining"], 0)
        self.assertEqual(repeated_hashes(stats), set())


# --- hostile server answers ------------------------------------------------------------------

def ok(server, conn, attempt):
    return ScriptedServer.answer_ok(server, conn, attempt)


def then_ok(first):
    """The hostile answer on the first attempt, the real API's afterwards."""
    def answer(server, conn, attempt):
        return first(server, conn, attempt) if attempt == 1 else ok(server, conn, attempt)
    return answer


def non_json_500(server, conn, attempt):
    body = b"<html><body><h1>502 Bad Gateway</h1>" + b"x" * 2000 + b"</body></html>"
    conn.send(b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\nContent-Length: %d\r\n\r\n"
              % len(body) + body)
    return True


def no_deleted_200(server, conn, attempt):
    return conn.send_response(200, b'{"ok":true}')


def deleted_false_200(server, conn, attempt):
    return conn.send_response(200, b'{"deleted":false}')


def deleted_string_200(server, conn, attempt):
    return conn.send_response(200, b'{"deleted":"true"}')


def stream(conn, head, piece, limit=50 << 20):
    """Sends head then piece over and over, up to limit bytes or until the client hangs up."""
    conn.send(head)
    while conn.sent < limit:
        conn.send(piece)
    return False


def huge_body(server, conn, attempt):
    return stream(conn, b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
                  % (50 << 20) + b'{"deleted":true, "pad":"', b"x" * 65536)


def endless_chunked(server, conn, attempt):
    return stream(conn, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                  b"10000\r\n" + b"y" * 65536 + b"\r\n")


def endless_headers(server, conn, attempt):
    return stream(conn, b"HTTP/1.1 200 OK\r\n", b"X-Flood: " + b"z" * 1000 + b"\r\n")


def truncated(server, conn, attempt):
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
              b'{"deleted":true')
    return False


def chunked_ok(server, conn, attempt):
    body = ScriptedServer.OK_BODY
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
              b"5;ext=1\r\n" + body[:5] + b"\r\n" + b"%x\r\n" % (len(body) - 5) + body[5:] + b"\r\n"
              b"0\r\nX-Trailer: done\r\n\r\n")
    server.deleted.add(conn.hash)
    return True


def body_until_eof(server, conn, attempt):
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + ScriptedServer.OK_BODY)
    server.deleted.add(conn.hash)
    return False  # the body ends when the connection does


def drip(data, pause):
    def answer(server, conn, attempt):
        for i in range(len(data)):
            conn.send(data[i:i + 1])
            time.sleep(pause)
        return False
    return answer


OK_RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 16\r\n\r\n"
               + ScriptedServer.OK_BODY)


def drip_fast_ok(server, conn, attempt):
    drip(OK_RESPONSE.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"), 0.004)(server, conn, attempt)
    server.deleted.add(conn.hash)
    return False


def close_silently(server, conn, attempt):
    return False


def garbage(server, conn, attempt):
    conn.send(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\r\n")
    return False


def weird_status(server, conn, attempt):
    conn.send(b"HTTP/1.1 999 Whatever\r\nContent-Length: 0\r\n\r\n")
    return True


def endless_interim(server, conn, attempt):
    # Interim answers without end (RFC 9110 15.2 puts no bound on them; the client does): none is final.
    conn.send(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" * 64)
    return False


def redirect(server, conn, attempt):
    return conn.send_response(302, b"", headers=["Location: http://127.0.0.1:9/api/v1/keys/" + conn.hash])


def always_500(server, conn, attempt):
    return conn.send_response(500, b'{"error":{"code":500,"message":"Internal server error"}}')


def interim_100_then_ok(server, conn, attempt):
    if conn.hash in server.deleted:
        return conn.send_response(404, b'{"error":{"code":404,"message":"Key not found"}}')
    conn.send(b"HTTP/1.1 100 Continue\r\n\r\n" + OK_RESPONSE)
    server.deleted.add(conn.hash)
    return True


def ok_with_bytes_after_the_body(server, conn, attempt):
    if conn.hash in server.deleted:
        return conn.send_response(404, b'{"error":{"code":404,"message":"Key not found"}}')
    conn.send(OK_RESPONSE + OK_RESPONSE)  # the second answer answers no request
    server.deleted.add(conn.hash)
    return True


def ok_then_another_answer_in_its_own_record(server, conn, attempt):
    if conn.hash in server.deleted:
        return conn.send_response(404, b'{"error":{"code":404,"message":"Key not found"}}')
    conn.send_coalesced(OK_RESPONSE, OK_RESPONSE)  # two TLS records, one read for the client
    server.deleted.add(conn.hash)
    return True


def ok_then_a_stray_answer_while_idle(server, conn, attempt):
    """The real answer, then, 0.1 s later (the connection idle in the client's pool), another one."""
    if conn.hash in server.deleted:
        return conn.send_response(404, b'{"error":{"code":404,"message":"Key not found"}}')
    conn.send(OK_RESPONSE)
    server.deleted.add(conn.hash)
    time.sleep(0.1)
    conn.send(OK_RESPONSE)
    return True


def ok_then_408_and_close_while_idle(server, conn, attempt):
    """The real answer, then, 0.1 s later, the 408 a server may send on an idle connection it closes
    (RFC 9110 15.5.9): a notice, not an answer."""
    if conn.hash in server.deleted:
        return conn.send_response(404, b'{"error":{"code":404,"message":"Key not found"}}')
    conn.send(OK_RESPONSE)
    server.deleted.add(conn.hash)
    time.sleep(0.1)
    conn.send(b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
    return False


class GreetingTlsServer:
    """HTTPS on 127.0.0.1 (TLS 1.2, a full handshake on every connection: a new SSLContext each) that
    sends `greeting` on the connections numbered in `greet_on` (1 = the first) in the same TCP segment
    as its handshake's last flight (memory BIOs), so that the client holds it the moment its handshake
    ends, before it writes anything: a server speaking first, as trial 10's did after each handshake.
    The list route answers an empty list and closes (so each DELETE dials anew); a DELETE gets
    200 {"deleted":true}. `requests` counts the requests per path."""

    def __init__(self, pki, greet_on, greeting):
        self.pki, self.greet_on, self.greeting = pki, set(greet_on), greeting
        self.requests = {}
        self.connections = 0
        self._lock = threading.Lock()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self._listener.settimeout(0.2)
        self._stopping = False
        self.port = self._listener.getsockname()[1]
        self.origin = Origin("https://localhost:%d/api/v1" % self.port, ca=pki[0])
        self._thread = threading.Thread(target=self._accept_loop, daemon=True)
        self._thread.start()

    def _accept_loop(self):
        while not self._stopping:
            try:
                sock, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.connections += 1
                number = self.connections
            threading.Thread(target=self._serve, args=(sock, number), daemon=True).start()

    def _serve(self, sock, number):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.pki[1], self.pki[2])
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = ctx.wrap_bio(incoming, outgoing, server_side=True)
        sock.settimeout(10)

        def receive():
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            incoming.write(chunk)

        try:
            while True:
                try:
                    tls.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    sock.sendall(outgoing.read())
                    receive()
            if number in self.greet_on:
                tls.write(self.greeting)
            sock.sendall(outgoing.read())  # the last flight, and the greeting with it
            data = b""
            while True:
                while b"\r\n\r\n" not in data:
                    try:
                        data += tls.read(65536)
                    except ssl.SSLWantReadError:
                        receive()
                head, data = data.split(b"\r\n\r\n", 1)
                method, path = head.split(b" ")[:2]
                with self._lock:
                    self.requests[path.decode()] = self.requests.get(path.decode(), 0) + 1
                if method == b"GET":
                    tls.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
                              b"Connection: close\r\n\r\n{\"data\":[]}")
                    sock.sendall(outgoing.read())
                    return
                tls.write(OK_RESPONSE)
                sock.sendall(outgoing.read())
        except (OSError, ssl.SSLError, ValueError):
            pass
        finally:
            sock.close()

    def stop(self):
        self._stopping = True
        self._thread.join(5)
        self._listener.close()


class HostileServerTest(KeyrevokeTest):
    def start_server(self, script, pki=None):
        server = ScriptedServer(script, pki=pki)
        self.addCleanup(server.stop)
        return server

    def test_hostile_answers_end_failed_with_a_reason_or_retried_then_deleted(self):
        # name: (answer, expected outcome, expected attempts, text expected in the error)
        plan = {
            "non-JSON 500": (non_json_500, "failed", 3, "non-JSON"),
            "200 without deleted": (no_deleted_200, "failed", 3, "unexpected body"),
            "200 deleted false": (deleted_false_200, "failed", 3, "unexpected body"),
            "200 deleted as a string": (deleted_string_200, "failed", 3, "unexpected body"),
            "redirect": (redirect, "failed", 1, "redirect"),
            "huge body": (then_ok(huge_body), "deleted", 2, None),
            "endless chunked body": (then_ok(endless_chunked), "deleted", 2, None),
            "endless headers": (then_ok(endless_headers), "deleted", 2, None),
            "truncated body": (then_ok(truncated), "deleted", 2, None),
            "slow drip past the timeout": (then_ok(drip(OK_RESPONSE, 0.25)), "deleted", 2, None),
            "closed without an answer": (then_ok(close_silently), "deleted", 2, None),
            "not HTTP": (then_ok(garbage), "deleted", 2, None),
            "status 999": (then_ok(weird_status), "deleted", 2, None),
            "interim answers without end": (then_ok(endless_interim), "deleted", 2, None),
            "chunked": (chunked_ok, "deleted", 1, None),
            "body until EOF": (body_until_eof, "deleted", 1, None),
            "slow drip within the timeout": (drip_fast_ok, "deleted", 1, None),
            "ordinary": (ok, "deleted", 1, None),
        }
        hashes = dict(zip(plan, random_hashes(len(plan))))
        server = self.start_server({hashes[name]: p[0] for name, p in plan.items()})
        inp = self.write_lines("in.txt", list(hashes.values()))
        started = time.monotonic()
        res = self.run_keyrevoke(server.origin, "--timeout", "2", "--max-attempts", "3", "--concurrency", "4",
                                 inp, timeout=120)
        elapsed = time.monotonic() - started
        self.assertEqual(res.returncode, 1, res.stderr.decode())
        rows = {r["hash"]: r for r in self.report().rows}
        self.assertEqual(set(rows), set(hashes.values()))
        for name, (_, outcome, attempts, words) in plan.items():
            with self.subTest(name):
                h = hashes[name]
                row = rows[h]
                self.assertEqual(row["outcome"], outcome, row)
                self.assertEqual(row["attempts"], attempts, row)
                if words:
                    self.assertIn(words, row["error"])
                    self.assertLess(len(row["error"]), 300)  # the server's text, bounded
                # Each request the server saw was an attempt in the report.
                self.assertLessEqual(server.requests.get(h, 0), row["attempts"])
        # Bounded reads: a client that stopped reading early got far less than the 50 MB on offer.
        for name in ("huge body", "endless chunked body", "endless headers"):
            self.assertLess(server.bytes_sent.get(hashes[name], 0), 16 << 20, name)
        # Ground truth: nothing is reported deleted that the server did not delete.
        reported = {h for h, r in rows.items() if r["outcome"] == "deleted"}
        self.assertLessEqual(reported, server.deleted)
        self.assertLess(elapsed, 60)
        print("\n  %d hostile answers handled in %.1f s" % (len(plan), elapsed))

    def check_no_answer_taken_for_another_request(self, hostile, pki=None):
        # One connection (concurrency 1), the hostile answer first, then hashes the server never deletes
        # (always 500): if the extra bytes were taken as the next request's answer, they would be
        # reported deleted.
        first, *victims = random_hashes(4)
        script = {first: hostile}
        script.update({v: always_500 for v in victims})
        server = self.start_server(script, pki)
        inp = self.write_lines("in.txt", [first] + victims)
        res = self.run_keyrevoke(server.origin, "--concurrency", "1", "--max-attempts", "2", "--timeout", "5",
                                 inp, timeout=120)
        rows = {r["hash"]: r for r in self.report().rows}
        wrongly = [v for v in victims if rows[v]["outcome"] == "deleted"]
        self.assertEqual(wrongly, [], "reported deleted, but the server answered 500 to every request for "
                         "them: %s" % [rows[v] for v in wrongly])
        reported = {h for h, r in rows.items() if r["outcome"] == "deleted"}
        self.assertLessEqual(reported, server.deleted)
        self.assertIn(rows[first]["outcome"], ("deleted", "not_found", "not_found_after_retry"))
        self.assertEqual(res.returncode, 1, res.stderr.decode())
        return rows[first]

    def test_interim_100_continue_is_not_the_answer(self):
        # RFC 9110 15.2: a client must parse 1xx responses before the final one, even unexpected ones.
        row = self.check_no_answer_taken_for_another_request(interim_100_then_ok)
        self.assertEqual(row["outcome"], "deleted", row)
        self.assertEqual(row["attempts"], 1, row)

    def check_two_answers_neither_taken(self, hostile, pki=None):
        # Two answers to one request: which is its own cannot be told (HTTP/1.1 has no request ids), so
        # neither is taken, and the run stops (exit 2): from then on no answer of this server can be
        # matched to its request (trial 11: such a server shifted answers onto later requests).
        first, *others = random_hashes(4)
        server = self.start_server({first: hostile}, pki)
        inp = self.write_lines("in.txt", [first] + others)
        res = self.run_keyrevoke(server.origin, "--concurrency", "1", "--max-attempts", "2", "--timeout", "5",
                                 inp, timeout=120)
        err = res.stderr.decode()
        self.assertEqual(res.returncode, 2, err)
        self.assertIn("an answer no request asked for", err)
        rows = {r["hash"]: r for r in self.report().rows}
        self.assertEqual(set(rows), {first, *others})
        self.assertEqual(rows[first]["outcome"], "failed", rows[first])  # sent, its answer not taken
        self.assertIn("an answer to no request", rows[first]["error"])
        self.assertEqual({rows[h]["outcome"] for h in others}, {"not_attempted"})
        self.assertEqual(server.requests.get(first), 1)
        self.assertEqual(sum(server.requests.get(h, 0) for h in others), 0)  # nothing sent after it
        summary = self.report().summary
        self.assertEqual(summary["exit_reason"], "unattributable")

    def test_bytes_after_a_complete_answer_are_not_the_next_answer(self):
        self.check_two_answers_neither_taken(ok_with_bytes_after_the_body)

    def test_two_answers_in_one_tls_record_are_neither_taken(self):
        self.check_two_answers_neither_taken(ok_with_bytes_after_the_body, make_test_pki(self.dir))

    def test_two_answers_in_two_tls_records_read_at_once_are_neither_taken(self):
        # The second answer still encrypted in the client's buffer when the first is whole.
        self.check_two_answers_neither_taken(ok_then_another_answer_in_its_own_record, make_test_pki(self.dir))

    def test_an_answer_waiting_on_an_idle_connection_stops_the_run(self):
        # A server answering twice, the second answer late: it waits on the idle connection, and the
        # client, taking that connection for its next request, must not read it as that request's
        # answer. Seen when the connection is taken: nothing is written there, the run stops (exit 2).
        for pki in (None, make_test_pki(self.dir)):
            with self.subTest(tls=pki is not None):
                first, second, *others = random_hashes(4)
                server = self.start_server({first: ok_then_a_stray_answer_while_idle}, pki)
                name = "idle-tls" if pki else "idle"
                inp = self.write_lines(name + ".txt", [first, second] + others)
                # --rate 2: the second DELETE leaves about 0.5 s after the first, when the stray answer
                # (0.1 s after the first's) is waiting.
                res = self.run_keyrevoke(server.origin, "--concurrency", "1", "--rate", "2", inp,
                                         report=name + ".jsonl", timeout=120)
                err = res.stderr.decode()
                self.assertEqual(res.returncode, 2, err)
                self.assertIn("an answer no request asked for", err)
                rows = {r["hash"]: r for r in self.report(name + ".jsonl").rows}
                self.assertEqual(rows[first]["outcome"], "deleted", rows[first])  # its own answer, read alone
                self.assertEqual(rows[second]["outcome"], "not_attempted", rows[second])  # never written
                self.assertEqual({rows[h]["outcome"] for h in others}, {"not_attempted"})
                self.assertEqual(server.requests.get(first), 1)
                self.assertEqual(sum(server.requests.get(h, 0) for h in [second] + others), 0)
                self.assertEqual(self.report(name + ".jsonl").summary["exit_reason"], "unattributable")

    def test_a_408_on_an_idle_connection_before_closing_it_is_no_answer(self):
        for pki in (None, make_test_pki(self.dir)):
            with self.subTest(tls=pki is not None):
                hashes = random_hashes(3)
                server = self.start_server({h: ok_then_408_and_close_while_idle for h in hashes}, pki)
                name = "408-tls" if pki else "408"
                inp = self.write_lines(name + ".txt", hashes)
                res = self.run_keyrevoke(server.origin, "--concurrency", "1", "--rate", "2", inp,
                                         report=name + ".jsonl", timeout=120)
                self.assertEqual(res.returncode, 0, res.stderr.decode())
                self.assertEqual(self.report(name + ".jsonl").outcomes(), {h: "deleted" for h in hashes})
                self.assertEqual({h: server.requests.get(h) for h in hashes}, {h: 1 for h in hashes})

    def test_an_answer_before_the_request_on_a_new_connection_stops_the_run(self):
        # Trial 10's server: 200 {"deleted":true} right after the handshake, before any request. It
        # answers nothing: the request it would be taken for is never written, and the run stops.
        pki = make_test_pki(self.dir)
        # The list route closes its connection: the preflight's reads take connections 1 to 3.
        for greet_on, what in (({1}, "the preflight's connection"),
                               ({EMPTY_PREFLIGHT_REQUESTS + 1}, "the first DELETE's connection")):
            with self.subTest(what):
                hashes = random_hashes(3)
                server = GreetingTlsServer(pki, greet_on, OK_RESPONSE)
                self.addCleanup(server.stop)
                name = "greet-%d" % min(greet_on)
                inp = self.write_lines(name + ".txt", hashes)
                res = self.run_keyrevoke(server.origin, "--concurrency", "1", inp, report=name + ".jsonl",
                                         timeout=120)
                err = res.stderr.decode()
                self.assertEqual(res.returncode, 2, err)
                self.assertIn("an answer no request asked for", err)
                self.assertEqual(self.report(name + ".jsonl").outcomes(), {h: "not_attempted" for h in hashes})
                self.assertEqual(sum(n for p, n in server.requests.items() if p.startswith("/api/v1/keys/")), 0,
                                 server.requests)
                self.assertEqual(self.report(name + ".jsonl").summary["exit_reason"], "unattributable")


if __name__ == "__main__":
    unittest.main()
