"""Terminals (issue 15, items 7 and 8), on a real pseudo-terminal: a terminal that hangs up (an SSH
session dropping: SIGHUP) stops the run like SIGTERM, with a row for every key the server deleted; a
terminal that does not drain (Ctrl-S, or a pty nobody reads) neither freezes the run nor keeps a signal
from stopping it. The judge is the mock's own key list (which keys are gone), not keyrevoke's report."""

import fcntl
import json
import os
import pty
import re
import signal
import struct
import subprocess
import termios
import threading
import time
import unittest

from harness import (KEYREVOKE, MANAGEMENT_KEY, PREFLIGHT_REQUESTS, KeyrevokeProcesses, KeyrevokeTest, Origin, ScriptedServer, free_port,
                     keyrevoke_env, repeated_hashes)

XOFF, XON = b"\x13", b"\x11"  # what Ctrl-S and Ctrl-Q send


def remaining_hashes(mock):
    """The keys the mock still holds, from its own list (paged to an empty page): which are gone."""
    left, offset = set(), 0
    while True:
        status, _, body = mock.request("GET", "/api/v1/keys?offset=%d&include_disabled=true" % offset,
                                       headers={"Authorization": "Bearer " + MANAGEMENT_KEY})
        if status != 200:
            raise AssertionError("the mock's list answered %d: %r" % (status, body[:200]))
        page = json.loads(body)["data"]
        if not page:
            return left
        left.update(k["hash"] for k in page)
        offset += len(page)


