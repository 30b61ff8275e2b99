"""`keyrevoke report`, --summary-json, --metrics-file, the rows' "at", the header's operator and the list
filters' relative times: each checked against the mock's own record of the keys (its key listing and
/__admin/stats), not only against what keyrevoke says."""

import datetime
import json
import os
import pwd
import re
import signal
import subprocess
import unittest

from harness import (KEYREVOKE, MANAGEMENT_KEY, KeyrevokeProcesses, KeyrevokeTest, free_port, keyrevoke_env,
                     random_hashes, status_count)

DONE = {"deleted", "not_found", "not_found_after_retry"}
AT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def server_keys(mock):
    """The hashes the mock still holds, read through its own key API (every page, disabled keys too)."""
    present, offset = set(), 0
    while True:
        status, _, body = mock.request("GET", "/api/v1/keys?offset=%d&include_disabled=true" % offset,
                                       headers={"Authorization": "Bearer " + MANAGEMENT_KEY})
        assert status == 200, (status, body[:200])
        page = json.loads(body)["data"]
        if not page:
            return present
        present.update(k["hash"] for k in page)
        offset += len(page)


def parse_prometheus(text):
    """A small reader of the text exposition format (0.0.4): {(name, frozenset(labels)): value}. Fails on
    a sample line that does not parse, a family without # HELP and # TYPE before its first sample, or a
    file that does not end with a newline."""
    assert text.endswith("\n"), "metrics must end with a newline"
    sample = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (-?[0-9.eE+]+|NaN|[+-]Inf)$')
    label = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)')
    helped, typed, out = set(), {}, {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            helped.add(line.split(" ")[2])
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("gauge", "counter", "untyped"), line
            typed[name] = kind
            continue
        m = sample.match(line)
        assert m, "not a sample line: %r" % line
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        assert name in helped and name in typed, "no HELP/TYPE before %s" % name
        pairs, pos = [], 0
        while pos < len(labels):
            lm = label.match(labels, pos)
            assert lm, "bad labels: %r" % labels
            pairs.append((lm.group(1), lm.group(2)))
            pos = lm.end()
        out[(name, frozenset(pairs))] = float(value)
    return out


class ReportCommandTest(KeyrevokeProcesses, KeyrevokeTest):

    def report_cmd(self, *files, fmt="json"):
        """`keyrevoke report --format fmt files...` (paths in the test's directory): (code, stdout, stderr)."""
        res = subprocess.run([KEYREVOKE, "report", "--format", fmt] + [self.path(f) for f in files],
                             capture_output=True, timeout=60, env=keyrevoke_env(with_key=False))
        return res.returncode, res.stdout.decode(), res.stderr.decode()

    def read_text(self, name):
        with open(self.path(name)) as f:
            return f.read()

    def merged(self, *files):
        code, out, err = self.report_cmd(*files)
        self.assertIn(code, (0, 1), err)
        return code, json.loads(out)

    def assert_no_key_anywhere(self):
        for name in os.listdir(self.dir):
            with open(self.path(name), "rb") as f:
                self.assertNotIn(MANAGEMENT_KEY.encode(), f.read(), name)

    def assert_outputs_match(self, summary_name, metrics_name, exit_code, counts):
        """The --summary-json and --metrics-file of a run: whole, parseable, its exit code, and `counts`
        (outcome -> hashes) as the run's report row counts say."""
        self.assertEqual([n for n in os.listdir(self.dir) if ".tmp-" in n], [])  # renamed, nothing left over
        with open(self.path(summary_name)) as f:
            summary = json.load(f)
        with open(self.path(metrics_name)) as f:
            metrics = parse_prometheus(f.read())
        self.assertEqual(summary["exit_code"], exit_code)
        self.assertEqual(metrics[("keyrevoke_exit_code", frozenset())], exit_code)
        for outcome, n in counts.items():
            self.assertEqual(summary["counts"][outcome], n, outcome)
            self.assertEqual(metrics[("keyrevoke_hashes", frozenset({("outcome", outcome)}))], n, outcome)
        self.assertGreater(metrics[("keyrevoke_duration_seconds", frozenset())], 0)
        by_class = summary["requests_by_status_class"]
        for cls in ("1xx", "2xx", "3xx", "4xx", "5xx", "none"):
            self.assertEqual(metrics[("keyrevoke_requests", frozenset({("status_class", cls)}))], by_class[cls], cls)
        return summary, metrics

    def test_interrupted_then_resumed_report_is_the_servers_truth(self):
        failing, rejected = random_hashes(2), random_hashes(1)  # not on the server either way
        mock = self.mock(keys=1600, args=["--rate", "400", "--burst", "40", "--fault-file",
                                          self.write_lines("faults.txt", ["%s always500" % failing[0],
                                                                          "%s always500" % failing[1],
                                                                          "%s 400" % rejected[0]])])
        on_server = mock.hashes()[:1200]
        absent = random_hashes(3)
        inp = self.write_lines("in.txt", on_server + absent + failing + rejected + ["not-a-hash"])
        proc = self.start_keyrevoke(mock, "--concurrency", "8", "--max-attempts", "2", "--summary-json",
                                    self.path("s1.json"), "--metrics-file", self.path("m1.prom"), inp)
        self.wait_for(lambda: self.report_rows_now() >= 300 or proc.poll() is not None, 60, "300 rows")
        self.assertIsNone(proc.poll(), "the run ended before it could be interrupted")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 130, err.decode())
        first = self.report().summary
        # After SIGTERM too, both files are there, whole, and say what the report's summary row says.
        self.assert_outputs_match("s1.json", "m1.prom", 130,
                                  {k: first["counts"][k] for k in ("deleted", "not_attempted", "failed", "invalid")})

        code, killed = self.merged("report.jsonl")
        self.assertEqual(code, 1)
        self.assertFalse(killed["all_done"])
        self.assertGreater(killed["counts"].get("not_attempted", 0), 0)

        res = self.run_keyrevoke(mock, "--resume", "--concurrency", "8", "--max-attempts", "2", "--summary-json",
                                 self.path("s2.json"), "--metrics-file", self.path("m2.prom"), inp, timeout=120)
        self.assertEqual(res.returncode, 1, res.stderr.decode())  # the failing hashes and the invalid line
        second = self.report().summary
        self.assert_outputs_match("s2.json", "m2.prom", 1,
                                  {k: second["counts"][k] for k in ("deleted", "not_found", "failed", "invalid")})

        code, merged = self.merged("report.jsonl")
        self.assertEqual(code, 1)
        self.assertEqual(merged["problems"], [])  # the killed run was resumed in the same report
        final = {h["hash"]: h for h in merged["hashes"]}
        inputs = on_server + absent + failing + rejected
        self.assertEqual(set(final), set(inputs))
        # Ground truth, per hash: a key the server no longer holds is done, one it holds is not.
        present = server_keys(mock)
        for h in on_server:
            self.assertEqual(final[h]["outcome"] in DONE, h not in present, (h, final[h]))
        self.assertEqual(present & set(on_server), set())
        for h in absent:
            self.assertEqual(final[h]["outcome"], "not_found", h)
        for h in failing + rejected:
            self.assertEqual(final[h]["outcome"], "failed", h)
        admin = mock._get("/__admin/keys")
        self.assertEqual(merged["counts"].get("deleted", 0) + merged["counts"].get("not_found_after_retry", 0),
                         admin["deleted"])
        self.assertEqual(merged["counts"]["invalid"], 1)  # one input line, reported by both runs
        self.assertEqual(merged["left"], 3)
        self.assertEqual(sum(g["count"] for g in merged["failures"]), 3)
        self.assertEqual(len(merged["runs"]), 2)
        self.assertEqual([r["exit_code"] for r in merged["runs"]], [130, 1])
        for h in final.values():
            self.assertRegex(h["at"], AT)

        # The same state in the other formats.
        code, text, _ = self.report_cmd("report.jsonl", fmt="text")
        self.assertEqual(code, 1)
        self.assertIn("NOT ALL DONE: 3 left to do, 1 invalid input line", text)
        self.assertIn("HTTP 500", text)
        code, markdown, _ = self.report_cmd("report.jsonl", fmt="markdown")
        self.assertIn("| failed | 3 |", markdown)
        self.assertIn("| report | operator | started | finished |", markdown)
        code, csv_text, _ = self.report_cmd("report.jsonl", fmt="csv")
        lines = csv_text.split("\r\n")
        self.assertEqual(lines[0].split(",")[:2], ["hash", "outcome"])
        self.assertEqual(len([l for l in lines[1:] if l]), len(inputs))  # one row per hash
        self.assert_no_key_anywhere()

    def test_shards_merge_and_a_missing_one_is_named(self):
        mock = self.mock(keys=600)
        hashes = mock.hashes()
        inp = self.write_lines("in.txt", hashes)
        for k in (1, 2, 3):
            res = self.run_keyrevoke(mock, "--shard", "%d/3" % k, inp, report="shard-%d.jsonl" % k)
            self.assertEqual(res.returncode, 0, res.stderr.decode())
        self.assertEqual(server_keys(mock), set())

        code, merged = self.merged("shard-1.jsonl", "shard-2.jsonl", "shard-3.jsonl")
        self.assertEqual(code, 0, merged["problems"])
        self.assertTrue(merged["all_done"])
        self.assertEqual({h["hash"] for h in merged["hashes"]}, set(hashes))
        self.assertEqual(merged["counts"], {"deleted": 600})
        self.assertEqual(sorted(r["shard"] for r in merged["runs"]), ["1/3", "2/3", "3/3"])

        code, partial = self.merged("shard-1.jsonl", "shard-3.jsonl")
        self.assertEqual(code, 1)
        self.assertEqual(len(partial["problems"]), 1)
        self.assertIn("2/3", partial["problems"][0])
        code, text, _ = self.report_cmd("shard-1.jsonl", "shard-3.jsonl", fmt="text")
        self.assertIn("1 of 3 shards have no report: 2/3", text)

        code, twice = self.merged("shard-1.jsonl", "shard-2.jsonl", "shard-3.jsonl", "shard-2.jsonl")
        self.assertEqual(code, 1)
        self.assertTrue(any("shard 2/3 is in 2 reports" in p for p in twice["problems"]), twice["problems"])

        # A shard whose runner was killed: no summary row.
        with open(self.path("shard-3.jsonl"), "rb") as f:
            rows = f.read().split(b"\n")
        with open(self.path("killed-3.jsonl"), "wb") as f:
            f.write(b"\n".join(rows[:-2]) + b"\n")
        code, killed = self.merged("shard-1.jsonl", "shard-2.jsonl", "killed-3.jsonl")
        self.assertEqual(code, 1)
        self.assertTrue(any("killed-3.jsonl:1:" in p and "no summary row" in p for p in killed["problems"]),
                        killed["problems"])

    def test_an_unknown_option_names_the_nearest(self):
        res = subprocess.run([KEYREVOKE, "report", "--formt", "csv", "r.jsonl"], capture_output=True, timeout=30)
        self.assertEqual(res.returncode, 2)
        self.assertIn("did you mean '--format'?", res.stderr.decode())

    def test_a_file_that_is_not_a_report_is_exit_2_with_its_line(self):
        mock = self.mock(keys=20)
        res = self.run_keyrevoke(mock, self.write_lines("in.txt", mock.hashes()))
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        with open(self.path("report.jsonl")) as f:
            good = f.read().splitlines()
        cases = {
            "garbage.jsonl": (good[:3] + ["this is not json"] + good[3:], "garbage.jsonl:4:"),
            "foreign.jsonl": (['{"level":"info","msg":"hello"}'], "foreign.jsonl:1:"),
            "plan.json": (['{"plan":"keyrevoke-plan-v2","digest":"sha256:00"}'], "plan.json:1:"),
            "empty.jsonl": ([], "empty.jsonl: no report row"),
        }
        for name, (lines, where) in cases.items():
            with self.subTest(name):
                with open(self.path(name), "w") as f:
                    f.write("".join(line + "\n" for line in lines))
                code, out, err = self.report_cmd("report.jsonl", name, fmt="text")
                self.assertEqual(code, 2, err)
                self.assertEqual(out, "")
                self.assertIn(where, err)
        code, out, err = self.report_cmd("no-such.jsonl", fmt="text")
        self.assertEqual(code, 2)
        self.assertIn("cannot read", err)
        code, out, err = self.report_cmd("report.jsonl", fmt="html")
        self.assertEqual(code, 2)
        self.assertIn("--format", err)

    def test_metrics_count_what_the_server_answered(self):
        rejected = random_hashes(2)
        mock = self.mock(keys=300, args=["--fault-file", self.write_lines("faults.txt", ["%s 400" % h for h in rejected])])
        inp = self.write_lines("in.txt", mock.hashes()[:250] + rejected + random_hashes(5))
        res = self.run_keyrevoke(mock, "--summary-json", self.path("s.json"), "--metrics-file",
                                 self.path("m.prom"), "--verify", inp)
        self.assertEqual(res.returncode, 1, res.stderr.decode())
        stats = mock.stats()
        summary, metrics = self.assert_outputs_match("s.json", "m.prom", 1,
                                                     {"deleted": 250, "not_found": 5, "failed": 2})
        answered = {c: sum(int(n) for s, n in stats["status_counts"].items() if s.startswith(c[0]))
                    for c in ("2xx", "4xx", "5xx")}
        answered["2xx"] = status_count(stats, 200)  # the test's own admin reads aside
        for cls in ("2xx", "4xx", "5xx"):
            self.assertEqual(summary["requests_by_status_class"][cls], answered[cls], cls)
        self.assertEqual(metrics[("keyrevoke_verify_proofs", frozenset({("proof", "verified")}))], 255)
        self.assertEqual(summary["counts"]["verified"], 255)
        # Verify rows carry "proof", never "outcome": counting failed outcomes counts actions only.
        rows = self.report().all_rows
        self.assertEqual(len([r for r in rows if r.get("outcome") == "failed"]), 2)
        self.assertTrue(all("outcome" not in r and r["proof"] == "verified" for r in rows if r.get("type") == "verify"))
        for r in rows:
            self.assertRegex(r["at"], AT)
        code, merged = self.merged("report.jsonl")
        self.assertEqual(merged["counts"], {"deleted": 250, "not_found": 5, "failed": 2})
        self.assertEqual(merged["proofs"], {"verified": 255})
        self.assert_no_key_anywhere()

    def test_outputs_are_written_when_the_run_aborts_or_cannot_reach_the_server(self):
        inp = self.write_lines("in.txt", random_hashes(5))
        other_key = self.mock(keys=5, env={"MODELGATES_MANAGEMENT_KEY": "sk-mg-v1-another-key-entirely"}, name="other")
        res = self.run_keyrevoke(other_key, "--summary-json", self.path("s3.json"), "--metrics-file",
                                 self.path("m3.prom"), inp, report="r3.jsonl")
        self.assertEqual(res.returncode, 3, res.stderr.decode())
        self.assert_outputs_match("s3.json", "m3.prom", 3, {"deleted": 0})
        with open(self.path("s3.json")) as f:
            self.assertEqual(json.load(f)["exit_reason"], "key_rejected")

        closed = free_port()  # nothing listens there
        unreachable = type("Origin", (), {"base_url": "https://127.0.0.1:%d/api/v1" % closed, "plain": False,
                                          "ca": other_key.ca})()
        res = self.run_keyrevoke(unreachable, "--summary-json", self.path("s4.json"), "--metrics-file",
                                 self.path("m4.prom"), inp, report="r4.jsonl", timeout=120)
        self.assertEqual(res.returncode, 4, res.stderr.decode())
        summary, _ = self.assert_outputs_match("s4.json", "m4.prom", 4, {"deleted": 0, "not_attempted": 5})
        self.assertEqual(summary["requests_by_status_class"]["2xx"], 0)
        self.assert_no_key_anywhere()

    def test_outputs_are_written_when_the_run_ends_before_its_report(self):
        # The trial's cases: exit 2 before the report is opened (a report that exists without --resume,
        # a missing key file, a missing input file, a report directory that does not exist) still
        # replaces the monitor's files, so it never shows the previous run's exit 0.
        mock = self.mock(keys=5)
        inp = self.write_lines("in.txt", mock.hashes())
        self.write_lines("exists.jsonl", ['{"type":"header","tool":"keyrevoke"}'])
        cases = [
            ("report exists", [inp], "exists.jsonl", None),
            ("missing key file", ["--key-file", self.path("no-such-key"), inp], "r1.jsonl", None),
            ("missing input", [self.path("no-such-input.txt")], "r2.jsonl", None),
            ("no report directory", [inp], self.path("no-such-dir/r.jsonl"), None),
        ]
        for i, (name, args, report, _) in enumerate(cases):
            with self.subTest(name):
                # The previous run's files: a clean exit 0.
                ok = self.run_keyrevoke(mock, "--resume", "--summary-json", self.path("s.json"), "--metrics-file",
                                        self.path("m.prom"), inp, report="ok.jsonl")
                self.assertEqual(ok.returncode, 0, ok.stderr.decode())
                res = self.run_keyrevoke(mock, "--summary-json", self.path("s.json"), "--metrics-file",
                                         self.path("m.prom"), *args, report=report)
                self.assertEqual(res.returncode, 2, res.stderr.decode())
                with open(self.path("s.json")) as f:
                    summary = json.load(f)
                with open(self.path("m.prom")) as f:
                    metrics = parse_prometheus(f.read())
                self.assertEqual(summary["exit_code"], 2)
                self.assertEqual(summary["exit_reason"], "before_run")
                self.assertEqual(metrics[("keyrevoke_exit_code", frozenset())], 2)
                self.assertEqual(sum(summary["requests_by_status_class"].values()), 0)
        self.assert_no_key_anywhere()

    def test_outputs_are_written_when_a_second_signal_exits_at_once(self):
        hung = random_hashes(4)
        mock = self.mock(keys=5, args=["--fault-file", self.write_lines("faults.txt", ["%s hang" % h for h in hung])])
        with open(self.path("err.txt"), "wb") as err:
            proc = self.start_keyrevoke(mock, "--timeout", "60", "--summary-json", self.path("s.json"),
                                        "--metrics-file", self.path("m.prom"), self.write_lines("in.txt", hung),
                                        stderr=err)
            self.wait_for(lambda: mock.stats()["hangs"] >= 1, 30, "a hung request", poll=0.1)
            proc.send_signal(signal.SIGTERM)
            self.wait_for(lambda: "finishing requests in flight" in self.read_text("err.txt"), 30,
                          "the first signal taken")
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 130, self.read_text("err.txt"))
        self.assert_outputs_match("s.json", "m.prom", 130, {"deleted": 0})
        self.assert_no_key_anywhere()

    def test_operator_falls_back_to_the_account_name(self):
        mock = self.mock(keys=5)
        inp = self.write_lines("in.txt", mock.hashes())
        env = keyrevoke_env()
        env.pop("USER", None)
        env.pop("LOGNAME", None)
        res = subprocess.run(self.keyrevoke_cmd(mock, inp), env=env, capture_output=True, timeout=60)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        try:
            expected = pwd.getpwuid(os.getuid()).pw_name
        except KeyError:
            expected = "uid %d" % os.getuid()
        self.assertEqual(self.report().typed("header")[0]["operator"], expected)

    def test_list_takes_relative_times(self):
        mock = self.mock(keys=400)
        env = keyrevoke_env()
        base = ["list", "--base-url", mock.base_url, "--cacert", mock.ca, "--quiet"]
        full = subprocess.run([KEYREVOKE] + base + ["--json"], env=env, capture_output=True, timeout=60)
        self.assertEqual(full.returncode, 0, full.stderr.decode())
        keys = [json.loads(line) for line in full.stdout.decode().splitlines()]
        self.assertEqual(len(keys), 400)
        now = datetime.datetime.now(datetime.timezone.utc)
        for age, delta in (("45d", datetime.timedelta(days=45)), ("1w2d", datetime.timedelta(days=9)),
                           ("0s", datetime.timedelta(0))):
            res = subprocess.run([KEYREVOKE] + base + ["--created-before", age], env=env, capture_output=True,
                                 timeout=60)
            self.assertEqual(res.returncode, 0, res.stderr.decode())
            listed = set(res.stdout.decode().split())
            threshold = now - delta
            for k in keys:
                created = datetime.datetime.fromisoformat(k["created_at"].replace("Z", "+00:00"))
                if abs((created - threshold).total_seconds()) < 120:
                    continue  # too close to the clock reading to tell
                self.assertEqual(k["hash"] in listed, created < threshold, (age, k["created_at"]))
        res = subprocess.run([KEYREVOKE] + base + ["--created-before", "7 days"], env=env, capture_output=True,
                             timeout=60)
        self.assertEqual(res.returncode, 2)
        self.assertIn("7d", res.stderr.decode())


if __name__ == "__main__":
    unittest.main()
