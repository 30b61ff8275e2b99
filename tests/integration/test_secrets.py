"""The management key never appears in stdout, stderr, the report, or the process's command line, on
the happy path (env or --key-file), on error paths (mistyped options, a rejected key) or when a server
echoes it back. Positive controls prove each search would have found it."""

import os
import subprocess
import time
import unittest

from harness import (KEYREVOKE, MANAGEMENT_KEY, KeyrevokeProcesses, KeyrevokeTest, ScriptedServer, keyrevoke_env,
                     random_hashes)

SECRET_PART = MANAGEMENT_KEY[len("sk-mg-v1-test-"):]  # the 48 random hex digits


def leaks(blob):
    """Whether blob (bytes) holds the key or any 12 consecutive characters of its random part."""
    if isinstance(blob, str):
        blob = blob.encode("utf-8", "replace")
    if MANAGEMENT_KEY.encode() in blob:
        return True
    return any(SECRET_PART[i:i + 12].encode() in blob for i in range(len(SECRET_PART) - 11))


class SecretsTest(KeyrevokeProcesses, KeyrevokeTest):
    def assert_no_leak(self, what, blob):
        self.assertFalse(leaks(blob), "the management key leaked into %s" % what)

    def assert_outputs_clean(self, out, err, report="report.jsonl"):
        where = []
        if leaks(out):
            where.append("stdout")
        if leaks(err):
            where.append("stderr")
        if os.path.exists(self.path(report)):
            if leaks(self.report(report, torn_ok=True).data):
                where.append("the report")
        if any(leaks(name) for name in os.listdir(self.dir)):
            where.append("a file name")
        self.assertEqual(where, [], "the management key leaked into: %s" % ", ".join(where))

    def watch_process(self, proc):
        """Reads /proc/<pid>/{cmdline,environ} and the open files until the process ends."""
        seen = {"cmdline": b"", "environ": b"", "fds": [], "fd_samples": [], "samples": 0}
        while proc.poll() is None:
            try:
                with open("/proc/%d/cmdline" % proc.pid, "rb") as f:
                    seen["cmdline"] += f.read() + b"\n"
                with open("/proc/%d/environ" % proc.pid, "rb") as f:
                    seen["environ"] += f.read() + b"\n"
                fd_dir = "/proc/%d/fd" % proc.pid
                sample = []
                for fd in os.listdir(fd_dir):
                    try:
                        sample.append(os.readlink(os.path.join(fd_dir, fd)))
                    except OSError:
                        pass
                seen["fds"] += sample
                seen["fd_samples"].append(sample)
                seen["samples"] += 1
            except OSError:  # the process is exiting (a zombie's /proc entries go away or deny access)
                break
            time.sleep(0.05)
        return seen

    def test_key_from_env_is_not_in_outputs_or_cmdline(self):
        mock = self.mock(keys=1500)
        inp = self.write_lines("in.txt", mock.hashes())
        proc = self.start_keyrevoke(mock, "--rate", "600", inp)
        seen = self.watch_process(proc)
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, err.decode())
        self.assertGreater(seen["samples"], 10)
        self.assert_no_leak("/proc/<pid>/cmdline", seen["cmdline"])
        self.assertIn(MANAGEMENT_KEY.encode(), seen["environ"])  # control: the search works
        self.assert_outputs_clean(out, err)
        self.assertEqual(mock.stats()["keys"]["remaining"], 0)  # and the key did work

    def test_key_file_is_not_in_outputs_cmdline_or_environ_and_is_closed(self):
        mock = self.mock(keys=1500)
        key_file = self.path("management.key")
        with open(key_file, "w") as f:
            f.write("  %s \r\nsecond line ignored\n" % MANAGEMENT_KEY)
        inp = self.write_lines("in.txt", mock.hashes())
        proc = self.start_keyrevoke(mock, "--key-file", key_file, "--rate", "600", inp, with_key=False)
        seen = self.watch_process(proc)
        out, err = proc.communicate(timeout=60)
        self.assertEqual(proc.returncode, 0, err.decode())
        self.assertGreater(seen["samples"], 10)
        self.assert_no_leak("/proc/<pid>/cmdline", seen["cmdline"])
        self.assert_no_leak("/proc/<pid>/environ", seen["environ"])
        self.assertIn(key_file.encode(), seen["cmdline"])  # control: the path, not the key
        # While the run is under way (the report is open, so the key was read long before), the key
        # file is not open. A sample taken during start-up may catch the moment it is being read.
        running = [fds for fds in seen["fd_samples"] if self.path("report.jsonl") in fds]
        self.assertGreater(len(running), 5)
        self.assertEqual([fds for fds in running if key_file in fds], [], "the key file stays open during the run")
        self.assert_outputs_clean(out, err)
        self.assertEqual(mock.stats()["keys"]["remaining"], 0)

    def test_key_given_on_the_command_line_by_mistake_is_never_echoed(self):
        mock = self.mock(keys=10)
        inp = self.write_lines("in.txt", mock.hashes())
        k = MANAGEMENT_KEY
        cases = {
            "--key=KEY": ["--key=" + k], "--key KEY": ["--key", k], "-k KEY": ["-k", k],
            "--management-key=KEY": ["--management-key=" + k], "--token KEY": ["--token", k],
            "-H 'Authorization: Bearer KEY'": ["-H", "Authorization: Bearer " + k],
            "--key-file KEY": ["--key-file", k], "KEY as an input file": [k],
            "--concurrency=KEY": ["--concurrency=" + k], "--rate KEY": ["--rate", k],
            "--timeout=KEY": ["--timeout=" + k], "--max-attempts KEY": ["--max-attempts", k],
            "--give-up-after=KEY": ["--give-up-after=" + k], "--progress=KEY": ["--progress=" + k],
            "--resume=KEY": ["--resume=" + k],
        }
        for name, args in cases.items():
            with self.subTest(name):
                res = self.run_keyrevoke(mock, *(args + [inp]), report="r.jsonl", timeout=30)
                self.assertEqual(res.returncode, 2, res.stderr.decode())
                self.assertNotEqual(res.stderr, b"")
                self.assert_outputs_clean(res.stdout, res.stderr, report="r.jsonl")
        # Options the harness already passes: a bare command line (loopback port 1: nothing listens).
        bare = {"--base-url KEY": ["--base-url", k],
                "--cacert KEY": ["--base-url", "https://127.0.0.1:1/api/v1", "--cacert", k]}
        for name, args in bare.items():
            with self.subTest(name):
                env = dict(os.environ, MODELGATES_MANAGEMENT_KEY="x")
                res = subprocess.run([KEYREVOKE, "--report", self.path("r.jsonl")] + args + [inp],
                                     env=env, capture_output=True, timeout=30)
                self.assertEqual(res.returncode, 2, res.stderr.decode())
                self.assert_outputs_clean(res.stdout, res.stderr, report="r.jsonl")
        self.assertEqual(mock.stats()["api_requests"], 0)

    def test_a_key_of_any_shape_pasted_as_a_file_name_is_never_echoed(self):
        # The trial's case: a key that does not look like one (dots, no "sk-"), given where a file name
        # goes, was printed whole ("cannot open input file '<key>'").
        key = "mg.trial.4f2a9c0b7e"
        mock = self.mock(keys=5, env={"MODELGATES_MANAGEMENT_KEY": key})
        inp = self.write_lines("in.txt", mock.hashes())
        cases = {"KEY as an input file": [key], "--key-file KEY": ["--key-file", key],
                 "--cacert KEY": ["--cacert", key, inp], "--protect KEY": ["--protect", key, inp]}
        for name, args in cases.items():
            with self.subTest(name):
                res = subprocess.run(self.keyrevoke_cmd(mock, *args, report="r.jsonl"),
                                     env=dict(keyrevoke_env(), MODELGATES_MANAGEMENT_KEY=key),
                                     capture_output=True, timeout=30)
                self.assertEqual(res.returncode, 2, res.stderr.decode())
                self.assertNotEqual(res.stderr, b"")
                self.assertNotIn(key.encode(), res.stdout + res.stderr)
        self.assertEqual(mock.stats()["api_requests"], 0)

    def test_key_file_with_a_bom_works_and_a_bearer_prefix_is_named(self):
        mock = self.mock(keys=5)
        hashes = mock.hashes()
        inp = self.write_lines("in.txt", hashes)
        bom = self.path("key-bom")
        with open(bom, "wb") as f:
            f.write(b"\xef\xbb\xbf" + MANAGEMENT_KEY.encode() + b"\r\n")  # Notepad's UTF-8
        res = subprocess.run(self.keyrevoke_cmd(mock, "--key-file", bom, inp), env=keyrevoke_env(with_key=False),
                             capture_output=True, timeout=60)
        self.assertEqual(res.returncode, 0, res.stderr.decode())
        self.assertEqual(mock.stats()["keys"]["deleted"], len(hashes))
        bearer = self.write_lines("key-bearer", ["Bearer " + MANAGEMENT_KEY])
        res = subprocess.run(self.keyrevoke_cmd(mock, "--key-file", bearer, inp, report="r2.jsonl"),
                             env=keyrevoke_env(with_key=False), capture_output=True, timeout=60)
        self.assertEqual(res.returncode, 2, res.stderr.decode())
        self.assertIn("starts with 'Bearer '", res.stderr.decode())
        self.assert_outputs_clean(res.stdout, res.stderr, report="r2.jsonl")

    def test_rejected_key_401_abort_does_not_echo_it(self):
        mock = self.mock(keys=200, env={"MODELGATES_MANAGEMENT_KEY": "the-server-wants-another-key"})
        inp = self.write_lines("in.txt", mock.hashes())
        res = self.run_keyrevoke(mock, inp, timeout=60)
        self.assertEqual(res.returncode, 3, res.stderr.decode())
        self.assertIn(b"rejected", res.stderr)
        self.assertGreaterEqual(mock.stats()["auth_failures"], 1)
        self.assert_outputs_clean(res.stdout, res.stderr)

    def test_server_echoing_the_key_back_does_not_put_it_in_the_report(self):
        # Servers and proxies do echo credentials ("Invalid key: Bearer sk-..."): the report is shared
        # with an incident team, so what the server says must not carry the key into it.
        def echo(status):
            def answer(server, conn, attempt):
                said = conn.headers.get("authorization", "")
                body = ('{"error":{"code":%d,"message":"Invalid request for %s"}}' % (status, said)).encode()
                return conn.send_response(status, body)
            return answer

        h400, h500, h401 = random_hashes(3)
        server = ScriptedServer({h400: echo(400), h500: echo(500), h401: echo(401)})
        self.addCleanup(server.stop)
        inp = self.write_lines("in.txt", [h400, h500, h401])
        res = self.run_keyrevoke(server.origin, "--concurrency", "1", "--max-attempts", "2", inp, timeout=60)
        self.assertEqual(res.returncode, 3, res.stderr.decode())
        self.assertIn("Bearer " + MANAGEMENT_KEY, server.authorizations)  # control: the key was sent
        self.assert_outputs_clean(res.stdout, res.stderr)

    def test_echoing_server_in_the_incident_modes(self):
        # The same echoes to PATCH (--disable), to --protect's GET /key and to --verify's GET.
        def echo(status):
            def answer(server, conn, attempt):
                said = conn.headers.get("authorization", "")
                body = ('{"error":{"code":%d,"message":"%s %s for %s"}}' % (status, conn.method, conn.target, said))
                return conn.send_response(status, body.encode())
            return answer

        def disabled_then_echo(server, conn, attempt):
            if conn.method == "PATCH":
                # The API names the key it answers for (keyrevoke checks it is the one asked for).
                return conn.send_response(200, ('{"data":{"hash":"%s","disabled":true}}' % hverify).encode())
            return echo(500)(server, conn, attempt)

        h400, h500, hverify, h401 = random_hashes(4)
        server = ScriptedServer({h400: echo(400), h500: echo(500), hverify: disabled_then_echo, h401: echo(401),
                                 "key": echo(500)})
        self.addCleanup(server.stop)
        prot = self.write_lines("protect.txt", ["# nothing"])
        inp = self.write_lines("in.txt", [h400, h500, hverify, h401])
        res = self.run_keyrevoke(server.origin, "--disable", "--verify", "--protect", prot, "--concurrency", "1",
                                 "--max-attempts", "2", inp, timeout=120)
        self.assertEqual(res.returncode, 3, res.stderr.decode())
        self.assertIn("Bearer " + MANAGEMENT_KEY, server.authorizations)  # control: the key was sent
        err = res.stderr.decode()
        self.assertIn("could not check the management key's own hash", err)  # the GET /key echo was read
        proofs = self.report().typed("verify")
        self.assertEqual([r["hash"] for r in proofs], [hverify])
        self.assertIn(proofs[0]["proof"], ("failed", "not_attempted"))  # the 401 may stop its retry
        self.assertIn("GET", proofs[0]["error"])  # the echoed text is there, without the key
        self.assert_outputs_clean(res.stdout, res.stderr)


if __name__ == "__main__":
    unittest.main()
