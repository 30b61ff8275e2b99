"""Files and outputs (issue 15, items 9-12): the report's directory removed mid-run, lock failures and
--no-lock, stdout that cannot be written (/dev/full), and an input without any hash. Each case is
checked against the mock's own record of what was deleted."""

import fcntl
import json
import os
import shutil
import subprocess
import unittest

from harness import (KEYREVOKE, MANAGEMENT_KEY, KeyrevokeProcesses, KeyrevokeTest, keyrevoke_env, random_hashes,
                     read_report, repeated_hashes, spilled_rows)


def remaining_hashes(mock):
    """The hashes the mock still holds, read page by page from its API (GET /keys?offset=N) until an
    empty page: the server's ground truth, not keyrevoke's."""
    remaining, offset = set(), 0
    while True:
        status, _, body = mock.request("GET", "/api/v1/keys?offset=%d&include_disabled=true" % offset,
                                       headers={"Authorization": "Bearer " + MANAGEMENT_KEY})
        assert status == 200, (status, body[:200])
        page = json.loads(body)["data"]
        if not page:
            return remaining
        remaining.update(k["hash"] for k in page)
        offset += len(page)


class ReportRemovedTest(KeyrevokeProcesses, KeyrevokeTest):
    """Item 9: the report's path stops naming the file keyrevoke writes (rm -rf of its directory)."""

    def start_and_wait(self, mock, report, rows):
        """Starts a throttled run writing `report` and waits until `rows` hash rows are on disk."""
        proc = self.start_keyrevoke(mock, mock.hashes_file, report=report)
        self.wait_for(lambda: self.report_rows_now(report) >= rows or proc.poll() is not None, 60, "%d rows" % rows)
        self.assertIsNone(proc.poll(), "the run ended before the directory could be removed")
        self.assertLess(self.report_rows_now(report), mock.keys)
        return proc

    def test_report_directory_removed_mid_run_is_written_again_with_every_row(self):
        # 600 keys at 150/s: about 4 s of run; the directory goes once 100 rows are on disk.
        mock = self.mock(keys=600, args=["--rate", "150"])
        os.mkdir(self.path("reports"))
        report = self.path("reports/r.jsonl")
        proc = self.start_and_wait(mock, "reports/r.jsonl", 100)
        shutil.rmtree(self.path("reports"))
        out, err = proc.communicate(timeout=120)
        err = err.decode()
        # Loud: exit 1, said at once and again on the last lines, naming the path that holds the rows.
        self.assertEqual(proc.returncode, 1, err[-3000:])
        self.assertIn("the report '%s' was removed or renamed mid-run" % report, err)
        self.assertIn("its directory was gone and has been re-created", err)
        self.assertIn("it was written again there with every row so far", err)
        self.assertIn("report: %s\n" % report, err)
        self.assertIn("exit 1: the report was removed mid-run", err.strip().splitlines()[-1])
        # Every row is in the file the message names, once, and matches the server's record.
        got = read_report(report)
        self.assertEqual([r["type"] for r in got.all_rows if "type" in r], ["header", "summary"])
        self.assertEqual(got.outcomes(), {h: "deleted" for h in mock.hashes()})
        self.assertEqual(got.summary["exit_code"], 1)
        stats = mock.stats(hashes=True)
        self.assertEqual(stats["keys"]["deleted"], 600)
        self.assertEqual(remaining_hashes(mock), set())
        self.assertEqual(repeated_hashes(stats), set())
        self.assertFalse(os.path.exists(report + ".recovered-%d" % proc.pid))

    def test_report_directory_replaced_by_a_file_stops_and_prints_every_row(self):
        # Nowhere to write the rows again (a file where the directory was): the run stops (exit 1)
        # and every row, those of the lost file included, goes to stderr.
        mock = self.mock(keys=600, args=["--rate", "150"])
        os.mkdir(self.path("reports"))
        report = self.path("reports/r.jsonl")
        proc = self.start_and_wait(mock, "reports/r.jsonl", 100)
        shutil.rmtree(self.path("reports"))
        with open(self.path("reports"), "w") as f:
            f.write("not a directory\n")
        out, err = proc.communicate(timeout=120)
        err = err.decode()
        self.assertEqual(proc.returncode, 1, err[-3000:])
        self.assertIn("the report '%s' was removed or renamed mid-run and no copy could be made" % report, err)
        rows = spilled_rows(err)
        by_hash = {}
        for r in rows:
            self.assertNotIn(r["hash"], by_hash, "two rows for one hash on stderr")
            by_hash[r["hash"]] = r["outcome"]
        # Ground truth: the keys gone from the server are exactly the rows that say "deleted".
        deleted = set(mock.hashes()) - remaining_hashes(mock)
        self.assertGreaterEqual(len(deleted), 100)
        self.assertEqual({h for h, o in by_hash.items() if o == "deleted"}, deleted)
        self.assertEqual(repeated_hashes(mock.stats(hashes=True)), set())


