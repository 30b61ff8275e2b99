"""Server faults: 500s, resets, hangs, closed keep-alive connections, a server killed and restarted,
per-hash permanent failures. Every assertion is checked against the mock's own ground truth."""

import os
import re
import resource
import signal
import subprocess
import time
import unittest

from harness import (PREFLIGHT_REQUESTS, confirm_requests, KEYREVOKE, MANAGEMENT_KEY, KeyrevokeProcesses, KeyrevokeTest, Mock, make_test_pki, method_counts,
                     random_hashes, repeated_hashes, spilled_rows, status_count)


def rows_by_hash(rows):
    return {r["hash"]: r for r in rows if r.get("hash")}


class RandomFaultsTest(KeyrevokeTest):
    def test_random_500_reset_hang_and_closes_lose_nothing(self):
        mock = self.mock(keys=1000, args=["--p500", "0.03", "--preset", "0.02", "--phang", "0.01",
                                          "--close-every", "50", "--seed", "7"])
        hashes = mock.hashes()
        inp = self.write_lines("in.txt", hashes)
        started = time.monotonic()
        res = self.run_keyrevoke(mock, "--timeout", "2", "--concurrency", "16", inp, timeout=120)
        elapsed = time.monotonic() - started
        self.assertEqual(res.returncode, 0, res.stderr.decode())

        rows = self.report().rows
        by_hash = rows_by_hash(rows)
        self.assertEqual(len(rows), 1000)
        self.assertEqual(set(by_hash), set(hashes))
        self.assertEqual({r["outcome"] for r in rows}, {"deleted"})

        stats = mock.stats(hashes=True)
        # The faults really happened (a run that met none would prove nothing).
        injected = stats["faults_500"] + stats["resets"] + stats["hangs"]
        self.assertGreater(stats["faults_500"], 0)
        self.assertGreater(stats["resets"], 0)
        self.assertGreater(stats["hangs"], 0)
        self.assertGreater(stats["closes_requested"], 0)
        # Ground truth: every key gone, each by exactly one DELETE that reached the store (faults are
        # decided before the store, so a retry after a fault is the first store hit, never a second).
        self.assertEqual(stats["keys"]["remaining"], 0)
        self.assertEqual(stats["keys"]["deleted"], 1000)
        self.assertEqual(status_count(stats, 200), 1000 + PREFLIGHT_REQUESTS)  # + the preflight's GET /keys
        self.assertEqual(stats["not_found_after_delete"], 0)
        self.assertEqual(stats["unknown_hash_deletes"], 0)
        # Per hash: the report never claims fewer attempts than the server saw.
        for rep in stats.get("repeated_hashes", []):
            self.assertIn(rep["hash"], by_hash)
            self.assertGreaterEqual(by_hash[rep["hash"]]["attempts"], rep["delete_requests"], rep)
        for r in rows:
            self.assertGreaterEqual(r["attempts"], 1)
            self.assertLessEqual(r["attempts"], 8)
        # In total: every request the mock saw (faulted or not) is an attempt in the report, but for
        # the preflight's GET /keys (faults may hit it too: it is retried like any request).
        attempts = sum(r["attempts"] for r in rows)
        preflights = method_counts(stats, "GET")["requests"]
        self.assertGreaterEqual(preflights, 1)
        self.assertGreaterEqual(attempts + preflights, stats["api_requests"])
        self.assertEqual(stats["api_requests"], 1000 + preflights + injected)
        self.assertGreaterEqual(attempts, method_counts(stats, "DELETE")["requests"])
        retried = sum(1 for r in rows if r["attempts"] > 1)
        self.assertGreaterEqual(retried, 1)
        print("\n  faults injected: %d x 500, %d resets, %d hangs, %d closes; %d requests, %d attempts, "
              "%d hashes retried, %.1f s" % (stats["faults_500"], stats["resets"], stats["hangs"],
                                             stats["closes_requested"], stats["api_requests"], attempts,
                                             retried, elapsed))


