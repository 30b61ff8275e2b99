"""The incident workflow against keyrevoke-mock: contain (--disable/--enable), prove (--verify),
protect, plan then confirm, the audit header, and --shard. Every capability keeps the revoker's
guarantees: every selected hash has a final row, nothing is sent twice after a resume, the key never
leaks."""

import fnmatch
import hashlib
import json
import os
import signal
import ssl
import subprocess
import time
import unittest
import urllib.error
import urllib.request

from harness import (EMPTY_PREFLIGHT_REQUESTS, LIST_END_CONFIRMATIONS, PREFLIGHT_REQUESTS, confirm_requests, preflight_requests, KeyrevokeProcesses, KeyrevokeTest, MANAGEMENT_KEY, ScriptedServer, keyrevoke_env, random_hashes,
                     repeated_hashes, status_count)


def api(mock, method, path, body=None):
    """One request to the mock's key API with the management key: (status, parsed body or None)."""
    url = "%s%s" % (mock.base_url, path)
    ctx = ssl.create_default_context(cafile=mock.ca)
    ctx.check_hostname = False
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Authorization": "Bearer " + MANAGEMENT_KEY,
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, None


def all_keys(mock):
    """hash -> key object, every key the mock still holds (paged while nothing else changes them)."""
    keys, offset = {}, 0
    while True:
        status, body = api(mock, "GET", "/keys?include_disabled=true&offset=%d" % offset)
        assert status == 200, status
        page = body["data"]
        for k in page:
            keys[k["hash"]] = k
        if len(page) < 100:
            return keys
        offset += len(page)


