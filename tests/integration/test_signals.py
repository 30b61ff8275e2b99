"""Signals: SIGINT/SIGTERM finish in-flight requests, write whole rows and exit 130; a second SIGINT
exits at once; kill -9 may tear the last row, which --resume cuts. Nothing reported deleted is ever
sent again (the mock's per-hash counters are the judge)."""

import signal
import subprocess
import time
import unittest

from harness import (KeyrevokeProcesses, KeyrevokeTest, random_hashes, read_report, repeated_hashes,
                     status_count)


def final_rows_by_hash(rows):
    """hash -> its last row (a resumed report may hold an earlier not_attempted row for a hash)."""
    out = {}
    for r in rows:
        if r.get("hash"):
            out[r["hash"]] = r
    return out


class InterruptTest(KeyrevokeProcesses, KeyrevokeTest):
    KEYS = 3000

    def start_long_run(self, *extra):
        mock = self.mock(keys=self.KEYS)
        hashes = mock.hashes()
        inp = self.write_lines("in.txt", hashes)
        proc = self.start_keyrevoke(mock, "--rate", "400", "--concurrency", "16", *extra, inp)
        self.wait_for(lambda: self.report_rows_now() >= 600 or proc.poll() is not None, 30, "600 rows")
        self.assertIsNone(proc.poll(), "the run ended before it could be interrupted")
        return mock, hashes, inp, proc

    def resume_and_check(self, mock, hashes, inp, deleted_first, done_first):
        before = mock.stats(hashes=True)
        self.assertGreaterEqual(status_count(before, 200), len(deleted_first))  # no false "deleted"
        res = self.run_keyrevoke(mock, "--resume", inp, timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        after = mock.stats(hashes=True)
        self.assertEqual(after["keys"]["remaining"], 0)
        # No hash reported deleted (or not_found) by the first run was sent again.
        again = repeated_hashes(after) - repeated_hashes(before)
        self.assertEqual(again & done_first, set())
        self.assertEqual(repeated_hashes(after) & deleted_first, set())
        # Exactly one request per hash that was not done (no faults: nothing to retry).
        self.assertEqual(after["api_requests"] - before["api_requests"], len(hashes) - len(done_first) + 1)  # + preflight
        report = self.report(torn_ok=True)
        rows, torn = report.rows, report.torn
        self.assertEqual(torn, b"")
        final = final_rows_by_hash(rows)
        self.assertEqual(set(final), set(hashes))
        self.assertEqual({r["outcome"] for r in final.values()} - {"deleted", "not_found", "not_found_after_retry"},
                         set())
        # Every key existed at the start: a key the interrupted run deleted without writing its row is
        # found gone by the resume, which must not claim it was gone before (the trial's case).
        self.assertEqual({h for h, r in final.items() if h not in done_first and r["outcome"] == "not_found"}, set())
        return res

    def check_graceful_interrupt(self, sig, word):
        mock, hashes, inp, proc = self.start_long_run()
        sent = time.monotonic()
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=30)
        took = time.monotonic() - sent
        self.assertEqual(proc.returncode, 130, err.decode())
        # In-flight requests get a bounded grace (min(--timeout, 5 s)); that the run stopped taking new
        # hashes at the signal is proven below by the server's counters, not by this generous bound.
        self.assertLess(took, 15)
        self.assertIn(word, err.decode())
        self.assertIn("--resume", err.decode())

        report = self.report(torn_ok=True)
        self.assertEqual(report.torn, b"", "a torn row after a graceful stop")
        first = report.outcomes()  # every whole line parses, and one row per hash
        self.assertEqual(set(first), set(hashes))
        deleted_first = {h for h, o in first.items() if o == "deleted"}
        done_first = {h for h, o in first.items() if o in ("deleted", "not_found")}
        self.assertGreater(len(deleted_first), 500)
        self.assertIn("not_attempted", first.values())
        self.assertEqual(set(first.values()) - {"deleted", "not_attempted"}, set())
        stats = mock.stats()
        # The server deleted everything reported deleted, and at most the in-flight requests more.
        self.assertGreaterEqual(stats["keys"]["deleted"], len(deleted_first))
        self.assertLessEqual(stats["keys"]["deleted"], len(deleted_first) + 16)
        self.resume_and_check(mock, hashes, inp, deleted_first, done_first)
        print("\n  %s after %d deleted: exit 130 in %.2f s" % (word, len(deleted_first), took))

    def test_sigint_mid_run_then_resume(self):
        self.check_graceful_interrupt(signal.SIGINT, "interrupted")

    def test_sigterm_mid_run_then_resume(self):
        self.check_graceful_interrupt(signal.SIGTERM, "terminated")

    def test_kill_9_mid_run_then_resume(self):
        # Whatever the kill leaves is what is checked: whole rows that parse, at most a torn tail that
        # --resume cuts (and says so), never a hash reported deleted that is sent again.
        mock, hashes, inp, proc = self.start_long_run()
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, -signal.SIGKILL)

        path = self.path("report.jsonl")
        report = read_report(path, torn_ok=True)
        rows, torn = report.rows, report.torn
        first = {r["hash"]: r["outcome"] for r in rows if r.get("hash")}
        deleted_first = {h for h, o in first.items() if o == "deleted"}
        done_first = {h for h, o in first.items() if o in ("deleted", "not_found")}
        self.assertGreater(len(deleted_first), 500)

        res = self.resume_and_check(mock, hashes, inp, deleted_first, done_first)
        if torn:
            self.assertIn("torn last line was cut", res.stderr.decode())
            self.assertNotIn(torn + b"{", read_report(path).data)  # the fragment is gone, not glued to a new row
        else:
            self.assertNotIn("torn last line", res.stderr.decode())
        print("\n  kill -9 after %d deleted; torn tail of %d bytes" % (len(deleted_first), len(torn)))

    def test_resume_cuts_a_torn_last_line(self):
        # What a kill -9 in the middle of a write leaves (rare in test_kill_9_mid_run_then_resume, so
        # built here): the report's last row cut in half. --resume must cut it, say so, and redo that hash.
        mock = self.mock(keys=200)
        hashes = mock.hashes()
        inp = self.write_lines("in.txt", hashes)
        res = self.run_keyrevoke(mock, inp, timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        path = self.path("report.jsonl")
        data = read_report(path).data
        self.assertTrue(data.endswith(b"\n"))
        lines = data.splitlines(keepends=True)
        last_hash_row = max(i for i, line in enumerate(lines) if line.startswith(b'{"hash"'))
        kept = b"".join(lines[:last_hash_row])
        torn = lines[last_hash_row][:len(lines[last_hash_row]) // 2]
        with open(path, "wb") as f:
            f.write(kept + torn)
        report = read_report(path, torn_ok=True)
        rows, tail = report.rows, report.torn
        self.assertEqual(tail, torn)
        first = {r["hash"]: r["outcome"] for r in rows if r.get("hash")}
        self.assertEqual(len(first), 199)
        deleted_first = {h for h, o in first.items() if o == "deleted"}
        res = self.resume_and_check(mock, hashes, inp, deleted_first, set(first))
        self.assertIn("torn last line was cut", res.stderr.decode())
        self.assertNotIn(torn + b"{", read_report(path).data)  # the fragment is gone, not glued to a new row

    def test_sigint_with_retries_waiting_reports_them_and_resume_finishes(self):
        # 20 hashes always get a 500: at the signal they wait in the retry queue, with a last answer.
        hashes = random_hashes(2000)
        failing = hashes[50:1050:50]  # spread out: a run of them would stall the run (see test_faults)
        keys_file = self.write_lines("keys.txt", hashes)
        faults = self.write_lines("faults.txt", ["%s always500" % h for h in failing])
        mock = self.mock(args=["--keys-file", keys_file, "--fault-file", faults])
        inp = self.write_lines("in.txt", hashes)
        proc = self.start_keyrevoke(mock, "--rate", "400", "--concurrency", "16", "--max-attempts", "30", inp)
        self.wait_for(lambda: self.report_rows_now() >= 600 or proc.poll() is not None, 30, "600 rows")
        self.assertIsNone(proc.poll())
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 130, err.decode())
        report = self.report(torn_ok=True)
        rows, torn = report.rows, report.torn
        self.assertEqual(torn, b"")
        first = report.outcomes()
        self.assertEqual(set(first), set(hashes))
        by_hash = {r["hash"]: r for r in rows}
        tried = [h for h in failing if by_hash[h]["attempts"] > 0]
        self.assertGreaterEqual(len(tried), 5)
        for h in failing:  # every hash waiting for a retry has its row, with what it last got
            r = by_hash[h]
            self.assertEqual(r["outcome"], "not_attempted", r)
            if h in tried:
                self.assertEqual(r["http_status"], 500, r)
                self.assertIn("last answer: HTTP 500", r["error"])
        before = mock.stats(hashes=True)
        self.assertEqual(before["faults_500"], sum(by_hash[h]["attempts"] for h in failing))
        done_first = {h for h, o in first.items() if o in ("deleted", "not_found")}

        res = self.run_keyrevoke(mock, "--resume", "--max-attempts", "2", inp, timeout=120)
        self.assertEqual(res.returncode, 1, res.stderr.decode())  # the 20 fail again, for good
        after = mock.stats(hashes=True)
        self.assertEqual(after["keys"]["remaining"], 20)
        final = final_rows_by_hash(self.report(torn_ok=True).rows)
        # Each failing hash used its 2 attempts; when the resumed run starts with nothing but these 20
        # (all answered 500 at once), that looks like an outage and a failure during it does not count
        # toward --max-attempts (issue 10): a few hashes get one more. The server's count equals the
        # report's attempts exactly.
        resumed_attempts = sum(final[h]["attempts"] for h in failing)
        self.assertEqual(after["faults_500"] - before["faults_500"], resumed_attempts)
        self.assertGreaterEqual(resumed_attempts, 40)
        self.assertLessEqual(resumed_attempts, 40 + 20)
        self.assertEqual(repeated_hashes(after) & done_first, set())
        self.assertEqual(after["api_requests"] - before["api_requests"],
                         2000 - len(done_first) + resumed_attempts - 20 + 1)  # + preflight
        self.assertEqual({h for h, r in final.items() if r["outcome"] == "failed"}, set(failing))
        print("\n  SIGINT with %d hashes waiting for a retry (%d attempts so far); %d done before"
              % (len(tried), before["faults_500"], len(done_first)))

    def test_sigterm_while_every_request_hangs_exits_within_the_grace(self):
        # The server never answers: the grace for requests in flight is bounded (min(--timeout, 5 s)).
        mock = self.mock(keys=200, args=["--phang", "1"])
        hashes = mock.hashes()
        proc = self.start_keyrevoke(mock, "--timeout", "30", "--concurrency", "8", self.write_lines("in.txt", hashes))
        self.wait_for(lambda: mock.stats()["hangs"] >= 1, 20, "a hung request", poll=0.1)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        took = time.monotonic() - sent
        self.assertEqual(proc.returncode, 130, err.decode())
        self.assertLess(took, 15)  # the grace (5 s), far below --timeout 30: a wait for the hung answers fails
        report = self.report(torn_ok=True)
        torn = report.torn
        self.assertEqual(torn, b"")
        outcomes = report.outcomes()
        self.assertEqual(set(outcomes), set(hashes))
        self.assertEqual(set(outcomes.values()), {"not_attempted"})
        self.assertEqual(mock.stats()["keys"]["remaining"], 200)
        print("\n  SIGTERM with every request hung: exit 130 in %.1f s" % took)

    def test_second_sigint_exits_at_once(self):
        # Every answer takes 8 s at the server: the first SIGINT's grace (min(--timeout, 5 s)) would end
        # the run 5 s after it; the second signal, 0.5 s after the first, must end it well before.
        mock = self.mock(keys=24, args=["--latency-ms", "8000"])
        hashes = mock.hashes()
        inp = self.write_lines("in.txt", hashes)
        proc = self.start_keyrevoke(mock, "--concurrency", "16", "--timeout", "30", inp)
        self.wait_for(lambda: mock.stats()["in_flight"] >= 4, 20, "requests in flight", poll=0.1)
        proc.send_signal(signal.SIGINT)
        time.sleep(0.5)
        # The first signal waits for the requests in flight (each takes 8 s at the server).
        self.assertIsNone(proc.poll(), "the first SIGINT did not let requests in flight finish")
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        took = time.monotonic() - sent
        self.assertEqual(proc.returncode, 130, err.decode())
        self.assertLess(took, 3.0)  # the grace would have run 4.5 s more
        self.assertIn("interrupted again", err.decode())

        report = self.report(torn_ok=True)
        rows, torn = report.rows, report.torn
        self.assertEqual(torn, b"")
        first = {r["hash"]: r["outcome"] for r in rows}
        self.assertLessEqual(set(first), set(hashes))
        deleted_first = {h for h, o in first.items() if o == "deleted"}
        done_first = {h for h, o in first.items() if o in ("deleted", "not_found")}
        self.resume_and_check(mock, hashes, inp, deleted_first, done_first)
        print("\n  second SIGINT: exit 130 in %.2f s" % took)

    def test_sigint_while_stdin_pipe_stays_open(self):
        mock = self.mock(keys=3000)
        hashes = mock.hashes()
        err_file = open(self.path("stderr.txt"), "w+b")
        self.addCleanup(err_file.close)
        proc = self.start_keyrevoke(mock, "-", stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=err_file)
        proc.stdin.write(("\n".join(hashes) + "\n").encode())
        proc.stdin.flush()
        # Every hash answered, the run then waits for more input that never comes (the pipe stays open).
        self.wait_for(lambda: self.report_rows_now() >= 3000 or proc.poll() is not None, 60, "3000 rows")
        time.sleep(0.5)
        self.assertIsNone(proc.poll())
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)  # stdin stays open: no communicate(), which would close it
        took = time.monotonic() - sent
        err_file.seek(0)
        err = err_file.read()
        proc.stdin.close()
        self.assertEqual(proc.returncode, 130, err.decode())
        self.assertLess(took, 5)  # nothing in flight: no grace to wait for
        self.assertIn("input not read to the end", err.decode())
        report = self.report(torn_ok=True)
        torn = report.torn
        self.assertEqual(torn, b"")
        outcomes = report.outcomes()
        self.assertEqual(set(outcomes), set(hashes))
        self.assertEqual(set(outcomes.values()), {"deleted"})
        # What the run says it consumed is exactly what it reported: a rerun knows where to start.
        lines_read = int(err.decode().split("input not read to the end (")[1].split(" lines read")[0].replace(",", ""))
        self.assertEqual(lines_read, len(outcomes))
        self.assertEqual(mock.stats()["api_requests"], len(outcomes) + 1)  # + the preflight

if __name__ == "__main__":
    unittest.main()
