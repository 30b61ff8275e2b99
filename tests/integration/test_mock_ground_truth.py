"""keyrevoke-mock's own ground truth for --verify, --disable/--enable, --protect and `list`, checked
over real HTTPS with the standard library only (no keyrevoke involved): ghost writes, per-hash
PATCH/GET counters, slow list pages, and the management key's own hash."""

import hashlib
import json
import ssl
import time
import unittest
import urllib.error
import urllib.request

from harness import KeyrevokeTest, MANAGEMENT_KEY

MGMT_HASH = hashlib.sha256(MANAGEMENT_KEY.encode()).hexdigest()


class MockGroundTruthTest(KeyrevokeTest):
    def call(self, mock, method, path, body=None, key=MANAGEMENT_KEY):
        """(status, parsed JSON body) of one API request."""
        ctx = ssl.create_default_context(cafile=mock.ca)
        ctx.check_hostname = False
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(mock.base_url + path, data=data, method=method)
        req.add_header("Authorization", "Bearer " + key)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read())

    def listed(self, mock):
        hashes, offset = [], 0
        while True:
            status, page = self.call(mock, "GET", "/keys?include_disabled=true&offset=%d" % offset)
            self.assertEqual(status, 200)
            if not page["data"]:
                return hashes
            hashes += [k["hash"] for k in page["data"]]
            offset += len(page["data"])

    def test_ghost_writes_are_answered_but_not_applied(self):
        probe = self.mock(keys=10)
        hashes = probe.hashes()
        probe.stop()
        faults = self.write_lines("faults.txt", [hashes[0] + " ghost", hashes[1] + " ghost 1"])
        mock = self.mock(keys=10, args=["--fault-file", faults])
        self.assertEqual(self.call(mock, "DELETE", "/keys/" + hashes[0]), (200, {"deleted": True}))
        self.assertEqual(self.call(mock, "GET", "/keys/" + hashes[0])[0], 200)
        self.assertIn(hashes[0], self.listed(mock))
        before = self.call(mock, "GET", "/keys/" + hashes[0])[1]["data"]["disabled"]
        status, body = self.call(mock, "PATCH", "/keys/" + hashes[0], {"disabled": not before})
        self.assertEqual((status, body["data"]["disabled"]), (200, not before))
        self.assertEqual(self.call(mock, "GET", "/keys/" + hashes[0])[1]["data"]["disabled"], before)
        self.assertEqual(self.call(mock, "DELETE", "/keys/" + hashes[1])[0], 200)  # ghost
        self.assertEqual(self.call(mock, "GET", "/keys/" + hashes[1])[0], 200)
        self.assertEqual(self.call(mock, "DELETE", "/keys/" + hashes[1])[0], 200)  # real
        self.assertEqual(self.call(mock, "GET", "/keys/" + hashes[1])[0], 404)
        stats = mock.stats(hashes=True)
        self.assertEqual(stats["ghost_writes"], 3)
        self.assertEqual(stats["keys"]["deleted"], 1)
        self.assertEqual(stats["patch_requests"], 1)
        self.assertEqual(stats["get_key_requests"], 5)
        self.assertGreaterEqual(stats["list_requests"], 1)
        rep = {r["hash"]: r for r in stats["repeated_hashes"]}
        self.assertEqual(set(rep), {hashes[1]})
        self.assertEqual((rep[hashes[1]]["delete_requests"], rep[hashes[1]]["deletes_ok"],
                          rep[hashes[1]]["get_requests"], rep[hashes[1]]["patch_requests"]), (2, 1, 2, 0))

    def test_list_latency_slows_pages_only(self):
        mock = self.mock(keys=150, args=["--list-latency-ms", "500"])
        h = mock.hashes()[0]
        t0 = time.monotonic()
        self.assertEqual(self.call(mock, "GET", "/keys/" + h)[0], 200)
        t1 = time.monotonic()
        self.assertEqual(self.call(mock, "GET", "/keys")[0], 200)
        t2 = time.monotonic()
        self.assertGreaterEqual(t2 - t1, 0.5)
        self.assertLess(t1 - t0, (t2 - t1) - 0.3)  # the single-key GET is not slowed
        self.assertEqual(mock.stats()["list_requests"], 1)

    def test_current_key_hidden_by_default(self):
        mock = self.mock(keys=5)
        self.assertEqual(self.call(mock, "GET", "/key")[0], 404)

    def test_exposed_and_listed_management_key_revokes_itself(self):
        mock = self.mock(keys=150, args=["--expose-key-hash", "--management-key-listed"])
        status, body = self.call(mock, "GET", "/key")
        self.assertEqual(status, 200)
        self.assertEqual(body, {"data": {"label": "management key", "hash": MGMT_HASH, "is_management_key": True}})
        self.assertEqual(self.call(mock, "GET", "/key", key="wrong")[0], 401)
        listed = self.listed(mock)
        self.assertEqual(len(listed), 151)
        self.assertIn(MGMT_HASH, listed)
        self.assertNotIn(MGMT_HASH, mock.hashes())
        self.assertEqual(self.call(mock, "DELETE", "/keys/" + MGMT_HASH), (200, {"deleted": True}))
        self.assertEqual(self.call(mock, "DELETE", "/keys/" + mock.hashes()[0])[0], 401)
        self.assertEqual(self.call(mock, "GET", "/keys")[0], 401)
        stats = mock.stats()
        self.assertTrue(stats["management_key_revoked"])
        self.assertEqual(stats["keys"]["deleted"], 1)


if __name__ == "__main__":
    unittest.main()