class ReportLockTest(KeyrevokeProcesses, KeyrevokeTest):
    """Item 10: only contention reads "in use by another keyrevoke run"; --no-lock runs without the lock."""

    def test_contention_is_named_and_no_lock_runs_without_the_lock(self):
        mock = self.mock(keys=300)
        inp = self.write_lines("in.txt", mock.hashes())
        report = self.path("report.jsonl")
        # Another process holds the report's lock (as a running keyrevoke does).
        holder = os.open(report, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)
            res = self.run_keyrevoke(mock, inp, timeout=60)
            err = res.stderr.decode()
            self.assertEqual(res.returncode, 2, err)
            self.assertIn("report '%s' is in use by another keyrevoke run" % report, err)
            self.assertNotIn("--no-lock", err)  # contention is not a file system without locking
            self.assertEqual(mock.stats()["api_requests"], 0)
            # --no-lock: the user asserts no other run writes this report; the run takes no lock.
            res = self.run_keyrevoke(mock, "--no-lock", inp, timeout=60)
            self.assertEqual(res.returncode, 0, res.stderr.decode())
        finally:
            os.close(holder)
        self.assertEqual(self.report().outcomes(), {h: "deleted" for h in mock.hashes()})
        stats = mock.stats(hashes=True)
        self.assertEqual(stats["requests_by_method"]["DELETE"]["requests"], 300)  # the refused run sent none
        self.assertEqual(repeated_hashes(stats), set())
        self.assertEqual(remaining_hashes(mock), set())

    def test_a_no_lock_run_leaves_the_report_lockable(self):
        mock = self.mock(keys=400, args=["--rate", "200"])
        proc = self.start_keyrevoke(mock, "--no-lock", mock.hashes_file)
        self.wait_for(lambda: self.report_rows_now() >= 50 or proc.poll() is not None, 60, "50 rows")
        self.assertIsNone(proc.poll())
        fd = os.open(self.path("report.jsonl"), os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises if the run held the lock
        finally:
            os.close(fd)
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, err.decode())
        self.assertEqual(self.report().outcomes(), {h: "deleted" for h in mock.hashes()})
        self.assertEqual(remaining_hashes(mock), set())


class StdoutFullTest(KeyrevokeTest):
    """Item 11: stdout is the data of --plan, --dry-run, --help and `list`: a write error is exit 1."""

    def run_to_full(self, args, with_key=False, env=None):
        with open("/dev/full", "wb") as full:
            return subprocess.run([KEYREVOKE] + args, stdout=full, stderr=subprocess.PIPE, timeout=120,
                                  env=keyrevoke_env(with_key, env))

    def test_plan_dry_run_help_and_version_fail_on_a_full_stdout(self):
        inp = self.write_lines("in.txt", random_hashes(20))
        cases = {
            "--plan": (["--plan", inp], "the plan is lost"),
            "--dry-run": (["--dry-run", inp], "the dry run's counts are lost"),
            "--help": (["--help"], ""),
            "--version": (["--version"], ""),
            "list --help": (["list", "--help"], ""),
        }
        for name, (args, lost) in cases.items():
            with self.subTest(name):
                res = self.run_to_full(args)
                err = res.stderr.decode()
                self.assertEqual(res.returncode, 1, err)
                self.assertIn("cannot write to standard output: No space left on device", err)
                self.assertIn(lost, err)
                # The same command to a writable stdout succeeds: the failure is the output's alone.
                ok = subprocess.run([KEYREVOKE] + args, capture_output=True, timeout=120, env=keyrevoke_env(False))
                self.assertEqual(ok.returncode, 0, ok.stderr.decode())
                self.assertTrue(ok.stdout)

    def test_list_fails_on_a_full_stdout_and_deletes_nothing(self):
        mock = self.mock(keys=250)
        res = self.run_to_full(["list", "--base-url", mock.base_url, "--cacert", mock.ca], with_key=True)
        err = res.stderr.decode()
        self.assertEqual(res.returncode, 1, err)
        self.assertIn("cannot write to standard output: No space left on device; the listing is incomplete", err)
        self.assertIn("INCOMPLETE", err)
        stats = mock.stats()
        self.assertEqual(stats["requests_by_method"].get("DELETE", {}).get("requests", 0), 0)
        self.assertEqual(stats["keys"]["deleted"], 0)
        self.assertEqual(remaining_hashes(mock), set(mock.hashes()))