class Terminal:
    """A pty pair. keyrevoke gets the slave; the test holds the master (the user's side)."""

    def __init__(self):
        self.master, self.slave = pty.openpty()
        attrs = termios.tcgetattr(self.slave)
        attrs[0] |= termios.IXON  # Ctrl-S / Ctrl-Q flow control, as on a login terminal
        termios.tcsetattr(self.slave, termios.TCSANOW, attrs)
        self.seen = bytearray()
        self._lock = threading.Lock()
        self._reader = None

    def read_in_background(self):
        """Drains the master into `seen` (a terminal someone looks at) until it hangs up or closes."""
        def drain():
            while True:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    return
                if not chunk:
                    return
                with self._lock:
                    self.seen.extend(chunk)
        self._reader = threading.Thread(target=drain, daemon=True)
        self._reader.start()

    def text(self):
        with self._lock:
            return bytes(self.seen)

    def pause(self):
        """Ctrl-S: returns once output to the terminal is stopped (a non-blocking write to the slave is
        refused; the bytes written before that sit in the terminal's buffer)."""
        os.write(self.master, XOFF)
        flags = fcntl.fcntl(self.slave, fcntl.F_GETFL)
        fcntl.fcntl(self.slave, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        deadline = time.monotonic() + 10
        try:
            while time.monotonic() < deadline:
                try:
                    os.write(self.slave, b".")
                except BlockingIOError:
                    return
                time.sleep(0.01)
            raise AssertionError("Ctrl-S did not stop the pty's output")
        finally:
            fcntl.fcntl(self.slave, fcntl.F_SETFL, flags)

    def resume(self):
        """Ctrl-Q."""
        os.write(self.master, XON)

    def fill(self):
        """Fills the terminal's buffer from the program's side, as hours of output nobody reads would:
        the next write to the slave blocks. Returns the bytes it took."""
        flags = fcntl.fcntl(self.slave, fcntl.F_GETFL)
        fcntl.fcntl(self.slave, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        taken = 0
        try:
            # The kernel moves bytes on to the master's line discipline in the background, which makes
            # room again: fill until a pass a moment later finds none.
            for _ in range(100):
                before = taken
                for size in (1024, 1):
                    try:
                        while True:
                            taken += os.write(self.slave, b"x" * size)
                    except BlockingIOError:
                        pass
                if taken == before:
                    return taken
                time.sleep(0.1)
            raise AssertionError("the pty kept taking bytes: %d" % taken)
        finally:
            fcntl.fcntl(self.slave, fcntl.F_SETFL, flags)

    def hang_up(self):
        """Closes the master: the kernel hangs up the slave and sends SIGHUP to its session."""
        os.close(self.master)
        self.master = -1

    def close(self):
        for fd in (self.master, self.slave):
            if fd >= 0:
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.master = self.slave = -1


class TerminalCase(KeyrevokeProcesses, KeyrevokeTest):
    """A pty and keyrevoke on it (the helpers of the tests below)."""

    def terminal(self):
        t = Terminal()
        self.addCleanup(t.close)
        return t

    def start_on_terminal(self, mock, term, inp, *args, session=False):
        """keyrevoke with progress on and stderr on the terminal; session=True makes it a login
        session's process: stdin, stdout and stderr on the terminal, which is its controlling one."""
        kw = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": term.slave}
        if session:
            kw = {"stdin": term.slave, "stdout": term.slave, "stderr": term.slave, "start_new_session": True,
                  "preexec_fn": lambda: fcntl.ioctl(2, termios.TIOCSCTTY, 0)}
        cmd = self.keyrevoke_cmd(mock, *args, inp)
        cmd[cmd.index("--progress") + 1] = "always"
        proc = subprocess.Popen(cmd, env=keyrevoke_env(), **kw)
        if not hasattr(self, "_procs"):
            self._procs = []
        self._procs.append(proc)
        return proc

    def wait_exit(self, proc, timeout, what):
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            self.fail("keyrevoke did not exit within %s s %s" % (timeout, what))

    def assert_rows_are_the_servers_truth(self, mock, hashes):
        """Every hash has exactly one row, and the rows saying deleted are exactly the keys the server
        no longer holds. Returns (outcomes, deleted by this run)."""
        report = self.report(torn_ok=True)
        self.assertEqual(report.torn, b"")
        outcomes = report.outcomes()
        self.assertEqual(set(outcomes), set(hashes))
        deleted = {h for h, o in outcomes.items() if o == "deleted"}
        self.assertEqual(set(hashes) - remaining_hashes(mock), deleted)
        return outcomes, deleted


class TerminalTest(TerminalCase):

    def test_hang_up_mid_run_keeps_every_row_and_resume_finishes(self):
        # Item 7: closing the terminal (ssh dropping) used to kill the run at once: 16 keys deleted by
        # requests in flight had no row, and a --resume could only call them not_found_after_retry.
        mock = self.mock(keys=3000, args=["--latency-ms", "100", "--page-size", "10000"])
        hashes = mock.hashes()
        inp = self.write_lines("in.txt", hashes)
        term = self.terminal()
        proc = self.start_on_terminal(mock, term, inp, "--concurrency", "16", session=True)
        os.close(term.slave)  # the session holds it now; the hangup reaches only keyrevoke
        term.slave = -1
        term.read_in_background()
        self.wait_for(lambda: self.report_rows_now() >= 300 or proc.poll() is not None, 60, "300 rows")
        self.assertIsNone(proc.poll())
        self.wait_for(lambda: b"deleted" in term.text(), 20, "progress on the terminal")
        in_flight = mock.stats()["in_flight"]
        term.hang_up()
        self.wait_exit(proc, 30, "of the hangup")
        self.assertEqual(proc.returncode, 130)  # a stop, as for SIGTERM (README, Exit codes)

        outcomes, deleted_first = self.assert_rows_are_the_servers_truth(mock, hashes)
        self.assertEqual(set(outcomes.values()), {"deleted", "not_attempted"})
        self.assertEqual(self.report().summary["exit_code"], 130)
        before = mock.stats(hashes=True)

        res = self.run_keyrevoke(mock, "--resume", inp, timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        after = mock.stats(hashes=True)
        self.assertEqual(after["keys"]["remaining"], 0)
        self.assertEqual(repeated_hashes(after) - repeated_hashes(before), set())
        final = {}
        for r in self.report().rows:
            final[r["hash"]] = r["outcome"]
        # Nothing the first run deleted is found gone by the resume: every one of them had its row.
        self.assertEqual({h: final[h] for h in hashes if h not in deleted_first},
                         {h: "deleted" for h in hashes if h not in deleted_first})
        print("\n  hangup with %d in flight after %d deleted: exit 130, every deleted key has its row"
              % (in_flight, len(deleted_first)))

    def test_paused_terminal_neither_freezes_the_run_nor_loses_it(self):
        # Item 8: Ctrl-S froze the run (progress was written on the event loop and the write blocked).
        # Paused from the start: the run goes on; after Ctrl-Q progress and the summary show again.
        mock = self.mock(keys=4000, args=["--page-size", "10000"])
        hashes = mock.hashes()
        inp = self.write_lines("in.txt", hashes)
        term = self.terminal()
        term.pause()
        proc = self.start_on_terminal(mock, term, inp, "--rate", "400")
        # Ten progress periods with the terminal paused; every one of them would have blocked.
        self.wait_for(lambda: self.report_rows_now() >= 2000 or proc.poll() is not None, 60, "2000 rows")
        self.assertIsNone(proc.poll(), "the run ended before the terminal was resumed")
        term.resume()
        term.read_in_background()
        self.wait_for(lambda: b"deleted" in term.text().rsplit(b"\r", 1)[-1] or proc.poll() is not None, 30,
                      "a fresh progress frame after Ctrl-Q")
        self.wait_exit(proc, 60, "after its last hash")
        self.assertEqual(proc.returncode, 0)
        outcomes, deleted = self.assert_rows_are_the_servers_truth(mock, hashes)
        self.assertEqual(deleted, set(hashes))
        self.wait_for(lambda: b"report: " in term.text(), 10, "the summary on the resumed terminal")

    def test_sigint_stops_a_run_whose_terminal_nobody_reads(self):
        # Item 8: a pty whose reader went away (its buffer full): progress is dropped, the run goes on,
        # and SIGINT still stops it gracefully (it used to wait for the terminal).
        mock = self.mock(keys=3000, args=["--latency-ms", "100", "--page-size", "10000"])
        hashes = mock.hashes()
        inp = self.write_lines("in.txt", hashes)
        term = self.terminal()
        self.assertGreater(term.fill(), 0)
        proc = self.start_on_terminal(mock, term, inp, "--concurrency", "16")
        # At 160 keys/s, 600 rows take 4 progress periods; the first write would have blocked the loop.
        self.wait_for(lambda: self.report_rows_now() >= 600 or proc.poll() is not None, 60, "600 rows")
        self.assertIsNone(proc.poll())
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        self.wait_exit(proc, 30, "of SIGINT")
        took = time.monotonic() - sent
        self.assertEqual(proc.returncode, 130)
        self.assertLess(took, 20)  # the grace (5 s) and the summary's bounded wait (3 s), generously
        outcomes, deleted = self.assert_rows_are_the_servers_truth(mock, hashes)
        self.assertEqual(set(outcomes.values()), {"deleted", "not_attempted"})
        self.assertEqual(self.report().summary["exit_code"], 130)
        print("\n  SIGINT with the terminal full after %d deleted: exit 130 in %.1f s" % (len(deleted), took))




# --- issue 11: a terminal of any width, waits said in words, the summary, tracing, errors ------------

FRAME_START = b"\r\x1b[K"


def set_window(fd, columns, rows=24):
    """TIOCSWINSZ: the pty's window size, as a terminal emulator sets it."""
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))


def frames(data):
    """The progress frames drawn in `data`: each "\\r ESC[K" starts one and the next "\\r" (the next
    frame's, or the erase before a message) ends it; what a "\\n" ends is a message line, not a frame.
    Returns (offset, bytes) pairs (the last, maybe still being written, excluded)."""
    out, pos = [], 0
    while True:
        start = data.find(FRAME_START, pos)
        if start < 0:
            return out
        begin = start + len(FRAME_START)
        cr, lf = data.find(b"\r", begin), data.find(b"\n", begin)
        if cr < 0:
            return out
        if (lf < 0 or cr < lf) and cr + 1 != lf:  # the pty shows "\n" as "\r\n" (ONLCR)
            if cr > begin:
                out.append((begin, data[begin:cr]))
            pos = cr
        else:
            pos = lf


def lines_outside_frames(data):
    """What is printed as lines (warnings, the summary), frames and erases removed."""
    text = data
    for off, frame in reversed(frames(data)):
        text = text[:off] + text[off + len(frame):]
    return text.replace(FRAME_START, b"").decode(errors="replace").replace("\r", "").split("\n")


class ProgressWidthTest(TerminalCase):

    def run_on_width(self, columns, resize_to=None):
        """300 keys at about 100/s (latency 20 ms, concurrency 2) on a pty of `columns`; with resize_to,
        the window is resized (TIOCSWINSZ + SIGWINCH) once frames are drawn. Returns (exit code, output,
        offset of the resize)."""
        mock = self.mock(keys=300, args=["--latency-ms", "20"])
        term = self.terminal()
        set_window(term.slave, columns)
        term.read_in_background()
        proc = self.start_on_terminal(mock, term, mock.hashes_file, "--concurrency", "2", "--force")
        resized_at = None
        if resize_to is not None:
            self.wait_for(lambda: len(frames(term.text())) >= 2, 20, "two frames before the resize")
            resized_at = len(term.text())
            set_window(term.slave, resize_to)
            proc.send_signal(signal.SIGWINCH)
        self.wait_exit(proc, 60, "with %d columns" % columns)
        self.wait_for(lambda: b"exit " in term.text(), 10, "the summary's last line")
        return proc.returncode, term.text(), resized_at

    def assert_summary(self, data, code):
        lines = [l for l in lines_outside_frames(data) if l.strip()]
        first = next(l for l in lines if " hashes in " in l)
        self.assertLessEqual(len(first), 80, first)
        self.assertTrue(lines[-1].startswith("keyrevoke: exit %d: " % code), lines[-1])
        self.assertNotIn("cuts", "\n".join(lines))

    def test_progress_never_wraps_at_60_80_and_120_columns(self):
        for columns in (60, 80, 120):
            with self.subTest(columns=columns):
                code, data, _ = self.run_on_width(columns)
                self.assertEqual(code, 0, data[-2000:])
                drawn = frames(data)
                self.assertGreaterEqual(len(drawn), 2, data[-2000:])
                for _, frame in drawn:
                    self.assertLess(len(frame), columns, frame)  # the last column stays free: no wrap
                    self.assertTrue(frame.startswith(b"["), frame)
                    self.assertRegex(frame, rb"^\[[\d,]+/[\d,]+\+?\] ")
                widest = max(len(f) for _, f in drawn)
                print("\n  %d columns: %d frames, widest %d" % (columns, len(drawn), widest))
                self.assert_summary(data, 0)

    def test_a_resize_mid_run_redraws_within_the_new_width(self):
        code, data, resized_at = self.run_on_width(120, resize_to=60)
        self.assertEqual(code, 0, data[-2000:])
        before = [f for off, f in frames(data) if off < resized_at]
        after = [f for off, f in frames(data) if off > resized_at]
        self.assertTrue(any(len(f) > 59 for f in before), "the frames at 120 columns used the room: %r" % before)
        self.assertGreaterEqual(len(after), 2, data[-2000:])
        # The first frame after the resize may have been written before it; every later one fits 60.
        for frame in after[1:]:
            self.assertLess(len(frame), 60, frame)

    def test_a_long_retry_after_is_said_not_shown_as_zero_per_second(self):
        # One request per 10 s after a burst for the preflight's requests and one DELETE: the second DELETE
        # is answered 429 with Retry-After of about 10 s.
        mock = self.mock(keys=5, args=["--rate", "0.1", "--burst", str(PREFLIGHT_REQUESTS + 1), "--retry-after",
                                       "seconds"])
        term = self.terminal()
        set_window(term.slave, 80)
        term.read_in_background()
        proc = self.start_on_terminal(mock, term, mock.hashes_file)
        self.wait_for(lambda: b"server asked (429)" in term.text(), 30, "the wait said on the progress line")
        proc.send_signal(signal.SIGINT)
        self.wait_exit(proc, 30, "after SIGINT")
        self.assertEqual(proc.returncode, 130)
        data = term.text()
        waits = [f for _, f in frames(data) if b"server asked" in f]
        self.assertRegex(waits[-1], rb"waiting \d+ s: server asked \(429\)")
        self.assertNotIn(b" 0/s", waits[-1])
        self.assert_summary(data, 130)
        lines = [l for l in lines_outside_frames(data) if l.strip()]
        # After the interrupt, the first line counts only the hashes that got an answer.
        first = next(l for l in lines if " hashes in " in l)
        answered = sum(1 for o in self.report(torn_ok=True).outcomes().values() if o != "not_attempted")
        self.assertIn("keyrevoke: %d hashes in " % answered, first)
        self.assertRegex(lines[-1], r"^keyrevoke: exit 130: interrupted; \d+ not_attempted$")


class SummaryAndErrorsTest(KeyrevokeTest):

    def test_last_line_says_why_for_each_exit_code(self):
        mock = self.mock(keys=50)
        hashes = mock.hashes()
        # 0: every hash done.
        res = self.run_keyrevoke(mock, self.write_lines("ok.txt", hashes[:10]))
        err = res.stderr.decode()
        self.assertEqual(res.returncode, 0, err)
        self.assertEqual(err.strip().splitlines()[-1], "keyrevoke: exit 0: every hash done")
        self.assertLessEqual(len(next(l for l in err.splitlines() if " hashes in " in l)), 80)
        # 1: invalid lines.
        res = self.run_keyrevoke(mock, self.write_lines("bad.txt", hashes[10:20] + ["nothex", "zz"]),
                                 report="r1.jsonl")
        err = res.stderr.decode()
        self.assertEqual(res.returncode, 1, err)
        self.assertEqual(err.strip().splitlines()[-1], "keyrevoke: exit 1: 2 invalid lines")
        self.assertIn("  input: 2 invalid lines, 0 duplicates", err)
        # 4: nothing listening; the hashes never sent are counted apart, not as "hashes in".
        closed = Origin("https://127.0.0.1:%d/api/v1" % free_port(), ca=mock.ca)
        res = self.run_keyrevoke(closed, self.write_lines("four.txt", hashes[20:30]), report="r4.jsonl",
                                 timeout=120)
        err = res.stderr.decode()
        self.assertEqual(res.returncode, 4, err)
        self.assertEqual(err.strip().splitlines()[-1],
                         "keyrevoke: exit 4: the server could not be reached; 10 not_attempted")
        self.assertIn("keyrevoke: 0 hashes in ", err)

    def test_an_unknown_option_suggests_the_nearest(self):
        mock = self.mock(keys=1)
        for args, wanted in ((["--concurency", "4"], "unknown option '--concurency'; did you mean '--concurrency'?"),
                             (["--max-attempt=3"], "did you mean '--max-attempts'?"),
                             (["--verfiy"], "did you mean '--verify'?"),
                             (["--key=" + MANAGEMENT_KEY], "did you mean '--key-file'?"),
                             (["list", "--labl", "x"], "unknown option '--labl'; did you mean '--label'?")):
            with self.subTest(args=args[0]):
                cmd = [KEYREVOKE] + args
                res = subprocess.run(cmd, env=keyrevoke_env(), capture_output=True, timeout=30)
                err = res.stderr.decode()
                self.assertEqual(res.returncode, 2, err)
                self.assertIn(wanted, err)
                self.assertNotIn(MANAGEMENT_KEY, err + res.stdout.decode())
        res = subprocess.run([KEYREVOKE, "--frobnicate"], env=keyrevoke_env(), capture_output=True, timeout=30)
        self.assertIn("unknown option '--frobnicate'\n", res.stderr.decode())  # nothing near: no guess

    def test_list_failure_gives_the_reason(self):
        mock = self.mock(keys=3)
        wrong = Origin(mock.base_url.replace("/api/v1", "/api/v9"), ca=mock.ca)
        res = subprocess.run([KEYREVOKE, "list", "--base-url", wrong.base_url, "--cacert", mock.ca],
                             env=keyrevoke_env(), capture_output=True, timeout=60)
        err = res.stderr.decode()
        self.assertNotEqual(res.returncode, 0, err)
        self.assertIn("404", err)
        self.assertNotRegex(err, r"failed: *\n|\(\)|: *$")  # never an empty reason
        self.assertEqual(err.count("keyrevoke list: keyrevoke"), 0, err)


    def test_list_404_with_the_apis_error_body_gives_the_reason(self):
        def api_404(srv, conn, n):
            return conn.send_response(404, b'{"error":{"code":404,"message":""}}')

        server = ScriptedServer({"keys": api_404})
        try:
            res = subprocess.run([KEYREVOKE, "list", "--base-url", server.origin.base_url, "--allow-insecure-http"],
                                 env=keyrevoke_env(), capture_output=True, timeout=60)
        finally:
            server.stop()
        err = res.stderr.decode()
        self.assertEqual(res.returncode, 2, err)
        self.assertRegex(err, r"answered HTTP 404, 35 bytes: .*check --base-url")

    def test_tls_trust_advice_is_given_once(self):
        mock = self.mock(keys=3)
        no_ca = [KEYREVOKE, "--base-url", mock.base_url, "--report", self.path("t.jsonl"), "--progress", "never",
                 mock.hashes_file]
        listing = [KEYREVOKE, "list", "--base-url", mock.base_url]
        for name, cmd, code in (("run", no_ca, 3), ("list", listing, 3)):
            with self.subTest(name):
                res = subprocess.run(cmd, env=keyrevoke_env(), capture_output=True, timeout=60)
                err = res.stderr.decode()
                self.assertEqual(res.returncode, code, err)
                self.assertEqual(err.count("--cacert"), 1, err)
                self.assertEqual(err.count("SSL_CERT_FILE"), 1, err)
                self.assertEqual(err.count("TLS certificate not trusted"), 1, err)


class TracingTest(KeyrevokeTest):

    def test_verbose_and_trace_show_the_wire_never_the_key(self):
        mock = self.mock(keys=20)
        hashes = mock.hashes()
        trace = self.path("trace.txt")
        with open(trace, "w") as f:  # an earlier file, readable by all: the trace makes it private
            f.write("old\n")
        os.chmod(trace, 0o644)
        res = self.run_keyrevoke(mock, "-v", "--trace", trace, "--concurrency", "4",
                                 self.write_lines("in.txt", hashes))
        out, err = res.stdout.decode(), res.stderr.decode()
        self.assertEqual(res.returncode, 0, err)
        self.assertEqual(os.stat(trace).st_mode & 0o777, 0o600)
        with open(trace, encoding="utf-8", errors="replace") as f:
            traced = f.read()
        with open(self.path("report.jsonl"), encoding="utf-8") as f:
            report = f.read()
        # The key is nowhere: stdout, stderr, the trace, the report.
        for name, text in (("stdout", out), ("stderr", err), ("trace", traced), ("report", report)):
            self.assertNotIn(MANAGEMENT_KEY, text, name)
            self.assertNotIn(MANAGEMENT_KEY[-20:], text, name)
        # -v: one line per exchange (the preflight's GET and a DELETE per hash), one per dial.
        deletes = re.findall(r"^keyrevoke: DELETE /api/v1/keys/([0-9a-f]{8})\.\. (\d{3}) .*\bms conn #\d+ (reused|new)",
                             err, re.M)
        self.assertEqual(sorted(h for h, s, _ in deletes if s == "200"), sorted(h[:8] for h in hashes))
        self.assertRegex(err, r"(?m)^keyrevoke: GET /api/v1/keys\?offset=0&include_disabled=true 200 ")
        dials = re.findall(r"(?m)^keyrevoke: connect 127\.0\.0\.1:%d \(conn #(\d+)\): (TLSv1\.[23]) "
                           r"(resumed|full handshake), [\d.]+ ms$" % mock.port, err)
        self.assertGreaterEqual(len(dials), 1, err)
        self.assertEqual(dials[0][2], "full handshake")
        throttled = [l for l in err.splitlines() if " 429 " in l and "DELETE" in l]
        for line in throttled:
            self.assertRegex(line, r"retry-after=")
        # --trace: the full header of each request and answer, the Authorization value replaced.
        self.assertEqual(traced.count("> Authorization: [not shown]\n"), traced.count("> DELETE ") + traced.count("> GET "))
        self.assertEqual(traced.count("> DELETE "), len(hashes) + len(throttled))
        self.assertIn("> Host: 127.0.0.1:%d\n" % mock.port, traced)
        self.assertRegex(traced, r"(?m)^< status 200$")
        self.assertRegex(traced, r"(?im)^< content-type: application/json")
        print("\n  -v: %d DELETE lines (%d throttled), %d dials; trace %d bytes"
              % (len(deletes), len(throttled), len(dials), len(traced)))


if __name__ == "__main__":
    unittest.main()
