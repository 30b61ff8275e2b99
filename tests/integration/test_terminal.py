"""Terminals (issue 15, items 7 and 8), on a real pseudo-terminal: a terminal that hangs up (an SSH
session dropping: SIGHUP) stops the run like SIGTERM, with a row for every key the server deleted; a
terminal that does not drain (Ctrl-S, or a pty nobody reads) neither freezes the run nor keeps a signal
from stopping it. The judge is the mock's own key list (which keys are gone), not keyrevoke's report."""

import fcntl
import json
import os
import pty
import signal
import subprocess
import termios
import threading
import time
import unittest

from harness import MANAGEMENT_KEY, KeyrevokeProcesses, KeyrevokeTest, keyrevoke_env, repeated_hashes

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


class TerminalTest(KeyrevokeProcesses, KeyrevokeTest):

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


if __name__ == "__main__":
    unittest.main()
