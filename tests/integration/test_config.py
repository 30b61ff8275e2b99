"""--config FILE end to end: the file configures a real run against keyrevoke-mock, the command line
wins over it, and a bad file (unknown option, the key in it) stops the run before anything is sent."""

import os
import subprocess
import unittest

from harness import PREFLIGHT_REQUESTS, KEYREVOKE, KeyrevokeTest, MANAGEMENT_KEY, keyrevoke_env, method_counts, status_count


class ConfigFileTest(KeyrevokeTest):
    def run_plain(self, *args, timeout=120):
        """keyrevoke with only `args` (no --base-url, --cacert, --report of the harness): what the config
        file must supply."""
        return subprocess.run([KEYREVOKE] + list(args), env=keyrevoke_env(), capture_output=True,
                              timeout=timeout, cwd=self.dir)

    def test_the_file_configures_the_run_and_the_command_line_wins(self):
        mock = self.mock(keys=300)
        chosen = mock.hashes()[:200]
        inp = self.write_lines("leaked.txt", chosen)
        conf = self.write_lines("incident.conf", [
            "# incident 42: the gateway and its CA",
            "base-url = %s" % mock.base_url,
            "cacert = %s" % mock.ca,
            "report = %s" % self.path("from-config.jsonl"),
            "concurrency = 1",
            "progress = never",
            "verify = true",
        ])
        res = self.run_plain("--config", conf, "--report", self.path("from-command-line.jsonl"),
                             "--concurrency", "4", inp)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        self.assertNotIn(MANAGEMENT_KEY.encode(), res.stdout + res.stderr)
        # The command line's report, not the file's.
        self.assertFalse(os.path.exists(self.path("from-config.jsonl")))
        report = self.report("from-command-line.jsonl")
        self.assertEqual(report.outcomes(), {h: "deleted" for h in chosen})
        options = report.typed("header")[0]["options"]
        self.assertEqual(options["concurrency"], 4)  # the command line's
        self.assertIs(options["verify"], True)  # the file's
        # The file's verify = true held: every deletion was proven with a GET (ground truth).
        stats = mock.stats()
        self.assertEqual(stats["keys"]["deleted"], 200)
        self.assertEqual(method_counts(stats, "DELETE")["requests"], 200)
        self.assertEqual(method_counts(stats, "GET")["requests"], PREFLIGHT_REQUESTS + 200)  # + one proof each
        self.assertEqual({r["hash"] for r in report.typed("verify") if r["proof"] == "verified"}, set(chosen))

    def test_an_unknown_option_in_the_file_sends_nothing(self):
        mock = self.mock(keys=50)
        inp = self.write_lines("leaked.txt", mock.hashes()[:10])
        conf = self.write_lines("bad.conf", ["base-url = %s" % mock.base_url, "cacert = %s" % mock.ca,
                                             "", "concurency = 4"])
        res = self.run_plain("--config", conf, inp)
        self.assertEqual(res.returncode, 2)
        err = res.stderr.decode()
        self.assertIn("config file '%s', line 4: unknown option 'concurency'" % conf, err)
        stats = mock.stats()
        self.assertEqual(stats["keys"]["deleted"], 0)
        self.assertEqual(sum(method_counts(stats, m)["requests"] for m in ("GET", "DELETE", "PATCH")), 0)
        self.assertFalse(any(n.endswith(".jsonl") for n in os.listdir(self.dir)))

    def test_the_key_in_the_file_is_refused_and_never_echoed(self):
        mock = self.mock(keys=50)
        inp = self.write_lines("leaked.txt", mock.hashes()[:10])
        for line in ("key = %s" % MANAGEMENT_KEY, "management-key=%s" % MANAGEMENT_KEY, MANAGEMENT_KEY):
            with self.subTest(line=line.split("=")[0][:16]):
                conf = self.write_lines("key.conf", ["base-url = %s" % mock.base_url, line])
                res = self.run_plain("--config", conf, inp)
                self.assertEqual(res.returncode, 2)
                self.assertIn(("config file '%s', line 2" % conf).encode(), res.stderr)
                self.assertNotIn(MANAGEMENT_KEY.encode(), res.stdout + res.stderr)
                self.assertNotIn(MANAGEMENT_KEY[-24:].encode(), res.stdout + res.stderr)
        stats = mock.stats()
        self.assertEqual(sum(method_counts(stats, m)["requests"] for m in ("GET", "DELETE", "PATCH")), 0)
        self.assertEqual(status_count(stats, 200), 0)

    def test_help_documents_config(self):
        res = subprocess.run([KEYREVOKE, "--help"], capture_output=True, text=True, timeout=30)
        self.assertIn("--config", res.stdout)
        self.assertIn("never the key", res.stdout)


if __name__ == "__main__":
    unittest.main()