def interrupt_after_rows(test, cmd, rows):
    """Runs cmd, sends SIGINT once the report holds `rows` hash rows, and asserts it exits 130."""
    proc = subprocess.Popen(cmd, env=keyrevoke_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while test.report_rows_now() < rows and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    test.assertEqual(proc.returncode, 130, err.decode())


class ContainTest(KeyrevokeProcesses, KeyrevokeTest):
    def test_disable_then_enable_round_trip_with_proof(self):
        mock = self.mock(keys=300)
        chosen = mock.hashes()[:200]
        absent = random_hashes(20)
        inp = self.write_lines("in.txt", chosen + absent)
        res = self.run_keyrevoke(mock, "--disable", "--verify", inp, report="disable.jsonl")
        self.assertEqual(res.returncode, 0, res.stderr.decode())

        report = self.report("disable.jsonl")
        rows = report.all_rows
        self.assertEqual(rows[0]["type"], "header")
        self.assertEqual(rows[0]["action"], "disable")
        self.assertEqual(rows[-1]["type"], "summary")
        self.assertEqual(rows[-1]["exit_code"], 0)
        outcomes = report.outcomes()
        self.assertEqual({h: outcomes[h] for h in chosen}, {h: "disabled" for h in chosen})
        self.assertEqual({h: outcomes[h] for h in absent}, {h: "not_found" for h in absent})
        proofs = {r["hash"]: r for r in report.typed("verify")}
        self.assertEqual(set(proofs), set(chosen + absent))
        for h in chosen:
            self.assertEqual((proofs[h]["proof"], proofs[h]["observed"]), ("verified", "disabled"), h)
        for h in absent:
            self.assertEqual((proofs[h]["proof"], proofs[h]["observed"], proofs[h]["http_status"]),
                             ("verified", "gone", 404), h)

        # Ground truth: disabled, not deleted; the other 100 untouched.
        keys = all_keys(mock)
        self.assertEqual(len(keys), 300)
        for h in chosen:
            self.assertTrue(keys[h]["disabled"], h)
        self.assertEqual(mock.stats()["keys"]["deleted"], 0)
        self.assertIn("200 disabled", res.stderr.decode())
        self.assertIn("220 verified", res.stderr.decode())

        # --enable undoes it, with its own report. The 20 absent keys cannot be enabled: exit 1, said.
        res = self.run_keyrevoke(mock, "--enable", "--verify", inp, report="enable.jsonl")
        self.assertEqual(res.returncode, 1, res.stderr.decode())
        self.assertIn("exit 1: 20 not enabled (no such key)", res.stderr.decode())
        outcomes = self.report("enable.jsonl").outcomes()
        self.assertEqual({outcomes[h] for h in chosen}, {"enabled"})
        keys = all_keys(mock)
        for h in chosen:
            self.assertFalse(keys[h]["disabled"], h)
        self.assertEqual(mock.stats()["keys"]["deleted"], 0)

    def test_interrupted_disable_resumes_without_patching_twice(self):
        mock = self.mock(keys=3000, args=["--latency-ms", "20"])
        chosen = mock.hashes()
        inp = self.write_lines("in.txt", chosen)
        interrupt_after_rows(self, self.keyrevoke_cmd(mock, "--disable", "--concurrency", "8", inp), 500)
        report = self.report(torn_ok=True)
        first, torn = report.rows, report.torn
        self.assertEqual(torn, b"")
        done_first = {r["hash"] for r in first if r["outcome"] == "disabled"}
        self.assertGreater(len(done_first), 400)
        self.assertLess(len(done_first), 3000)
        patches_first = mock.stats()["api_requests"]

        res = self.run_keyrevoke(mock, "--disable", "--resume", "--concurrency", "8", inp)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        rows = self.report(torn_ok=True).rows
        final = {}
        for r in rows:
            if r["outcome"] in ("disabled", "not_found"):
                self.assertNotIn(r["hash"], final, "a hash finished twice")
                final[r["hash"]] = r["outcome"]
        self.assertEqual(set(final), set(chosen))
        # The second run sent one PATCH per hash the first did not finish, and nothing else.
        stats = mock.stats()
        self.assertEqual(stats["api_requests"] - patches_first, 3000 - len(done_first) + PREFLIGHT_REQUESTS)  # + the preflight
        self.assertEqual(stats["patch_requests"], 3000)
        self.assertEqual(stats["patched_more_than_once"], 0)
        self.assertEqual(stats["keys"]["deleted"], 0)
        self.assertEqual(len(all_keys(mock)), 3000)
        headers = self.report().typed("header")
        self.assertEqual([h["resume"] if "resume" in h else h["options"]["resume"] for h in headers], [False, True])

    def test_resume_refuses_a_report_of_another_action(self):
        mock = self.mock(keys=50)
        inp = self.write_lines("in.txt", mock.hashes())
        res = self.run_keyrevoke(mock, "--disable", inp)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        before = mock.stats()["api_requests"]
        size = os.path.getsize(self.path("report.jsonl"))
        res = self.run_keyrevoke(mock, "--resume", inp)  # a delete resuming a disable report
        self.assertEqual(res.returncode, 2)
        self.assertIn("disable run", res.stderr.decode())
        self.assertEqual(mock.stats()["api_requests"], before)
        self.assertEqual(os.path.getsize(self.path("report.jsonl")), size)
        res = self.run_keyrevoke(mock, "--disable", "--enable", inp)
        self.assertEqual(res.returncode, 2)


class VerifyTest(KeyrevokeProcesses, KeyrevokeTest):
    def test_interrupted_verification_resumes_with_proofs_only(self):
        mock = self.mock(keys=2000, args=["--latency-ms", "20"])
        chosen = mock.hashes()
        inp = self.write_lines("in.txt", chosen)
        interrupt_after_rows(self, self.keyrevoke_cmd(mock, "--verify", "--concurrency", "8", inp), 400)
        report = self.report()
        first = report.all_rows
        self.assertLess(len([r for r in first if r.get("outcome") == "deleted"]), 2000)
        self.assertEqual(first[-1]["type"], "summary")
        self.assertEqual(first[-1]["exit_code"], 130)
        deleted_first = {r["hash"] for r in first if "type" not in r and r["outcome"] == "deleted"}
        proven_first = {r["hash"] for r in report.typed("verify") if r["proof"] == "verified"}
        # The stop usually leaves deletions without a proof (their GET not sent yet); in a slow build
        # with one request in flight the interrupt can fall right after a proof, leaving none. The
        # resumed run below must then still prove every deletion exactly once, whichever it is.
        unproven_first = deleted_first - proven_first
        print("\n  deletions left without a proof by the stop: %d" % len(unproven_first))
        self.assertTrue({r["proof"] for r in report.typed("verify")} <= {"verified", "not_attempted"})

        res = self.run_keyrevoke(mock, "--resume", "--verify", "--concurrency", "8", inp)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        report = self.report()
        acted = [r["hash"] for r in report.all_rows if "type" not in r and r["outcome"] == "deleted"]
        self.assertEqual(sorted(acted), sorted(chosen))  # one final row per hash across both runs
        verified = [r["hash"] for r in report.typed("verify") if r["proof"] == "verified"]
        self.assertEqual(sorted(verified), sorted(chosen))  # one proof per hash
        stats = mock.stats(hashes=True)
        self.assertEqual(stats["keys"]["remaining"], 0)
        self.assertEqual(repeated_hashes(stats), set())  # no DELETE sent twice
        self.assertEqual(stats["not_found_after_delete"], 0)

    def test_verify_proves_every_delete_with_a_404(self):
        mock = self.mock(keys=500)
        chosen = mock.hashes()[:400]
        absent = random_hashes(50)
        inp = self.write_lines("in.txt", chosen + absent)
        res = self.run_keyrevoke(mock, "--verify", inp)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        report = self.report()
        rows, proofs = report.all_rows, report.typed("verify")
        self.assertEqual(len(proofs), 450)
        self.assertEqual({r["hash"] for r in proofs}, set(chosen + absent))
        self.assertEqual({(r["proof"], r["observed"], r["http_status"]) for r in proofs}, {("verified", "gone", 404)})
        # Each proof comes after its hash's action row.
        position = {}
        for i, r in enumerate(rows):
            if "hash" in r and r.get("type") is None:
                position[r["hash"]] = i
        for i, r in enumerate(rows):
            if r.get("type") == "verify":
                self.assertLess(position[r["hash"]], i)
        stats = mock.stats()
        self.assertEqual(stats["keys"]["deleted"], 400)
        self.assertEqual(status_count(stats, 200), 400 + PREFLIGHT_REQUESTS)   # the DELETEs, and the preflight's GET /keys
        # 50 absent DELETEs (the first 3 confirmed by a GET), then every proof's GET
        self.assertEqual(status_count(stats, 404), 50 + confirm_requests(50) + 450)

    def test_verify_catches_a_server_that_answers_deleted_but_keeps_the_key(self):
        mock = self.mock(keys=200)
        mock_hashes = mock.hashes()
        ghosts = mock_hashes[:5]
        mock.stop()
        faults = self.write_lines("faults.txt", ["%s ghost 1" % h for h in ghosts])  # the first DELETE only
        mock = self.mock(keys=200, args=["--fault-file", faults], name="ghostly")
        self.assertEqual(mock.hashes(), mock_hashes)  # same seed, same keys
        inp = self.write_lines("in.txt", mock_hashes[:100])
        res = self.run_keyrevoke(mock, "--verify", "--max-attempts", "3", inp)
        self.assertEqual(res.returncode, 1, res.stderr.decode())
        self.assertIn("VERIFY MISMATCH", res.stderr.decode())
        outcomes = self.report().outcomes()
        self.assertEqual(set(outcomes.values()), {"deleted"})  # the server said so, and the row says what it said
        proofs = {r["hash"]: r for r in self.report().typed("verify")}
        self.assertEqual(len(proofs), 100)
        for h in ghosts:
            self.assertEqual(proofs[h]["proof"], "mismatch", h)
            self.assertIn(proofs[h]["observed"], ("enabled", "disabled"))
            self.assertEqual(proofs[h]["attempts"], 3)
            self.assertIn("still shows the key", proofs[h]["error"])
        self.assertEqual({proofs[h]["proof"] for h in mock_hashes[5:100]}, {"verified"})
        stats = mock.stats()
        self.assertEqual(stats["ghost_writes"], 5)
        self.assertEqual(stats["get_key_requests"], 95 + 5 * 3 + PREFLIGHT_REQUESTS - 1)  # + the preflight's key-route reads
        self.assertEqual(self.report().all_rows[-1]["counts"]["verify_mismatch"], 5)

        # --resume (without --verify, the runbook's next step) acts again on the 5 keys a proof showed
        # still there, and only on them: the report's mismatches are not "done" (the trial: exit 0 "every
        # hash done" with 5 live keys in the report). Each ghost fault was for one DELETE: these apply.
        before = mock.stats(hashes=True)
        res = self.run_keyrevoke(mock, "--resume", inp)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        after = mock.stats(hashes=True)
        self.assertEqual(after["api_requests"] - before["api_requests"], 5 + preflight_requests(before))
        self.assertEqual(after["keys"]["deleted"], 100)
        final = {}
        for r in self.report().rows:
            if r.get("hash"):
                final[r["hash"]] = r["outcome"]  # the last row of each hash
        self.assertEqual({final[h] for h in ghosts}, {"deleted"})

    def test_resume_with_verify_checks_only_what_is_unproven(self):
        mock = self.mock(keys=300)
        inp = self.write_lines("in.txt", mock.hashes())
        res = self.run_keyrevoke(mock, inp)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        after_delete = mock.stats()
        self.assertEqual(after_delete["keys"]["deleted"], 300)

        # The proof afterwards: GETs only, no DELETE sent again.
        res = self.run_keyrevoke(mock, "--resume", "--verify", inp)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        stats = mock.stats()
        # + the preflight: its listing is empty (every key was deleted), read three times
        self.assertEqual(stats["api_requests"] - after_delete["api_requests"], 300 + EMPTY_PREFLIGHT_REQUESTS)
        self.assertEqual(status_count(stats, 404) - status_count(after_delete, 404), 300)
        self.assertEqual(stats.get("not_found_after_delete", 0), 0)  # no DELETE repeated
        proofs = self.report().typed("verify")
        self.assertEqual(len(proofs), 300)
        self.assertEqual({r["proof"] for r in proofs}, {"verified"})

        # Everything is proven now: a third run sends nothing at all.
        res = self.run_keyrevoke(mock, "--resume", "--verify", inp)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        self.assertEqual(mock.stats()["api_requests"], stats["api_requests"])
        self.assertIn("300 already done", res.stderr.decode())


class ProtectTest(KeyrevokeTest):
    def test_protected_hashes_are_reported_and_never_sent(self):
        mock = self.mock(keys=200)
        hashes = mock.hashes()
        protected = hashes[:15]
        prot = self.write_lines("protect.txt", ["# production keys: never revoke", ""] +
                                [h.upper() for h in protected[:5]] + protected[5:])
        inp = self.write_lines("in.txt", hashes[:100])
        res = self.run_keyrevoke(mock, "--protect", prot, inp)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        outcomes = self.report().outcomes()
        self.assertEqual(len(outcomes), 100)
        self.assertEqual({h for h, o in outcomes.items() if o == "protected"}, set(protected))
        self.assertEqual({h for h, o in outcomes.items() if o == "deleted"}, set(hashes[15:100]))
        stats = mock.stats()
        # The DELETEs, GET /key (not exposed here: the server's route 404) and the preflight's GET /keys.
        self.assertEqual(stats["api_requests"], 85 + 1 + PREFLIGHT_REQUESTS)
        self.assertEqual(status_count(stats, 200), 85 + PREFLIGHT_REQUESTS)
        keys = all_keys(mock)
        for h in protected:
            self.assertIn(h, keys)
        self.assertIn("15 protected", res.stderr.decode())
        header = self.report().all_rows[0]
        self.assertEqual(header["protect"], prot)

    def test_protect_globs_match_names_and_labels_from_one_listing(self):
        mock = self.mock(keys=600)
        keys = all_keys(mock)
        listed = mock.stats()["api_requests"]
        prod = {h for h, k in keys.items() if k["label"].startswith("prod-")}
        named = {h for h, k in keys.items()
                 if fnmatch.fnmatchcase(k["name"], "key-0000[0-9]7") or k["name"] == "key-000042"}
        self.assertEqual(len(named), 11)
        self.assertGreater(len(prod), 20)
        protected = prod | named
        prot = self.write_lines("protect.txt", ["# never revoke production", "label:prod-*", "key-0000[0-9]7",
                                                "name:key-000042"])
        inp = self.write_lines("in.txt", sorted(keys))
        res = self.run_keyrevoke(mock, "--protect", prot, inp)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        self.assertIn("%d of 600 keys match" % len(protected), res.stderr.decode())
        outcomes = self.report().outcomes()
        self.assertEqual({h for h, o in outcomes.items() if o == "protected"}, protected)
        self.assertEqual({h for h, o in outcomes.items() if o == "deleted"}, set(keys) - protected)
        stats = mock.stats()
        self.assertEqual(stats["keys"]["remaining"], len(protected))
        # The listing: 600 keys in pages of 100 overlapping by one (7), then the empty page past the end
        # and the page that proves it (list_pager rule E), the end read again, and the run's preflight (one page)
        self.assertEqual(stats["list_requests"] - listed, 7 + 2 + LIST_END_CONFIRMATIONS + 1)
        self.assertEqual(set(all_keys(mock)), protected)

        # --plan resolves the same globs (it needs the key for that), and --confirm agrees with it.
        res = subprocess.run(self.keyrevoke_cmd(mock, "--plan", "--protect", prot, inp), env=keyrevoke_env(),
                             capture_output=True, timeout=60)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        self.assertEqual(json.loads(res.stdout)["counts"]["protected"], len(protected))
        res = subprocess.run(self.keyrevoke_cmd(mock, "--plan", "--protect", prot, inp),
                             env=keyrevoke_env(with_key=False), capture_output=True, timeout=60)
        self.assertEqual(res.returncode, 2)
        self.assertIn("needs the key", res.stderr.decode())

    def test_protect_keeps_the_management_key_itself(self):
        own = hashlib.sha256(MANAGEMENT_KEY.encode()).hexdigest()
        args = ["--expose-key-hash", "--management-key-listed"]
        mock = self.mock(keys=100, args=args)
        others = mock.hashes()[:50]
        inp = self.write_lines("in.txt", others[:25] + [own] + others[25:])
        prot = self.write_lines("protect.txt", ["# nothing but the management key itself"])
        res = self.run_keyrevoke(mock, "--protect", prot, "--concurrency", "1", inp)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        outcomes = self.report().outcomes()
        self.assertEqual(outcomes[own], "protected")
        self.assertEqual({outcomes[h] for h in others}, {"deleted"})
        stats = mock.stats()
        self.assertFalse(stats["management_key_revoked"])
        self.assertEqual(stats["keys"]["deleted"], 50)

        # Without --protect the same list revokes the key mid-run, and the rest is refused (exit 3).
        mock2 = self.mock(keys=100, args=args, name="unprotected")
        res = self.run_keyrevoke(mock2, "--concurrency", "1", inp, report="unprotected.jsonl")
        self.assertEqual(res.returncode, 3, res.stderr.decode())
        self.assertTrue(mock2.stats()["management_key_revoked"])

    def test_a_hung_key_endpoint_only_delays_the_run(self):
        # GET /key never answers: the own-key check gives up (bounded) with a warning, and the run goes on.
        hashes = random_hashes(5)
        server = ScriptedServer({"key": lambda server, conn, attempt: True})  # read, never answered
        self.addCleanup(server.stop)
        prot = self.write_lines("protect.txt", [hashes[0]])
        inp = self.write_lines("in.txt", hashes)
        res = self.run_keyrevoke(server.origin, "--protect", prot, "--timeout", "1", inp, timeout=60)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        self.assertIn("could not check the management key's own hash", res.stderr.decode())
        outcomes = self.report().outcomes()
        self.assertEqual(outcomes[hashes[0]], "protected")
        self.assertEqual({outcomes[h] for h in hashes[1:]}, {"deleted"})
        self.assertEqual(server.deleted, set(hashes[1:]))

    def test_a_missing_or_key_bearing_protect_file_stops_before_sending(self):
        mock = self.mock(keys=20)
        inp = self.write_lines("in.txt", mock.hashes())
        res = self.run_keyrevoke(mock, "--protect", self.path("nope.txt"), inp)
        self.assertEqual(res.returncode, 2)
        self.assertIn("nope.txt", res.stderr.decode())
        prot = self.write_lines("bad-glob.txt", ["label:ci-["])
        res = self.run_keyrevoke(mock, "--protect", prot, inp)
        self.assertEqual(res.returncode, 2)
        self.assertIn("line 1: not a hash or a valid glob", res.stderr.decode())
        prot = self.write_lines("protect.txt", [MANAGEMENT_KEY])
        res = self.run_keyrevoke(mock, "--protect", prot, inp)
        self.assertEqual(res.returncode, 2)
        self.assertIn("looks like an API key", res.stderr.decode())
        self.assertNotIn(MANAGEMENT_KEY, res.stderr.decode())
        self.assertEqual(mock.stats()["api_requests"], 0)
        self.assertFalse(os.path.exists(self.path("report.jsonl")))


class PlanTest(KeyrevokeTest):
    def plan(self, mock, *args):
        res = subprocess.run(self.keyrevoke_cmd(mock, "--plan", *args), env=keyrevoke_env(with_key=False),
                             capture_output=True, timeout=60)
        return res, (json.loads(res.stdout) if res.stdout else None)

    def test_plan_then_confirm_runs_exactly_the_reviewed_set(self):
        mock = self.mock(keys=400)
        hashes = mock.hashes()
        inp = self.write_lines("in.txt", hashes[:300] + hashes[:10] + ["not-a-hash"])
        prot = self.write_lines("protect.txt", hashes[:5])
        res, plan = self.plan(mock, "--protect", prot, inp)
        self.assertEqual(res.returncode, 1, res.stderr.decode())  # the invalid line
        self.assertEqual(plan["action"], "delete")
        self.assertEqual(plan["counts"]["selected"], 295)
        self.assertEqual(plan["counts"]["protected"], 5)
        self.assertEqual(plan["counts"]["duplicates"], 10)
        self.assertEqual(plan["counts"]["invalid"], 1)
        with open(inp, "rb") as f:
            self.assertEqual(plan["inputs"][0]["sha256"], hashlib.sha256(f.read()).hexdigest())
        # The digest is recomputable from its documented construction.
        text = "keyrevoke-plan-v2\naction=delete\nbase_url=https://127.0.0.1:%d/api/v1\n" % mock.port
        text += "".join(h + "\n" for h in sorted(hashes[5:300]))
        self.assertEqual(plan["digest"], "sha256:" + hashlib.sha256(text.encode()).hexdigest())
        self.assertIn("--confirm " + plan["digest"], res.stderr.decode())
        self.assertEqual(mock.stats()["api_requests"], 0)  # a plan sends nothing

        # A different selection (another action, a changed file, no --protect) is refused, nothing sent.
        for args in (["--disable", "--protect", prot, inp], ["--protect", prot, "--shard", "1/2", inp], [inp]):
            res = self.run_keyrevoke(mock, "--confirm", plan["digest"], *args)
            self.assertEqual(res.returncode, 2, args)
            self.assertIn("does not match the confirmed plan", res.stderr.decode())
        changed = self.write_lines("changed.txt", hashes[:301] + ["not-a-hash"])
        res = self.run_keyrevoke(mock, "--confirm", plan["digest"], "--protect", prot, changed)
        self.assertEqual(res.returncode, 2)
        with open(inp, "rb") as f:
            res = self.run_keyrevoke(mock, "--confirm", plan["digest"], "--protect", prot, "-", input=f.read())
        self.assertEqual(res.returncode, 2)
        self.assertIn("not on stdin", res.stderr.decode())
        self.assertEqual(mock.stats()["api_requests"], 0)
        self.assertFalse(os.path.exists(self.path("report.jsonl")))

        res = self.run_keyrevoke(mock, "--confirm", plan["digest"].split(":")[1], "--protect", prot, inp)
        self.assertEqual(res.returncode, 1, res.stderr.decode())  # the invalid line, as planned
        outcomes = self.report().outcomes()
        self.assertEqual({h for h, o in outcomes.items() if o == "deleted"}, set(hashes[5:300]))
        self.assertEqual(self.report().all_rows[0]["plan_digest"], plan["digest"])
        stats = mock.stats()
        self.assertEqual(stats["keys"]["deleted"], 295)
        self.assertEqual(stats["api_requests"], 295 + 1 + PREFLIGHT_REQUESTS)  # + GET /key (with --protect), + the preflight
        self.assertEqual(status_count(stats, 200), 295 + PREFLIGHT_REQUESTS)

    def test_bad_plan_options_are_usage_errors(self):
        mock = self.mock(keys=5)
        inp = self.write_lines("in.txt", mock.hashes())
        for args in (["--confirm", "sha256:1234", inp], ["--confirm", "x" * 64, inp], ["--plan", "--confirm", "0" * 64, inp],
                     ["--shard", "0/2", inp], ["--shard", "3/2", inp], ["--shard", "1-2", inp]):
            res = self.run_keyrevoke(mock, *args)
            self.assertEqual(res.returncode, 2, args)
        self.assertEqual(mock.stats()["api_requests"], 0)


class AuditTest(KeyrevokeTest):
    def test_header_row_records_who_what_where_and_never_the_key(self):
        mock = self.mock(keys=100)
        inp = self.write_lines("in.txt", mock.hashes()[:60])
        res = self.run_keyrevoke(mock, "--verify", "--concurrency", "4", "--rate", "500", inp,
                                 env={"USER": "responder-7"})
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        report = self.report()
        self.assertNotIn(MANAGEMENT_KEY.encode(), report.data)
        self.assertNotIn(MANAGEMENT_KEY[-16:].encode(), report.data)
        rows = report.all_rows
        header = rows[0]
        self.assertEqual(header["type"], "header")
        self.assertEqual(header["tool"], "keyrevoke")
        self.assertRegex(header["version"], r"^\d+\.\d+\.\d+")
        self.assertRegex(header["started_at"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(header["operator"], "responder-7")
        self.assertEqual(header["action"], "delete")
        self.assertEqual(header["host"], "127.0.0.1:%d" % mock.port)
        with open(inp, "rb") as f:
            self.assertEqual(header["inputs"], [{"name": inp, "sha256": hashlib.sha256(f.read()).hexdigest()}])
        self.assertEqual(header["options"]["concurrency"], 4)
        self.assertEqual(header["options"]["rate"], 500)
        self.assertTrue(header["options"]["verify"])
        summary = rows[-1]
        self.assertEqual(summary["type"], "summary")
        self.assertEqual(summary["counts"]["deleted"], 60)
        self.assertEqual(summary["counts"]["verified"], 60)
        self.assertEqual(summary["exit_code"], 0)

        # stdin has no fingerprint; a resumed run appends its own header (its hashes are all done: no
        # request, and not an empty input).
        res = self.run_keyrevoke(mock, "--resume", "-", input="".join(h + "\n" for h in mock.hashes()[:60]).encode())
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        headers = self.report().typed("header")
        self.assertEqual(len(headers), 2)
        self.assertEqual(headers[1]["inputs"], [{"name": "-", "sha256": None}])
        self.assertTrue(headers[1]["options"]["resume"])


class ShardTest(KeyrevokeTest):
    def test_shards_split_one_list_exactly_and_share_the_server(self):
        mock = self.mock(keys=3000, args=["--rate", "600", "--burst", "30"])
        hashes = mock.hashes()
        inp = self.write_lines("in.txt", hashes + ["bad line"])
        env = keyrevoke_env()
        procs = []
        for k in (1, 2, 3):
            cmd = self.keyrevoke_cmd(mock, "--shard", "%d/3" % k, inp, report="shard%d.jsonl" % k)
            procs.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
        errs = [p.communicate(timeout=120)[1].decode() for p in procs]
        shares = []
        for k, p in enumerate(procs, 1):
            self.assertEqual(p.returncode, 1, errs[k - 1])  # every shard reports the bad line
            outcomes = self.report("shard%d.jsonl" % k).outcomes()
            mine = {h for h, o in outcomes.items() if h is not None and o != "invalid"}
            self.assertEqual({outcomes[h] for h in mine}, {"deleted"})
            shares.append(mine)
            self.assertEqual(self.report("shard%d.jsonl" % k).all_rows[0]["shard"], "%d/3" % k)
            self.assertIn("left to other shards", errs[k - 1])
        self.assertEqual(set().union(*shares), set(hashes))
        self.assertEqual(sum(len(s) for s in shares), 3000)  # disjoint
        for s in shares:
            self.assertGreater(len(s), 800)
        stats = mock.stats(hashes=True)
        self.assertEqual(stats["keys"]["remaining"], 0)
        self.assertEqual(repeated_hashes(stats), set())
        # Three adaptive controllers against one limit: few 429s in total.
        self.assertLess(status_count(stats, 429), 0.1 * 3000)

        # The same split from the plan's point of view: the shards' selections partition the list.
        selected = 0
        for k in (1, 2, 3):
            res = subprocess.run(self.keyrevoke_cmd(mock, "--plan", "--shard", "%d/3" % k, inp),
                                 env=keyrevoke_env(with_key=False), capture_output=True, timeout=60)
            selected += json.loads(res.stdout)["counts"]["selected"]
        self.assertEqual(selected, 3000)


if __name__ == "__main__":
    unittest.main()
