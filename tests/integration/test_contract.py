"""Issue 10, "A contract test against the provider's own description": Stoplight Prism (pinned in
tests/contract/package.json, installed into tests/contract/node_modules by the first run) mocks
tests/contract/modelgates-keys.openapi.yaml with --errors on loopback, so every request that violates the
document is refused and logged. keyrevoke's DELETEs must all be accepted as conforming.

Prism serves the document's paths at its root (it does not prefix the servers' /api/v1), so the base URL
is http://127.0.0.1:PORT."""

import os
import re
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from gateway import CONTRACT_DIR, Prism
from harness import KeyrevokeTest, Origin, random_hashes

SPEC = os.path.join(CONTRACT_DIR, "modelgates-keys.openapi.yaml")


class ContractTest(KeyrevokeTest):
    @classmethod
    def setUpClass(cls):
        cls._prism_dir = tempfile.TemporaryDirectory(prefix="keyrevoke-prism-")
        cls.prism = Prism(cls._prism_dir.name, SPEC)
        cls.prism.start()

    @classmethod
    def tearDownClass(cls):
        cls.prism.stop()
        cls._prism_dir.cleanup()

    def prism_log_since(self, offset):
        return self.prism.log()[offset:]

    def violations(self, log):
        """Prism's own record of each request it refused or found in violation of the document."""
        return [l for l in log.splitlines() if "Violation:" in l or "Request terminated with error" in l]

    def test_every_delete_conforms_to_the_providers_description(self):
        n = 50
        hashes = random_hashes(n)
        inp = self.write_lines("in.txt", hashes)
        mark = len(self.prism.log())
        started = time.monotonic()
        res = self.run_keyrevoke(Origin("http://127.0.0.1:%d" % self.prism.port), "--concurrency", "4", inp,
                                 timeout=120)
        elapsed = time.monotonic() - started
        err = res.stderr.decode(errors="replace")
        log = self.prism_log_since(mark)
        violations = self.violations(log)
        deletes_received = len(re.findall(r"\[HTTP SERVER\] delete /keys/[0-9a-f]{64} .*Request received", log))
        print("\n  prism: %d DELETEs received, %d violations logged, keyrevoke exit %d in %.1f s"
              % (deletes_received, len(violations), res.returncode, elapsed))
        for v in violations[:5]:
            print("   ", v.strip()[:220])
        self.assertGreaterEqual(deletes_received, n, "Prism did not see keyrevoke's DELETEs:\n" + log[-3000:])
        self.assertEqual(len(violations), 0, "%d requests do not conform to the provider's description; the first:\n%s"
                         % (len(violations), violations[0] if violations else ""))
        self.assertEqual(res.returncode, 0, err)
        rows = self.report(torn_ok=True).rows
        self.assertEqual({r["hash"] for r in rows}, set(hashes))
        self.assertEqual({r["outcome"] for r in rows}, {"deleted"})

    def test_prism_refuses_what_the_description_forbids(self):
        """The contract has teeth: a DELETE with a JSON body, and one without a bearer token, are refused."""
        url = "http://127.0.0.1:%d/keys/%s" % (self.prism.port, random_hashes(1)[0])
        cases = [({"Authorization": "Bearer x", "Content-Type": "application/json"}, b"{}", 415),
                 ({}, None, 401),
                 ({"Authorization": "Bearer x"}, None, 200)]
        for headers, body, want in cases:
            with self.subTest(headers=headers, body=body):
                req = urllib.request.Request(url, data=body, headers=headers, method="DELETE")
                try:
                    with urllib.request.urlopen(req, timeout=10) as resp:
                        status = resp.status
                except urllib.error.HTTPError as e:
                    status = e.code
                self.assertEqual(status, want)


if __name__ == "__main__":
    unittest.main()