def start_restartable_mock(test, n, first_args=()):
    """A mock with a fixed certificate and a journal, so it can be killed and restarted with the same
    keys on the same port (first_args: options of the first mock only). Returns (hashes, mock args, CA
    file, the mock, input file)."""
    hashes = random_hashes(n)
    keys_file = test.write_lines("keys.txt", hashes)
    journal = test.path("journal.txt")
    ca, cert, key = make_test_pki(test.dir)
    args = ["--keys-file", keys_file, "--store-journal", journal, "--cert", cert, "--key", key]
    first = test.mock(args=args + list(first_args), name="first")
    first.ca = ca
    return hashes, args, ca, first, test.write_lines("in.txt", hashes)


class RestartTest(KeyrevokeProcesses, KeyrevokeTest):
    def test_mock_killed_and_restarted_on_the_same_port_mid_run(self):
        # 40 ms of latency: requests are in flight when the server dies (without it, at --rate 300 and
        # sub-millisecond answers, a kill between two requests left none to retry about 1 run in 6).
        hashes, args, ca, first, inp = start_restartable_mock(self, 1500, first_args=["--latency-ms", "40"])
        journal = self.path("journal.txt")
        proc = self.start_keyrevoke(first, "--rate", "300", "--concurrency", "8", inp)

        # Kill the server hard once a good part of the work is done.
        self.wait_for(lambda: self.report_rows_now() >= 300 or proc.poll() is not None, 30, "300 rows")
        self.assertIsNone(proc.poll(), "the run ended before the mock could be killed")
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(timeout=10)
        with open(journal) as f:
            deleted_by_first = {line.strip() for line in f if line.strip()}
        time.sleep(1.0)  # the client meets refused connections meanwhile
        self.assertIsNone(proc.poll(), "the client gave up while the server was down")

        second = Mock(self.dir, args=args, port=first.port, name="second")
        self._mocks.append(second)
        second.start()
        second.ca = ca
        self.assertEqual(second.port, first.port)
        out, err = proc.communicate(timeout=90)
        self.assertEqual(proc.returncode, 0, err.decode())

        report = self.report(torn_ok=True)
        rows, torn = report.rows, report.torn
        self.assertEqual(torn, b"")
        by_hash = rows_by_hash(rows)
        self.assertEqual(len(rows), 1500)
        self.assertEqual(set(by_hash), set(hashes))
        stats = second.stats(hashes=True)
        self.assertEqual(stats["keys"]["remaining"], 0)
        self.assertEqual(stats["keys"]["deleted"], 1500)
        # The killed server deleted some keys and died before answering: their retry met a 404, after an
        # attempt that may have deleted them. That is not_found_after_retry, never a plain not_found (the
        # keys all existed before the run): at most one per request in flight, and the journal proves the
        # first server did delete each.
        self.assertNotIn("not_found", {r["outcome"] for r in rows})
        not_found = {h for h, r in by_hash.items() if r["outcome"] == "not_found_after_retry"}
        self.assertEqual({r["outcome"] for r in rows} - {"deleted", "not_found_after_retry"}, set())
        self.assertLessEqual(len(not_found), 8)
        self.assertLessEqual(not_found, deleted_by_first)
        # The restarted server never deleted a key twice, and the outage cost retries.
        self.assertEqual(stats["not_found_after_delete"], len(not_found))
        self.assertGreater(sum(1 for r in rows if r["attempts"] > 1), 0)
        self.assertGreater(len(deleted_by_first), 250)
        print("\n  deleted before the kill: %d, after the restart: %d, not_found (answer lost): %d"
              % (len(deleted_by_first), status_count(stats, 200), len(not_found)))