class EmptyInputTest(KeyrevokeTest):
    """Item 12: an input without any hash is exit 2 unless --allow-empty; a list whose hashes are all
    skipped (done, another shard's) is not empty."""

    EMPTY = "the input holds no hash"

    def test_empty_input_is_an_error_unless_allowed(self):
        mock = self.mock(keys=10)
        cases = {"empty stdin": b"", "comments and blanks": b"# nothing\n\n  \t\r\n# done"}
        all_keys = sorted(mock.hashes())
        deleted = set()
        for index, (name, data) in enumerate(cases.items()):
            for allow in (False, True):
                with self.subTest(name, allow_empty=allow):
                    report = "%s-%d.jsonl" % (name.replace(" ", "-"), allow)
                    args = ["--allow-empty"] if allow else []
                    res = self.run_keyrevoke(mock, *args, "-", input=data, report=report, timeout=60)
                    err = res.stderr.decode()
                    self.assertEqual(res.returncode, 0 if allow else 2, err)
                    self.assertIn(self.EMPTY, err)
                    if allow:
                        self.assertIn("warning: the input holds no hash (allowed by --allow-empty)", err)
                    else:
                        self.assertIn("--allow-empty accepts an empty list", err)
                        self.assertIn("exit 2: the input holds no hash", err.strip().splitlines()[-1])
                    if allow:
                        summary = self.report(report).summary
                        self.assertEqual(summary["exit_code"], 0)
                        self.assertEqual(summary["counts"]["hashes"], 0)
                    else:
                        # Nothing sent: no report is left to refuse the cron job's next run at that path.
                        self.assertFalse(os.path.exists(self.path(report)), "a refused empty input left a report")
                        self.assertIn("report: none written", err)
                        one = all_keys[index]
                        deleted.add(one)
                        res = self.run_keyrevoke(mock, "-", input=(one + "\n").encode(), report=report, timeout=60)
                        self.assertEqual(res.returncode, 0, res.stderr.decode())
                        self.assertEqual(self.report(report).outcomes(), {one: "deleted"})
        # Nothing sent for the empty inputs: only the two one-hash runs reached the server.
        self.assertEqual(remaining_hashes(mock), set(all_keys) - deleted)

    def test_force_with_an_empty_input_keeps_the_report(self):
        # --force names a report that existed: a refused empty input must not remove it (only a report
        # this run created is removed); it keeps the header and summary of this run and says where.
        mock = self.mock(keys=5)
        inp = self.write_lines("in.txt", mock.hashes()[:2])
        self.assertEqual(self.run_keyrevoke(mock, inp, timeout=60).returncode, 0)
        res = self.run_keyrevoke(mock, "--force", "-", input=b"", timeout=60)
        err = res.stderr.decode()
        self.assertEqual(res.returncode, 2, err)
        self.assertTrue(os.path.exists(self.path("report.jsonl")), err)
        self.assertNotIn("none written", err)
        self.assertEqual(self.report().summary["exit_code"], 2)
        self.assertEqual(mock.stats()["keys"]["deleted"], 2)

    def test_dry_run_and_plan_refuse_an_empty_input_too(self):
        empty = self.write_lines("empty.txt", ["# no hashes today"])
        for mode in ("--dry-run", "--plan"):
            for allow in (False, True):
                with self.subTest(mode, allow_empty=allow):
                    args = [KEYREVOKE, mode, empty] + (["--allow-empty"] if allow else [])
                    res = subprocess.run(args, capture_output=True, timeout=60, env=keyrevoke_env(False))
                    self.assertEqual(res.returncode, 0 if allow else 2, res.stderr.decode())
                    self.assertIn(self.EMPTY, res.stderr.decode())

    def test_lists_that_are_not_empty_keep_their_exit_codes(self):
        mock = self.mock(keys=20)
        hashes = mock.hashes()
        inp = self.write_lines("in.txt", hashes)
        # Only invalid lines: not empty; exit 1 for the invalid lines, as before.
        bad = self.write_lines("bad.txt", ["sk-mg-not-a-hash", "1234"])
        res = self.run_keyrevoke(mock, bad, report="bad.jsonl", timeout=60)
        self.assertEqual(res.returncode, 1, res.stderr.decode())
        self.assertNotIn(self.EMPTY, res.stderr.decode())
        # Every hash done, then --resume: nothing left to send, and that is success.
        res = self.run_keyrevoke(mock, inp, report="all.jsonl", timeout=60)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        before = mock.stats()["api_requests"]
        res = self.run_keyrevoke(mock, "--resume", inp, report="all.jsonl", timeout=60)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        self.assertNotIn(self.EMPTY, res.stderr.decode())
        self.assertEqual(self.report("all.jsonl").summary["counts"]["already_done"], 20)
        self.assertEqual(mock.stats()["api_requests"], before)
        # A shard that gets no hash of a non-empty list: not an error (the list was not empty).
        one = self.write_lines("one.txt", random_hashes(1))
        codes = []
        for k in (1, 2):
            res = self.run_keyrevoke(mock, "--shard", "%d/2" % k, one, report="shard-%d.jsonl" % k, timeout=60)
            self.assertNotIn(self.EMPTY, res.stderr.decode())
            codes.append(res.returncode)
            counts = self.report("shard-%d.jsonl" % k).summary["counts"]
            self.assertEqual(counts["hashes"] + counts["other_shards"], 1)
        self.assertEqual(codes, [0, 0])
        self.assertEqual(remaining_hashes(mock), set())


if __name__ == "__main__":
    unittest.main()
