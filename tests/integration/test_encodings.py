"""Input encodings (issue 10, item 10): the same hash list saved as UTF-8, UTF-8 with a BOM, UTF-16LE
with a BOM and CRLF (PowerShell's `Out-File`), and UTF-16BE with a BOM gives the same report, the
same counts and the same store in the mock, from a file and from stdin; --dry-run and --plan read
it the same. UTF-16 without a BOM in a file is refused before anything is sent."""

import json
import subprocess
import unittest

from harness import KeyrevokeTest, keyrevoke_env, method_counts

ENCODINGS = {
    "utf-8": lambda text: text.encode("utf-8"),
    "utf-8 with BOM": lambda text: b"\xef\xbb\xbf" + text.encode("utf-8"),
    "utf-16le with BOM, CRLF": lambda text: b"\xff\xfe" + text.replace("\n", "\r\n").encode("utf-16-le"),
    "utf-16be with BOM": lambda text: b"\xfe\xff" + text.encode("utf-16-be"),
}


class EncodingsTest(KeyrevokeTest):
    KEYS = 200

    def list_text(self, hashes):
        """The 200 hashes, plus what a hand-kept list holds: a comment, a blank line, a duplicate, an
        upper-case hash, a line that is not a hash, and a non-ASCII line."""
        lines = ["# keys to revoke", ""] + hashes[:100] + [hashes[5], "not-a-hash", "clé-à-révoquer"]
        lines += [hashes[100].upper()] + hashes[101:]
        return "\n".join(lines) + "\n"

    def write_bytes(self, name, data):
        path = self.path(name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def outcome_of(self, report_name):
        """What a report says, without what may differ between two runs (times, latencies)."""
        hashes, invalid = {}, []
        for row in self.report(report_name).rows:
            if row.get("hash") is not None:
                hashes[row["hash"]] = row["outcome"]
            else:
                invalid.append({k: v for k, v in row.items() if k in ("line", "outcome", "input", "error")})
        summary = self.report(report_name).typed("summary")
        self.assertEqual(len(summary), 1)
        return hashes, invalid, (summary[0]["exit_code"], summary[0]["counts"])

    def run_variant(self, encoding, data, via_stdin):
        mock = self.mock(keys=self.KEYS)
        report = "report-%s-%s.jsonl" % (encoding.replace(" ", "_").replace(",", ""), "stdin" if via_stdin else "file")
        if via_stdin:
            res = self.run_keyrevoke(mock, report=report, input=data, timeout=120)
        else:
            res = self.run_keyrevoke(mock, self.write_bytes(report + ".txt", data), report=report, timeout=120)
        stats = mock.stats()
        mock.stop()
        return res, self.outcome_of(report), stats

    def test_every_encoding_gives_the_same_report_and_store(self):
        probe = self.mock(keys=self.KEYS)
        hashes = probe.hashes()
        probe.stop()
        text = self.list_text(hashes)
        baseline = None
        for encoding, encode in ENCODINGS.items():
            for via_stdin in (False, True):
                with self.subTest(encoding=encoding, stdin=via_stdin):
                    res, outcome, stats = self.run_variant(encoding, encode(text), via_stdin)
                    err = res.stderr.decode("utf-8", "replace")
                    self.assertEqual(res.returncode, 1, err)  # the two invalid lines, nothing else
                    self.assertNotIn("NUL", err)
                    hashes_out, invalid, counts = outcome
                    self.assertEqual(set(hashes_out), set(hashes))
                    self.assertEqual(set(hashes_out.values()), {"deleted"})
                    self.assertEqual([r.get("error") for r in invalid], ["not a 64-hex-digit hash"] * 2)
                    self.assertEqual([r.get("line") for r in invalid], [104, 105])
                    self.assertEqual(counts[1]["duplicates"], 1)
                    self.assertEqual(counts[1]["deleted"], self.KEYS)
                    # The mock's own record: every key deleted once, one DELETE per hash.
                    self.assertEqual(stats["keys"]["deleted"], self.KEYS)
                    self.assertEqual(method_counts(stats, "DELETE")["requests"], self.KEYS)
                    self.assertEqual(stats["hashes_requested_more_than_once"], 0)
                    if baseline is None:
                        baseline = (res.returncode, outcome)
                    else:
                        self.assertEqual(res.returncode, baseline[0])
                        self.assertEqual(hashes_out, baseline[1][0])
                        self.assertEqual(invalid, baseline[1][1])
                        self.assertEqual(counts, baseline[1][2])

    def test_dry_run_and_plan_read_utf16_the_same(self):
        probe = self.mock(keys=self.KEYS)
        hashes = probe.hashes()
        text = self.list_text(hashes)
        dry, plans = {}, {}
        for encoding, encode in ENCODINGS.items():
            with self.subTest(encoding=encoding):
                path = self.write_bytes("list-%d.txt" % len(dry), encode(text))
                res = self.run_keyrevoke(probe, "--dry-run", path, timeout=60)
                self.assertEqual(res.returncode, 1, res.stderr)
                dry[encoding] = res.stdout.decode()
                res = self.run_keyrevoke(probe, "--plan", path, timeout=60)
                self.assertEqual(res.returncode, 1, res.stderr)
                plan = json.loads(res.stdout.decode().strip().splitlines()[-1])
                plans[encoding] = (plan.get("digest"), plan.get("counts", {k: v for k, v in plan.items()
                                                                            if isinstance(v, int)}))
                self.assertIsNotNone(plans[encoding][0])
        self.assertEqual(len(set(dry.values())), 1, dry)
        self.assertIn("200 valid hashes, 1 duplicates, 2 invalid lines", dry["utf-8"])
        self.assertEqual(len(set(json.dumps(p, sort_keys=True) for p in plans.values())), 1, plans)
        self.assertEqual(method_counts(probe.stats(), "DELETE")["requests"], 0)
        # A plan made from the UTF-8 list confirms the UTF-16 one: the same selection.
        digest = plans["utf-8"][0]
        path = self.write_bytes("confirm.txt", ENCODINGS["utf-16le with BOM, CRLF"](text))
        res = self.run_keyrevoke(probe, "--confirm", digest, path, timeout=120)
        self.assertEqual(res.returncode, 1, res.stderr)
        stats = probe.stats()
        self.assertEqual(stats["keys"]["deleted"], self.KEYS)
        self.assertEqual(method_counts(stats, "DELETE")["requests"], self.KEYS)

    def test_utf16_without_bom_in_a_file_is_refused_before_sending(self):
        mock = self.mock(keys=self.KEYS)
        hashes = mock.hashes()
        for name, data in [("le", "\r\n".join(hashes).encode("utf-16-le")),
                           ("be", "\n".join(hashes).encode("utf-16-be"))]:
            with self.subTest(name):
                path = self.write_bytes("nobom-%s.txt" % name, data)
                res = self.run_keyrevoke(mock, path, report="nobom-%s.jsonl" % name, timeout=60)
                self.assertEqual(res.returncode, 2, res.stderr)
                self.assertIn(b"looks like UTF-16 without a byte-order mark; save it as UTF-8", res.stderr)
                # stdin redirected from the file is a file too.
                with open(path, "rb") as f:
                    res = subprocess.run(self.keyrevoke_cmd(mock, report="nobom-%s-stdin.jsonl" % name),
                                         stdin=f, env=keyrevoke_env(), capture_output=True, timeout=60)
                self.assertEqual(res.returncode, 2, res.stderr)
                self.assertIn(b"UTF-16", res.stderr)
                res = self.run_keyrevoke(mock, "--dry-run", path, timeout=60)
                self.assertEqual(res.returncode, 2, res.stderr)
        stats = mock.stats()
        self.assertEqual(method_counts(stats, "DELETE")["requests"], 0)
        self.assertEqual(stats["keys"]["deleted"], 0)

    def test_utf16_without_bom_on_a_pipe_is_invalid_lines_and_nothing_sent(self):
        # A pipe cannot be peeked before the run starts: each line is reported invalid instead.
        mock = self.mock(keys=self.KEYS)
        hashes = mock.hashes()[:20]
        res = self.run_keyrevoke(mock, input="\r\n".join(hashes).encode("utf-16-le"), timeout=60)
        self.assertEqual(res.returncode, 1, res.stderr)
        rows = self.report().rows
        self.assertEqual(len(rows), 20)
        self.assertTrue(all(r.get("hash") is None for r in rows), rows[:2])
        stats = mock.stats()
        self.assertEqual(method_counts(stats, "DELETE")["requests"], 0)
        self.assertEqual(stats["keys"]["deleted"], 0)

    def test_broken_utf16_lines_are_invalid_with_a_reason(self):
        mock = self.mock(keys=self.KEYS)
        hashes = mock.hashes()[:3]
        lone_high = "\ud83d".encode("utf-16-le", "surrogatepass")
        data = (b"\xff\xfe" + (hashes[0] + "\r\n").encode("utf-16-le") + hashes[1][:10].encode("utf-16-le") +
                lone_high + "\r\n".encode("utf-16-le") + (hashes[2] + "\r\n").encode("utf-16-le") + b"x")
        res = self.run_keyrevoke(mock, self.write_bytes("broken.txt", data), timeout=60)
        self.assertEqual(res.returncode, 1, res.stderr)
        outcomes = self.report().outcomes()
        self.assertEqual(outcomes, {hashes[0]: "deleted", hashes[2]: "deleted"})
        reasons = [r.get("error") for r in self.report().rows if r.get("hash") is None]
        self.assertEqual(reasons, ["invalid UTF-16: an unpaired surrogate",
                                   "invalid UTF-16: the input ends with an odd byte"])
        self.assertEqual(mock.stats()["keys"]["deleted"], 2)


if __name__ == "__main__":
    unittest.main()