class OutageTest(KeyrevokeProcesses, KeyrevokeTest):
    def test_server_gone_for_good_gives_up_then_resume_finishes(self):
        # 40 ms of latency: requests are in flight when the server dies (without it, at --rate 300 and
        # sub-millisecond answers, a kill between two requests left none to retry about 1 run in 6).
        hashes, args, ca, first, inp = start_restartable_mock(self, 1500, first_args=["--latency-ms", "40"])
        journal = self.path("journal.txt")
        proc = self.start_keyrevoke(first, "--rate", "300", "--concurrency", "8", "--give-up-after", "3", inp)
        self.wait_for(lambda: self.report_rows_now() >= 300 or proc.poll() is not None, 30, "300 rows")
        self.assertIsNone(proc.poll())
        first.proc.send_signal(signal.SIGKILL)
        first.proc.wait(timeout=10)
        killed_at = time.monotonic()
        out, err = proc.communicate(timeout=120)
        took = time.monotonic() - killed_at
        self.assertEqual(proc.returncode, 4, err.decode())  # the server could not be reached for --give-up-after
        self.assertIn("gave up", err.decode())
        self.assertLess(took, 60)
        # The message states the time measured since the last success (the trial's server, silent for
        # 39 s, was said to have failed "for 6 s": the option's value).
        said = re.search(r"gave up: the server answered nothing but failures for ([0-9.]+) s \(--give-up-after 3 s\)",
                         err.decode())
        self.assertIsNotNone(said, err.decode())
        self.assertGreaterEqual(float(said.group(1)), 3)
        self.assertLessEqual(float(said.group(1)), took + 1)

        report = self.report(torn_ok=True)
        rows, torn = report.rows, report.torn
        self.assertEqual(torn, b"")
        first_run = {}
        for r in rows:
            self.assertNotIn(r["hash"], first_run, "two rows for one hash")
            first_run[r["hash"]] = r["outcome"]
        self.assertEqual(set(first_run), set(hashes))  # every hash has a row, even after giving up
        self.assertEqual(set(first_run.values()) - {"deleted", "not_found", "failed", "not_attempted"}, set())
        with open(journal) as f:
            deleted_by_first = {line.strip() for line in f if line.strip()}
        deleted_first = {h for h, o in first_run.items() if o == "deleted"}
        self.assertLessEqual(deleted_first, deleted_by_first)  # nothing reported deleted that was not
        self.assertLessEqual(len(deleted_by_first - deleted_first), 8)  # answers lost in flight

        second = Mock(self.dir, args=args, port=first.port, name="second")
        self._mocks.append(second)
        second.start()
        second.ca = ca
        res = self.run_keyrevoke(second, "--resume", inp, timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        stats = second.stats(hashes=True)
        self.assertEqual(stats["keys"]["remaining"], 0)
        done_first = {h for h, o in first_run.items() if o in ("deleted", "not_found")}
        # Nothing done is re-sent (+ the preflight, + two confirming GETs for each key the first run deleted
        # whose answer was lost: the resume's DELETE meets a 404, confirmed before its row).
        lost = len(deleted_by_first - deleted_first)
        self.assertEqual(stats["api_requests"], 1500 - len(done_first) + PREFLIGHT_REQUESTS + confirm_requests(lost))
        self.assertEqual(repeated_hashes(stats), set())
        self.assertEqual(stats["not_found_after_delete"], len(deleted_by_first - deleted_first))
        print("\n  gave up %.1f s after the server died; %d deleted before, %d after --resume"
              % (took, len(deleted_first), status_count(stats, 200)))


class PermanentFailureTest(KeyrevokeTest):
    def test_always_500_fails_after_max_attempts_and_400_is_not_retried(self):
        hashes = random_hashes(40)
        always500, bad400 = hashes[0], hashes[1]
        keys_file = self.write_lines("keys.txt", hashes)
        faults = self.write_lines("faults.txt", ["%s always500" % always500, "%s 400" % bad400])
        mock = self.mock(args=["--keys-file", keys_file, "--fault-file", faults])
        inp = self.write_lines("in.txt", hashes)
        res = self.run_keyrevoke(mock, "--max-attempts", "4", "--concurrency", "4", inp, timeout=120)
        self.assertEqual(res.returncode, 1, res.stderr.decode())

        by_hash = rows_by_hash(self.report().rows)
        self.assertEqual(len(by_hash), 40)
        self.assertEqual(by_hash[always500]["outcome"], "failed")
        self.assertEqual(by_hash[always500]["attempts"], 4)
        self.assertEqual(by_hash[always500]["http_status"], 500)
        self.assertIn("500", by_hash[always500]["error"])
        self.assertEqual(by_hash[bad400]["outcome"], "failed")
        self.assertEqual(by_hash[bad400]["attempts"], 1)
        self.assertEqual(by_hash[bad400]["http_status"], 400)
        for h in hashes[2:]:
            self.assertEqual(by_hash[h]["outcome"], "deleted", h)
            self.assertEqual(by_hash[h]["attempts"], 1, h)

        # Ground truth: the mock answered exactly 4 x 500 (all for that hash) and 1 x 400, nothing else.
        stats = mock.stats(hashes=True)
        self.assertEqual(stats["faults_500"], 4)
        self.assertEqual(status_count(stats, 500), 4)
        self.assertEqual(stats["faults_400"], 1)
        self.assertEqual(status_count(stats, 400), 1)
        self.assertEqual(stats["api_requests"], 38 + 4 + 1 + PREFLIGHT_REQUESTS)  # + the preflight
        self.assertEqual(stats["keys"]["remaining"], 2)
        self.assertEqual(repeated_hashes(stats), set())


def try_mount_tmpfs(path, size):
    """Mounts a small tmpfs at path (we run as root); False where mounting is not allowed."""
    os.makedirs(path, exist_ok=True)
    try:
        res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s,mode=0755" % size, "tmpfs", path],
                             capture_output=True, timeout=30)
    except OSError:  # no mount(8) at all
        return False
    return res.returncode == 0


