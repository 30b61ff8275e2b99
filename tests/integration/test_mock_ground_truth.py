"""keyrevoke-mock's own ground truth for --verify, --disable/--enable, --protect and `list`, checked
over real HTTPS with the standard library only (no keyrevoke involved): ghost writes, per-hash
PATCH/GET counters, slow list pages, and the management key's own hash; and the misbehaviours of a
real deployment's front end it plays: route-404 pages, throttle variants, outage windows, lost
answers, and its record of what each request carried."""

import email.utils
import hashlib
import http.client
import json
import ssl
import time
import unittest
import urllib.error
import urllib.request

from harness import KeyrevokeTest, MANAGEMENT_KEY, method_counts

MGMT_HASH = hashlib.sha256(MANAGEMENT_KEY.encode()).hexdigest()
AUTH = {"Authorization": "Bearer " + MANAGEMENT_KEY}


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

    def assertHtmlPage(self, headers, body, title):
        """nginx's page, not the API's JSON."""
        self.assertTrue(headers.get("content-type", "").startswith("text/html"), headers)
        self.assertIn(b"<title>" + title.encode() + b"</title>", body)
        with self.assertRaises(ValueError):
            json.loads(body)

    def assertApiError(self, headers, body, code, message=None):
        self.assertEqual(headers.get("content-type"), "application/json")
        err = json.loads(body)["error"]
        self.assertEqual(err["code"], code)
        if message is not None:
            self.assertEqual(err["message"], message)

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
        status, headers, body = mock.request("GET", "/api/v1/key", headers=AUTH)
        self.assertEqual(status, 404)
        self.assertHtmlPage(headers, body, "404 Not Found")  # a route the API does not have

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


    # --- what a real deployment's front end does (issue 10), and what the mock saw (issue 14) -----

    def test_delete_with_and_without_a_body_is_answered_the_same_and_recorded(self):
        mock = self.mock(keys=20)
        h = mock.hashes()
        forms = [
            ("no body", None, {}),
            ("{} as JSON", b"{}", {"Content-Type": "application/json"}),
            ("chunked JSON", [b"{", b"}"], {"Content-Type": "application/json"}),
            ("junk text", b"not json", {"Content-Type": "text/plain"}),
        ]
        for i, (name, body, headers) in enumerate(forms):
            with self.subTest(name):
                status, rh, rb = mock.request("DELETE", "/api/v1/keys/" + h[i], body=body, headers=dict(AUTH, **headers))
                self.assertEqual((status, json.loads(rb)), (200, {"deleted": True}))
                status, rh, rb = mock.request("DELETE", "/api/v1/keys/" + h[i], body=body, headers=dict(AUTH, **headers))
                self.assertEqual(status, 404)
                self.assertApiError(rh, rb, 404, "Key not found")
        for i in range(4, 7):  # three more without a body
            self.assertEqual(mock.request("DELETE", "/api/v1/keys/" + h[i], headers=AUTH)[0], 200)
        self.assertEqual(mock.request("GET", "/api/v1/keys/" + h[10], headers=AUTH)[0], 200)
        stats = mock.stats()
        self.assertEqual(stats["keys"]["deleted"], 7)
        self.assertEqual(method_counts(stats, "DELETE"),
                         {"requests": 11, "with_body": 6,
                          "content_types": {"application/json": 4, "text/plain": 2}})
        self.assertEqual(method_counts(stats, "GET"), {"requests": 1, "with_body": 0, "content_types": {}})
        self.assertEqual(method_counts(stats, "PATCH")["requests"], 0)

    def test_every_answer_carries_the_servers_date(self):
        # RFC 9110 6.6.1: an origin server with a clock sends Date; clients read absolute hints (an
        # HTTP-date Retry-After, an epoch X-RateLimit-Reset) against it, not against their own clock.
        mock = self.mock(keys=3, args=["--rate", "1", "--burst", "1", "--retry-after", "http-date"])
        h = mock.hashes()
        answers = [mock.request("DELETE", "/api/v1/keys/" + x, headers=AUTH) for x in h]
        answers.append(mock.request("GET", "/nowhere", headers=AUTH))
        self.assertIn(429, [a[0] for a in answers], "the bucket never throttled")
        for status, headers, _ in answers:
            with self.subTest(status=status):
                self.assertIn("date", headers)
                sent = email.utils.parsedate_to_datetime(headers["date"])
                self.assertLess(abs(sent.timestamp() - time.time()), 5, headers["date"])

    def test_unknown_route_is_the_web_servers_html_404(self):
        mock = self.mock(keys=5)
        h = mock.hashes()[0]
        for path in ["/v1/keys/" + h, "/api/v1x/keys/" + h, "/api/v1/keys/" + h + "/x"]:
            with self.subTest(path):
                status, headers, body = mock.request("DELETE", path, headers=AUTH)
                self.assertEqual(status, 404)
                self.assertHtmlPage(headers, body, "404 Not Found")
        # Outside the API a wrong key changes nothing: the web server answers before any API rule.
        status, headers, body = mock.request("DELETE", "/v1/keys/" + h, headers={"Authorization": "Bearer x"})
        self.assertEqual(status, 404)
        self.assertHtmlPage(headers, body, "404 Not Found")
        # The API's own answer for a key it does not have stays API-shaped.
        status, headers, body = mock.request("DELETE", "/api/v1/keys/" + "0" * 64, headers=AUTH)
        self.assertEqual(status, 404)
        self.assertApiError(headers, body, 404, "Key not found")
        stats = mock.stats()
        self.assertEqual(stats["route_not_found"], 4)
        self.assertEqual(stats["keys"]["deleted"], 0)
        self.assertEqual(self.call(mock, "GET", "/keys/" + h)[0], 200)

    def test_throttle_403_and_503_carry_retry_after(self):
        for status, body_kind in [(403, "api"), (503, "html"), (429, "big")]:
            with self.subTest(status=status, body=body_kind):
                mock = self.mock(keys=5, args=["--rate", "0.1", "--burst", "1", "--throttle-status", str(status),
                                               "--throttle-body", body_kind])
                h = mock.hashes()
                self.assertEqual(mock.request("DELETE", "/api/v1/keys/" + h[0], headers=AUTH)[0], 200)
                got, headers, body = mock.request("DELETE", "/api/v1/keys/" + h[1], headers=AUTH)
                self.assertEqual(got, status)
                self.assertIn(int(headers["retry-after"]), range(1, 11))
                if body_kind == "api":
                    self.assertApiError(headers, body, status, "Rate limit exceeded")
                else:
                    self.assertHtmlPage(headers, body, "%d %s" % (status, {503: "Service Temporarily Unavailable",
                                                                          429: "Too Many Requests"}[status]))
                    if body_kind == "big":
                        self.assertGreaterEqual(len(body), 100 * 1024)
                stats = mock.stats()
                self.assertEqual(stats["rate_limited"], 1)
                self.assertEqual(stats["status_counts"].get(str(status)), 1)
                self.assertEqual(stats["keys"]["deleted"], 1)
                mock.stop()

    def test_useless_retry_hints(self):
        for mode, header, check in [
            ("zero", "retry-after", lambda v: v == "0"),
            ("past", "retry-after",
             lambda v: time.mktime(time.strptime(v, "%a, %d %b %Y %H:%M:%S GMT")) - time.timezone < time.time() - 3000),
            ("reset-delta", "x-ratelimit-reset", lambda v: 1 <= int(v) <= 10),
        ]:
            with self.subTest(mode):
                mock = self.mock(keys=5, args=["--rate", "0.1", "--burst", "1", "--retry-after", mode])
                h = mock.hashes()
                self.assertEqual(mock.request("DELETE", "/api/v1/keys/" + h[0], headers=AUTH)[0], 200)
                status, headers, body = mock.request("DELETE", "/api/v1/keys/" + h[1], headers=AUTH)
                self.assertEqual(status, 429)
                self.assertTrue(check(headers[header]), headers)
                mock.stop()

    def wait_for_status(self, mock, hashes, want, timeout=20):
        """DELETEs the hashes in turn until one is answered `want`; returns (index, headers, body)."""
        deadline = time.monotonic() + timeout
        i = 0
        while time.monotonic() < deadline:
            status, headers, body = mock.request("DELETE", "/api/v1/keys/" + hashes[i], headers=AUTH)
            if status == want:
                return i, headers, body
            if status == 200:
                i += 1
            time.sleep(0.05)
        self.fail("no %d within %s s" % (want, timeout))

    def test_outage_window_answers_502_html_then_the_api_again(self):
        mock = self.mock(keys=200, args=["--outage", "0.5:1.5"])
        h = mock.hashes()
        status, _, _ = mock.request("DELETE", "/api/v1/keys/" + h[0], headers=AUTH)  # starts the clock
        self.assertEqual(status, 200)
        i, headers, body = self.wait_for_status(mock, h[1:], 502)
        self.assertHtmlPage(headers, body, "502 Bad Gateway")
        failed = h[1 + i]
        # Every request is the gateway's while the window lasts, whatever route or key it names.
        self.assertEqual(mock.request("GET", "/api/v1/keys", headers={"Authorization": "Bearer x"})[0], 502)
        self.assertEqual(mock.stats()["keys"]["deleted"], 1 + i)  # admin routes still answer
        j, _, _ = self.wait_for_status(mock, [failed], 200)  # the API again, for the hash it refused
        self.assertEqual(self.call(mock, "GET", "/keys/" + failed)[0], 404)
        stats = mock.stats(hashes=True)
        self.assertGreaterEqual(stats["outage_answers"], 2)
        self.assertEqual(stats["outage_answers"], stats["status_counts"]["502"])
        self.assertEqual(stats["keys"]["deleted"], 2 + i)
        self.assertIsNotNone(stats["first_api_request_ms"])
        self.assertEqual(stats["hashes_requested_more_than_once"], 0)  # the 502s never reached the store

    def test_outage_reset_closes_the_connection(self):
        mock = self.mock(keys=5, args=["--outage", "0:60:reset"])
        h = mock.hashes()
        with self.assertRaises((ConnectionError, http.client.HTTPException, ssl.SSLError)):
            mock.request("DELETE", "/api/v1/keys/" + h[0], headers=AUTH)
        stats = mock.stats()
        self.assertEqual(stats["outage_answers"], 1)
        self.assertEqual(stats["keys"]["deleted"], 0)

    def test_lost_answer_deletes_then_answers_504(self):
        probe = self.mock(keys=5)
        h = probe.hashes()
        probe.stop()
        mock = self.mock(keys=5, args=["--fault-file", self.write_lines("faults.txt", [h[0] + " lost"])])
        status, headers, body = mock.request("DELETE", "/api/v1/keys/" + h[0], headers=AUTH)
        self.assertEqual(status, 504)
        self.assertHtmlPage(headers, body, "504 Gateway Time-out")
        self.assertEqual(self.call(mock, "GET", "/keys/" + h[0])[0], 404)  # the backend did the work
        status, headers, body = mock.request("DELETE", "/api/v1/keys/" + h[0], headers=AUTH)
        self.assertEqual(status, 404)
        self.assertApiError(headers, body, 404, "Key not found")
        stats = mock.stats(hashes=True)
        self.assertEqual(stats["lost_answers"], 1)
        self.assertEqual(stats["keys"]["deleted"], 1)
        rep = {r["hash"]: r for r in stats["repeated_hashes"]}
        self.assertEqual((rep[h[0]]["delete_requests"], rep[h[0]]["deletes_ok"],
                          rep[h[0]]["not_found_after_delete"]), (2, 1, 1))


if __name__ == "__main__":
    unittest.main()
