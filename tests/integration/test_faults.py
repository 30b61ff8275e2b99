"""Server faults: 500s, resets, hangs, closed keep-alive connections, a server killed and restarted,
per-hash permanent failures. Every assertion is checked against the mock's own ground truth."""

import os
import signal
import time
import unittest

from harness import (KeyrevokeProcesses, KeyrevokeTest, Mock, make_test_pki, random_hashes, read_report_lines,
                     repeated_hashes, status_count)


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

        rows = self.report()
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
        self.assertEqual(status_count(stats, 200), 1000)
        self.assertEqual(stats["not_found_after_delete"], 0)
        self.assertEqual(stats["unknown_hash_deletes"], 0)
        # Per hash: the report never claims fewer attempts than the server saw.
        for rep in stats.get("repeated_hashes", []):
            self.assertIn(rep["hash"], by_hash)
            self.assertGreaterEqual(by_hash[rep["hash"]]["attempts"], rep["delete_requests"], rep)
        for r in rows:
            self.assertGreaterEqual(r["attempts"], 1)
            self.assertLessEqual(r["attempts"], 8)
        # In total: every request the mock saw (faulted or not) is an attempt in the report.
        attempts = sum(r["attempts"] for r in rows)
        self.assertGreaterEqual(attempts, stats["api_requests"])
        self.assertEqual(stats["api_requests"], 1000 + injected)
        retried = sum(1 for r in rows if r["attempts"] > 1)
        self.assertGreaterEqual(retried, 1)
        print("\n  faults injected: %d x 500, %d resets, %d hangs, %d closes; %d requests, %d attempts, "
              "%d hashes retried, %.1f s" % (stats["faults_500"], stats["resets"], stats["hangs"],
                                             stats["closes_requested"], stats["api_requests"], attempts,
                                             retried, elapsed))


class RestartTest(KeyrevokeProcesses, KeyrevokeTest):
    def test_mock_killed_and_restarted_on_the_same_port_mid_run(self):
        hashes = random_hashes(1500)
        keys_file = self.write_lines("keys.txt", hashes)
        journal = self.path("journal.txt")
        ca, cert, key = make_test_pki(self.dir)
        args = ["--keys-file", keys_file, "--store-journal", journal, "--cert", cert, "--key", key]
        first = self.mock(args=args, name="first")
        first.ca = ca
        inp = self.write_lines("in.txt", hashes)
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

        rows, torn = read_report_lines(self.path("report.jsonl"))
        self.assertEqual(torn, b"")
        by_hash = rows_by_hash(rows)
        self.assertEqual(len(rows), 1500)
        self.assertEqual(set(by_hash), set(hashes))
        stats = second.stats(hashes=True)
        self.assertEqual(stats["keys"]["remaining"], 0)
        self.assertEqual(stats["keys"]["deleted"], 1500)
        # A hash is not_found only if the killed server deleted it and died before answering: at most
        # one per request in flight, and the journal proves the first server did delete it.
        not_found = {h for h, r in by_hash.items() if r["outcome"] == "not_found"}
        self.assertEqual({r["outcome"] for r in rows} - {"deleted", "not_found"}, set())
        self.assertLessEqual(len(not_found), 8)
        self.assertLessEqual(not_found, deleted_by_first)
        # The restarted server never deleted a key twice, and the outage cost retries.
        self.assertEqual(stats["not_found_after_delete"], len(not_found))
        self.assertGreater(sum(1 for r in rows if r["attempts"] > 1), 0)
        self.assertGreater(len(deleted_by_first), 250)
        print("\n  deleted before the kill: %d, after the restart: %d, not_found (answer lost): %d"
              % (len(deleted_by_first), status_count(stats, 200), len(not_found)))


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

        by_hash = rows_by_hash(self.report())
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
        self.assertEqual(stats["api_requests"], 38 + 4 + 1)
        self.assertEqual(stats["keys"]["remaining"], 2)
        self.assertEqual(repeated_hashes(stats), set())


if __name__ == "__main__":
    unittest.main()