def umount(path):
    subprocess.run(["umount", "-l", path], capture_output=True, timeout=30)


def limit_file_size(limit):
    """preexec_fn: files written by the child may not grow past `limit` bytes (write() then fails with
    EFBIG, as a full disk fails with ENOSPC); SIGXFSZ ignored so the write error is what it sees."""
    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


class ReportWriteFailureTest(KeyrevokeTest):
    def setUp(self):
        super().setUp()
        self._mounts = []

    def tearDown(self):
        for m in reversed(self._mounts):  # before the temporary directory goes
            umount(m)
        super().tearDown()

    def mount_tmpfs_or_skip(self, name, size):
        """A small tmpfs; where mounting is not allowed (a container without CAP_SYS_ADMIN) the test is
        skipped, visibly: tests/integration/runner.py fails unless allowed_skips.txt names it."""
        path = self.path(name)
        if not try_mount_tmpfs(path, size):
            self.skipTest("mounting a tmpfs is not permitted here")
        self._mounts.append(path)
        return path

    def test_unwritable_report_location_exits_2_before_any_request(self):
        mock = self.mock(keys=20)
        inp = self.write_lines("in.txt", mock.hashes())
        with open(self.path("a-file"), "w") as f:
            f.write("x")
        os.symlink("/dev/full", self.path("full-link.jsonl"))
        cases = {
            "parent is a file": self.path("a-file/report.jsonl"),
            "directory does not exist": self.path("missing/report.jsonl"),
            "inside /proc": "/proc/self/keyrevoke-report.jsonl",
            "the report is a directory": self.dir,
            "a symlink to /dev/full": self.path("full-link.jsonl"),
        }
        for name, report in cases.items():
            with self.subTest(name):
                res = self.run_keyrevoke(mock, inp, report=report, timeout=60)
                self.assertEqual(res.returncode, 2, res.stderr.decode())
                self.assertIn("report", res.stderr.decode())
        self.assertFalse(os.path.exists(self.path("missing")))
        self.assertEqual(mock.stats()["api_requests"], 0)

    def test_read_only_file_system_exits_2_before_any_request(self):
        # EROFS needs a read-only mount: no permission bit stops root, and a bind mount is a mount too.
        ro = self.mount_tmpfs_or_skip("ro", "64k")
        subprocess.run(["mount", "-o", "remount,ro", ro], check=True, capture_output=True, timeout=30)
        mock = self.mock(keys=20)
        res = self.run_keyrevoke(mock, self.write_lines("in.txt", mock.hashes()),
                                 report=os.path.join(ro, "report.jsonl"), timeout=60)
        self.assertEqual(res.returncode, 2, res.stderr.decode())
        self.assertIn("report", res.stderr.decode())
        self.assertIn("Read-only file system", res.stderr.decode())
        self.assertEqual(os.listdir(ro), [])
        self.assertEqual(mock.stats()["api_requests"], 0)

    def run_until_the_report_fills_up(self, mock, report, preexec_fn=None):
        hashes = mock.hashes()
        inp = self.write_lines("in.txt", hashes)
        env = dict(os.environ, MODELGATES_MANAGEMENT_KEY=MANAGEMENT_KEY)
        res = subprocess.run(self.keyrevoke_cmd(mock, "--concurrency", "8", inp, report=report), env=env,
                             capture_output=True, timeout=120, preexec_fn=preexec_fn)
        err = res.stderr.decode()
        self.assertEqual(res.returncode, 1, err)
        self.assertIn("cannot write report", err)

        # Every hash is in the report or, whole, on stderr: none silently dropped.
        in_report = self.report(report, torn_ok=True)
        rows, torn = in_report.rows, in_report.torn
        on_stderr = spilled_rows(err)
        self.assertGreater(len(rows), 50)
        self.assertGreater(len(on_stderr), 0)
        in_file = {r["hash"]: r["outcome"] for r in rows}
        spilled = {r["hash"]: r["outcome"] for r in on_stderr}
        self.assertEqual(set(in_file) | set(spilled), set(hashes))
        # Ground truth: the server deleted every key reported deleted (and at most the in-flight ones more).
        stats = mock.stats()
        deleted = [h for h, o in list(in_file.items()) + list(spilled.items()) if o == "deleted"]
        self.assertGreaterEqual(stats["keys"]["deleted"], len(set(deleted)))
        self.assertLessEqual(stats["keys"]["deleted"], len(set(deleted)) + 8)
        return in_file, spilled, torn, inp, err

    def test_disk_full_mid_run_tmpfs(self):
        mnt = self.mount_tmpfs_or_skip("small", "64k")
        mock = self.mock(keys=1500)
        in_file, spilled, torn, inp, err = self.run_until_the_report_fills_up(mock, "small/report.jsonl")
        self.assertIn("No space left on device", err)
        print("\n  disk full: %d rows in the report, %d on stderr, torn tail %d bytes"
              % (len(in_file), len(spilled), len(torn)))

        # With room again, --resume finishes and sends nothing the report already says is deleted.
        subprocess.run(["mount", "-o", "remount,size=4m", mnt], check=True, capture_output=True, timeout=30)
        res = self.run_keyrevoke(mock, "--resume", inp, report="small/report.jsonl", timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        stats = mock.stats(hashes=True)
        self.assertEqual(stats["keys"]["remaining"], 0)
        deleted_in_file = {h for h, o in in_file.items() if o == "deleted"}
        self.assertEqual({r["hash"] for r in stats["repeated_hashes"]} & deleted_in_file, set())

    def test_file_size_limit_mid_run(self):
        mock = self.mock(keys=1500)
        in_file, spilled, torn, inp, err = self.run_until_the_report_fills_up(
            mock, "report.jsonl", preexec_fn=limit_file_size(64 * 1024))
        self.assertIn("File too large", err)
        self.assertLessEqual(os.path.getsize(self.path("report.jsonl")), 64 * 1024)
        print("\n  file size limit: %d rows in the report, %d on stderr, torn tail %d bytes"
              % (len(in_file), len(spilled), len(torn)))


class PoisonHashTest(KeyrevokeTest):
    def report_attempts(self, h):
        return next(r["attempts"] for r in self.report().rows if r.get("hash") == h)

    def test_a_few_always_failing_hashes_do_not_hold_the_others_hostage(self):
        # 20 keys the server always answers 500 for, first in the list, then 1,980 healthy ones. The
        # server answers every request at once: it is not down, and the healthy keys must be revoked.
        hashes = random_hashes(2000)
        poison = hashes[:20]
        keys_file = self.write_lines("keys.txt", hashes)
        faults = self.write_lines("faults.txt", ["%s always500" % h for h in poison])
        mock = self.mock(args=["--keys-file", keys_file, "--fault-file", faults])
        inp = self.write_lines("in.txt", hashes)
        res = self.run_keyrevoke(mock, "--max-attempts", "6", "--give-up-after", "5", inp, timeout=120)
        err = res.stderr.decode()
        stats = mock.stats()
        outcomes = self.report().outcomes()
        self.assertNotIn("gave up", err, "the run gave up on a server that answered every request "
                         "(%d answers, %d deleted)" % (stats["api_requests"], stats["keys"]["deleted"]))
        self.assertEqual(res.returncode, 1, err)
        self.assertEqual({h: outcomes[h] for h in poison}, {h: "failed" for h in poison})
        self.assertEqual(list(outcomes.values()).count("deleted"), 1980)
        self.assertEqual(stats["keys"]["remaining"], 20)
        # Each poison hash used its --max-attempts (6); a failure seen while the first burst of 500s
        # looked like an outage does not count toward them (issue 10), so a few got one more. The
        # server's count matches the report's attempts exactly.
        poison_attempts = [self.report_attempts(h) for h in poison]
        self.assertEqual(stats["faults_500"], sum(poison_attempts))
        for h, n in zip(poison, poison_attempts):
            self.assertGreaterEqual(n, 6, h)
            self.assertLessEqual(n, 6 + 2, h)

class ResumeAfterLostAnswersTest(KeyrevokeTest):
    # The trial: a DELETE applied, its answer lost (nginx's 504 page), the hash reported failed after
    # --max-attempts 1 (or not_attempted after a stop or a give-up); --resume then got the API's 404 and
    # called the key "gone before the run", though this tool had deleted it. A row that is not done and
    # whose request was sent makes the resumed 404 not_found_after_retry.
    def test_a_resumed_404_after_a_lost_answer_is_not_gone_before(self):
        hashes = random_hashes(12)
        lost = hashes[:4]
        keys_file = self.write_lines("keys.txt", hashes)
        faults = self.write_lines("faults.txt", ["%s lost" % h for h in lost])
        mock = self.mock(args=["--keys-file", keys_file, "--fault-file", faults])
        inp = self.write_lines("in.txt", hashes)
        first = self.run_keyrevoke(mock, "--max-attempts", "1", inp, timeout=120)
        self.assertEqual(first.returncode, 1, first.stderr.decode())
        self.assertEqual({h: self.report().outcomes()[h] for h in lost}, {h: "failed" for h in lost})
        self.assertEqual(mock.stats()["keys"]["remaining"], 0)  # the lost answers' DELETEs were applied
        second = self.run_keyrevoke(mock, "--resume", inp, timeout=120)
        err = second.stderr.decode()
        self.assertEqual(second.returncode, 0, err)
        outcomes = {}  # the last row of each hash (the resumed run's, for the lost ones)
        for r in self.report().rows:
            if r.get("hash") and "outcome" in r and r.get("type") is None:
                outcomes[r["hash"]] = r["outcome"]
        self.assertEqual({h: outcomes[h] for h in lost}, {h: "not_found_after_retry" for h in lost})
        self.assertEqual({outcomes[h] for h in hashes[4:]}, {"deleted"})
        self.assertNotIn("not_found", [outcomes[h] for h in hashes])


class ReportFailureLargeInputTest(KeyrevokeTest):
    def test_report_failure_with_input_left_to_read_exits_and_resume_finishes(self):
        # 20,000 hashes: when the report fails, most of the input is still unread. The run must stop
        # (not hang), say how far it read, and a --resume with room again must finish the job.
        mock = self.mock(keys=20000)
        hashes = mock.hashes()
        inp = self.write_lines("in.txt", hashes)
        env = dict(os.environ, MODELGATES_MANAGEMENT_KEY=MANAGEMENT_KEY)
        proc = subprocess.Popen(self.keyrevoke_cmd(mock, "--concurrency", "8", inp), env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                preexec_fn=limit_file_size(64 * 1024))
        try:
            out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            self.fail("keyrevoke did not exit within 30 s of a report write failure; stderr ends: %r"
                      % err.decode()[-300:])
        err = err.decode()
        self.assertEqual(proc.returncode, 1, err)
        self.assertIn("cannot write report", err)
        rows = self.report(torn_ok=True).rows
        spilled = spilled_rows(err)
        reported = {r["hash"]: r["outcome"] for r in rows + spilled}
        self.assertLessEqual(set(reported), set(hashes))
        if len(reported) < len(hashes):
            self.assertIn("input not read to the end", err)
        stats = mock.stats()
        deleted = {h for h, o in reported.items() if o == "deleted"}
        self.assertGreaterEqual(stats["keys"]["deleted"], len(deleted))
        self.assertLessEqual(stats["keys"]["deleted"], len(deleted) + 8)
        in_file_deleted = {r["hash"] for r in rows if r["outcome"] == "deleted"}

        res = self.run_keyrevoke(mock, "--resume", "--concurrency", "8", inp, timeout=120)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        after = mock.stats(hashes=True)
        self.assertEqual(after["keys"]["remaining"], 0)
        self.assertEqual({r["hash"] for r in after["repeated_hashes"]} & in_file_deleted, set())
        print("\n  report failed after %d rows; %d rows on stderr; resume finished the other %d"
              % (len(rows), len(spilled), status_count(after, 200) - stats["keys"]["deleted"]))

def limit_open_files(n):
    def apply():
        resource.setrlimit(resource.RLIMIT_NOFILE, (n, n))
    return apply


class DescriptorExhaustionTest(KeyrevokeTest):
    def test_running_out_of_file_descriptors_loses_nothing(self):
        # 24 descriptors, --concurrency 200: connects fail with EMFILE and must be retried, not lost.
        with open(KEYREVOKE, "rb") as f:
            if b"__ubsan_handle_dynamic_type_cache_miss" in f.read():
                # UBSan's vptr check probes memory through a pipe: with no descriptor left, it reports
                # every error_category as an invalid object and exits (the sanitizer's limit, not
                # keyrevoke's). The release run of this file checks this property.
                self.skipTest("not meaningful under UBSan: its runtime needs free descriptors")
        mock = self.mock(keys=3000)
        hashes = mock.hashes()
        env = dict(os.environ, MODELGATES_MANAGEMENT_KEY=MANAGEMENT_KEY)
        res = subprocess.run(self.keyrevoke_cmd(mock, "--concurrency", "200", self.write_lines("in.txt", hashes)),
                             env=env, capture_output=True, timeout=120, preexec_fn=limit_open_files(24))
        self.assertEqual(res.returncode, 0, res.stderr.decode()[-3000:])
        self.assertEqual(self.report().outcomes(), {h: "deleted" for h in hashes})
        stats = mock.stats(hashes=True)
        self.assertEqual(stats["keys"]["remaining"], 0)
        self.assertEqual(status_count(stats, 200), 3000 + PREFLIGHT_REQUESTS)  # + the preflight's GET /keys
        self.assertEqual(repeated_hashes(stats), set())
        self.assertLessEqual(stats["connections_open_max"], 24)
        # The fault did happen: failed connects were counted and retried.
        failed_connects = int(re.search(r"network errors: ([\d,]+)", res.stderr.decode()).group(1).replace(",", ""))
        self.assertGreater(failed_connects, 0)
        print("\n  %d connects failed for want of descriptors, all retried" % failed_connects)

class SharedReportTest(KeyrevokeProcesses, KeyrevokeTest):
    def test_a_second_run_on_a_report_in_use_is_refused_before_any_request(self):
        mock = self.mock(keys=2000)
        hashes = mock.hashes()
        inp = self.write_lines("in.txt", hashes)
        first = self.start_keyrevoke(mock, "--rate", "500", inp)
        self.wait_for(lambda: self.report_rows_now() >= 200 or first.poll() is not None, 30, "200 rows")
        self.assertIsNone(first.poll())
        before = mock.stats()["api_requests"]
        for mode in ("--resume", "--force"):
            with self.subTest(mode):
                res = self.run_keyrevoke(mock, mode, inp, timeout=60)
                self.assertEqual(res.returncode, 2, res.stderr.decode())
                self.assertIn("in use", res.stderr.decode())
        out, err = first.communicate(timeout=60)
        self.assertEqual(first.returncode, 0, err.decode())
        # The refused runs sent nothing and truncated nothing: one row, one request per hash.
        report = self.report()
        self.assertEqual(report.data.count(b"\x00"), 0, "the refused run truncated the report under the running one: "
                         "its first rows are now NUL bytes")
        self.assertEqual(report.outcomes(), {h: "deleted" for h in hashes})
        stats = mock.stats(hashes=True)
        self.assertGreater(before, 0)
        self.assertEqual(stats["api_requests"], 2000 + PREFLIGHT_REQUESTS)  # + the preflight's GET /keys
        self.assertEqual(repeated_hashes(stats), set())

if __name__ == "__main__":
    unittest.main()
