"""Issue 10: framing and header cases keyrevoke-mock cannot play, on a small raw-socket HTTP/1.1 server
(gateway.ApiServer, plain HTTP on loopback, --allow-insecure-http). The server plays the key API and
records every request byte for byte; each test asserts the server's ground truth (which keys are gone,
what was sent, when) before keyrevoke's report. Several fail until the matching fix lands."""

import collections
import email.utils
import json
import os
import subprocess
import time
import unittest

from gateway import ApiServer, Response, api_error
from harness import KEYREVOKE, KeyrevokeTest, keyrevoke_env, random_hashes

NGINX_404 = (b"<html>\r\n<head><title>404 Not Found</title></head>\r\n<body>\r\n<center><h1>404 Not Found</h1>"
             b"</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


class ScriptedTest(KeyrevokeTest):
    def setUp(self):
        super().setUp()
        self._servers = []

    def tearDown(self):
        for s in self._servers:
            s.stop()
        super().tearDown()

    def server(self, hashes, override=None, **kw):
        s = ApiServer(hashes, override, **kw)
        self._servers.append(s)
        return s

    def run_on(self, server, *args, report="report.jsonl", timeout=60):
        res = self.run_keyrevoke(server.origin, *args, report=report, timeout=timeout)
        return res, res.stderr.decode(errors="replace")

    def rows(self, name="report.jsonl"):
        """The report's hash rows (a torn tail ignored); none if keyrevoke wrote no report."""
        if not os.path.exists(self.path(name)):
            return []
        return self.report(name, torn_ok=True).rows

    def by_hash(self, name="report.jsonl"):
        return {r["hash"]: r for r in self.rows(name) if r.get("hash")}

    def assert_no_claims(self, rows):
        claimed = collections.Counter(r["outcome"] for r in rows if r["outcome"] in ("deleted", "not_found"))
        self.assertEqual(claimed, collections.Counter(), "claims the server never made")

    @staticmethod
    def first_delete_only(answer):
        """An override that answers the first DELETE of each hash with `answer`, then lets the API answer."""
        def override(server, req):
            if req.method == "DELETE" and len(server.delete_requests(req.hash)) == 1:
                return answer()
            return None
        return override

    def assert_retried_after(self, server, hashes, seconds):
        for h in hashes:
            reqs = server.delete_requests(h)
            self.assertGreaterEqual(len(reqs), 2, h)
            self.assertGreaterEqual(reqs[1].at - reqs[0].at, seconds - 0.05, "retried before the hint (%s)" % h)

    # --- throttling recognised by status and headers -------------------------------------------------

    def test_403_with_retry_after_is_throttling_not_a_rejected_key(self):
        hashes = random_hashes(5)
        secondary_limit = api_error(403, "You have exceeded a secondary rate limit")
        srv = self.server(hashes, self.first_delete_only(
            lambda: Response(403, secondary_limit, headers=["Retry-After: 1"])))
        res, err = self.run_on(srv, self.write_lines("in.txt", hashes))
        self.assertEqual(len(srv.keys), 0, "keys left on the server")
        self.assertEqual(sorted(srv.deleted), sorted(hashes))
        self.assert_retried_after(srv, hashes, 1.0)
        self.assertNotEqual(res.returncode, 3, err)
        self.assertEqual(res.returncode, 0, err)
        rows = self.by_hash()
        self.assertEqual({r["outcome"] for r in rows.values()}, {"deleted"})
        for h in hashes:
            self.assertGreaterEqual(rows[h]["attempts"], len(srv.delete_requests(h)))

    def test_403_without_a_hint_still_aborts_with_exit_3(self):
        hashes = random_hashes(5)
        srv = self.server(hashes, lambda s, req: Response(403, api_error(403, "Forbidden"))
                          if req.method == "DELETE" else None)
        res, err = self.run_on(srv, self.write_lines("in.txt", hashes))
        self.assertEqual(res.returncode, 3, err)
        self.assertEqual(sorted(srv.keys), sorted(hashes))
        self.assert_no_claims(self.rows())

    def test_a_gateways_403_page_is_not_called_a_rejected_key(self):
        # The trial: nginx `limit_except GET { deny all; }` answered each DELETE with its 403 HTML page
        # after the preflight's GET with the same key got through; the run said "the server rejected the
        # management key", which sends a responder to rotate a key that is fine. Still exit 3, nothing
        # claimed; the message says what was seen.
        hashes = random_hashes(5)
        page = b"<html><head><title>403 Forbidden</title></head><body><center>nginx</center></body></html>"
        srv = self.server(hashes, lambda s, req: Response(403, page, "text/html")
                          if req.method == "DELETE" else None)
        res, err = self.run_on(srv, self.write_lines("in.txt", hashes))
        self.assertEqual(res.returncode, 3, err)
        self.assertEqual(sorted(srv.keys), sorted(hashes))
        self.assert_no_claims(self.rows())
        self.assertNotIn("the server rejected the management key", err)
        self.assertIn("a refusal that is not the API's answer", err)
        self.assertIn("listing with the same management key was accepted", err)

    def test_429_with_a_100_kb_html_body_is_a_429(self):
        hashes = random_hashes(5)
        page = b"<html><body>" + b"<p>Too many requests. Please slow down.</p>\n" * 2400 + b"</body></html>"
        self.assertGreater(len(page), 100_000)
        srv = self.server(hashes, self.first_delete_only(
            lambda: Response(429, page, "text/html; charset=utf-8", headers=["Retry-After: 1"])))
        res, err = self.run_on(srv, self.write_lines("in.txt", hashes))
        self.assertEqual(len(srv.keys), 0, "keys left on the server")
        self.assert_retried_after(srv, hashes, 1.0)
        self.assertEqual(res.returncode, 0, err)
        self.assertEqual({r["outcome"] for r in self.rows()}, {"deleted"})
        self.assertIn("throttled: 5,", err)
        self.assertIn("5xx: 0,", err)

    def test_a_useless_hint_does_not_shorten_the_backoff(self):
        """A throttle window of 3 s (every DELETE answered 429), 3 keys, --max-attempts 5.
        Without a hint, backoff carries every key past the window (the baseline, checked first). A hint of
        0 s, a date in the past, or X-RateLimit-Reset as a small delta (epoch ms 2 = 1970) must do no worse."""
        window, attempts = 3.0, "5"  # measured on today's build: no hint 0 of 8 runs lose a key; each hint 8 of 8
        past = email.utils.formatdate(time.time() - 3600, usegmt=True)
        for hint in (None, "Retry-After: 0", "Retry-After: " + past, "X-RateLimit-Reset: 2"):
            with self.subTest(hint=hint):
                hashes = random_hashes(3)
                state = {}

                def override(server, req, hint=hint, state=state):
                    if req.method != "DELETE":
                        return None
                    state.setdefault("t0", req.at)
                    if req.at - state["t0"] < window:
                        return Response(429, api_error(429, "Rate limit exceeded"), headers=[hint] if hint else [])
                    return None
                srv = self.server(hashes, override)
                report = "hint-%d.jsonl" % len(self._servers)
                res, err = self.run_on(srv, "--max-attempts", attempts, self.write_lines("in.txt", hashes),
                                       report=report)
                sent = {h: len(srv.delete_requests(h)) for h in hashes}
                self.assertEqual(len(srv.keys), 0, "keys left after the window (requests per hash: %s)"
                                 % sorted(sent.values()))
                self.assertEqual(res.returncode, 0, err)
                self.assertEqual({r["outcome"] for r in self.rows(report)}, {"deleted"})

    # --- DELETE without a body --------------------------------------------------------------------------

    def test_delete_carries_no_body_and_an_intermediary_refusing_content_lets_it_through(self):
        hashes = random_hashes(20)

        def refuse_content(server, req):
            if req.method == "DELETE" and ("content-length" in req.headers or "transfer-encoding" in req.headers):
                return Response(400, b"<html><body>400 Bad Request: DELETE with content</body></html>", "text/html")
            return None
        srv = self.server(hashes, refuse_content)
        res, err = self.run_on(srv, self.write_lines("in.txt", hashes))
        deletes = srv.delete_requests()
        self.assertGreaterEqual(len(deletes), 20)
        framed = [r for r in deletes if r.body or not r.raw.endswith(b"\r\n\r\n")
                  or {"content-length", "content-type", "transfer-encoding"} & set(r.headers)]
        self.assertEqual(len(framed), 0, "%d of %d DELETEs carried content headers or a body; the first: %r"
                         % (len(framed), len(deletes), framed[0].raw.split(b"authorization")[0] if framed else b""))
        self.assertEqual(srv.unparsed, [], "bytes after a request that framed no request")
        self.assertEqual(len(srv.keys), 0, "keys left on the server")
        self.assertEqual(res.returncode, 0, err)
        self.assertEqual({r["outcome"] for r in self.rows()}, {"deleted"})

    # --- shape-checked outcomes -------------------------------------------------------------------------

    def test_404_with_an_html_body_is_never_not_found(self):
        hashes = random_hashes(10)
        srv = self.server(hashes, lambda s, req: Response(404, NGINX_404, "text/html")
                          if req.method == "DELETE" else None)
        res, err = self.run_on(srv, "--max-attempts", "3", self.write_lines("in.txt", hashes))
        self.assertEqual(sorted(srv.keys), sorted(hashes), "the keys are live")
        rows = self.rows()
        self.assert_no_claims(rows)
        self.assertNotEqual(res.returncode, 0, err)
        # Each row that met the answer says why (issue 10: "not the API's answer: check --base-url").
        self.assertEqual(len(rows), 10)
        answered = [r for r in rows if r.get("http_status") == 404]
        self.assertGreater(len(answered), 0)
        for r in answered:
            self.assertIn("--base-url", r.get("error") or "", r)

    def test_404_with_the_apis_shape_is_not_found(self):
        gone = random_hashes(10)
        srv = self.server(random_hashes(3))  # these 10 never existed: the API answers its NotFound shape
        res, err = self.run_on(srv, self.write_lines("in.txt", gone))
        self.assertEqual(res.returncode, 0, err)
        self.assertEqual({r["outcome"] for r in self.rows()}, {"not_found"})
        self.assertEqual(len(srv.keys), 3)

    def test_204_without_a_body_is_not_deleted(self):
        hashes = random_hashes(5)
        srv = self.server(hashes, lambda s, req: Response(204) if req.method == "DELETE" else None)
        res, err = self.run_on(srv, "--max-attempts", "3", self.write_lines("in.txt", hashes))
        self.assertEqual(sorted(srv.keys), sorted(hashes))
        self.assert_no_claims(self.rows())
        self.assertNotEqual(res.returncode, 0, err)

    def test_200_saying_deleted_false_is_not_deleted(self):
        hashes = random_hashes(5)
        srv = self.server(hashes, lambda s, req: Response(200, b'{"deleted": false}')
                          if req.method == "DELETE" else None)
        res, err = self.run_on(srv, "--max-attempts", "3", self.write_lines("in.txt", hashes))
        self.assertEqual(sorted(srv.keys), sorted(hashes))
        self.assert_no_claims(self.rows())
        self.assertNotEqual(res.returncode, 0, err)

    # --- complete listing, any page size ----------------------------------------------------------------

    def list_hashes(self, srv, *args):
        cmd = [KEYREVOKE, "list", "--base-url", srv.origin.base_url, "--allow-insecure-http"] + list(args)
        res = subprocess.run(cmd, capture_output=True, timeout=120, env=keyrevoke_env(True))
        return res, res.stdout.decode().split(), res.stderr.decode(errors="replace")

    def test_list_is_complete_whatever_the_page_size(self):
        sizes = {"50": 50, "1": 1, "37": 37, "100": 100,
                 "50, then 37 from the 3rd request on": lambda n: 50 if n < 3 else 37,
                 "changing every request 50/20/100/7": lambda n: (50, 20, 100, 7)[(n - 1) % 4]}
        for name, size in sizes.items():
            with self.subTest(page_size=name):
                hashes = random_hashes(230)
                srv = self.server(hashes, page_size=size)
                res, out, err = self.list_hashes(srv)
                self.assertEqual(res.returncode, 0, err)
                self.assertEqual(len(out), len(set(out)), "a hash printed twice")
                self.assertEqual(len(set(out) & set(hashes)), 230, "keys missing from the listing")
                self.assertEqual(set(out), set(hashes))
                self.assertEqual(srv.count("DELETE") + srv.count("PATCH"), 0)

    def test_protect_glob_holds_with_short_pages(self):
        hashes = random_hashes(230)
        keep = set(hashes[::2][:111])
        labels = {h: ("keep-%03d" % i if h in keep else "ci-%03d" % i) for i, h in enumerate(hashes)}
        srv = self.server(hashes, page_size=50, labels=labels)
        protect = self.write_lines("keep.txt", ["label:keep-*"])
        res, err = self.run_on(srv, "--protect", protect, self.write_lines("in.txt", hashes))
        deleted_kept = keep & set(srv.deleted)
        self.assertEqual(len(deleted_kept), 0, "%d keys the user asked to keep were deleted" % len(deleted_kept))
        self.assertEqual(len({r.hash for r in srv.delete_requests()} & keep), 0)
        self.assertEqual(res.returncode, 0, err)
        self.assertTrue(set(srv.keys) == keep, "left on the server: %d keys, %d of them to keep"
                        % (len(srv.keys), len(set(srv.keys) & keep)))
        rows = self.by_hash()
        self.assertTrue({h for h, r in rows.items() if r["outcome"] == "protected"} == keep)
        self.assertTrue({h for h, r in rows.items() if r["outcome"] == "deleted"} == set(hashes) - keep)

    # --- preflight --------------------------------------------------------------------------------------

    def test_preflight_answered_by_an_html_page_exits_2_before_any_delete(self):
        hashes = random_hashes(10)
        portal = b"<html><head><title>Sign in</title></head><body>Welcome to the network</body></html>"
        srv = self.server(hashes, lambda s, req: Response(200, portal, "text/html"))
        res, err = self.run_on(srv, "--max-attempts", "3", self.write_lines("in.txt", hashes))
        self.assertEqual(srv.count("DELETE"), 0, "DELETEs sent to a server that does not answer like the API")
        self.assert_no_claims(self.rows())
        self.assertEqual(res.returncode, 2, err)
        self.assertIn(srv.origin.base_url, err)

    def test_a_failing_key_route_is_asked_again_not_skipped(self):
        # The third trial: the key route went to another environment that answered a 503 first, then
        # the API's 404 for every key. The read-back skipped its check on the 503, and the 404s that
        # followed read as not_found_after_retry: exit 0, live keys claimed gone. The read is now asked
        # again; the 404 for the listed keys stops the run before anything is sent.
        hashes = random_hashes(8)
        reads = []

        def other_environment(server, req):
            if req.method in ("GET", "DELETE", "PATCH") and req.hash:
                reads.append(req.method)
                if len(reads) == 1:
                    return Response(503, api_error(503, "Service Unavailable"))
                return Response(404, api_error(404, "Key not found"))
            return None
        srv = self.server(hashes, other_environment)
        res, err = self.run_on(srv, "--verify", self.write_lines("in.txt", hashes))
        self.assertEqual(res.returncode, 2, err)
        self.assertEqual(srv.count("DELETE"), 0, "DELETEs sent through a key route that contradicts the listing")
        self.assertEqual(sorted(srv.keys), sorted(hashes))
        self.assert_no_claims(self.rows())
        # 503, then the listing's first, middle and last key, each read until three 404s in a row; then,
        # the listing asked afresh, three of its five other keys the same way
        self.assertEqual(reads, ["GET"] * (1 + 3 * 3 + 3 * 3))
        self.assertIn("404", err)

    def test_a_cached_listing_with_a_stale_first_key_does_not_stop_the_run(self):
        # The third trial: a gateway caching GET /keys showed a key deleted since; its read-back got the
        # API's 404 and the run stopped (exit 2), and every --resume stopped again. Another listed key
        # read back settles it.
        self.run_behind_a_cached_listing(stale_index=0)

    def test_a_cached_listing_with_a_stale_key_in_the_input_does_not_stop_the_run(self):
        # The fourth trial: the stale key (deleted by a colleague) was in the input, not among those read
        # back; its DELETE's 404 for a listed key stopped every run and --resume (exit 2), and 17 live
        # leaked keys were never sent. The key route, read for that key, shows it gone: not_found.
        self.run_behind_a_cached_listing(stale_index=1)

    def test_a_cached_listing_whose_keys_were_all_deleted_does_not_stop_the_run(self):
        # The ninth trial: nginx's proxy_cache on GET /keys kept a page whose keys a run minutes before had
        # all deleted; every key read back answered 404 and every run, --resume included, stopped (exit 2).
        # The listing is asked once more through another URI (the same page), which a cache keyed by URI
        # (nginx's default proxy_cache_key) has not seen: its keys are read back, and the run goes on.
        gone = random_hashes(5)
        live = random_hashes(6)
        srv = self.server(live)

        def cache_keyed_by_uri(server, req):
            if req.method == "GET" and req.path.endswith("/keys") and req.target.endswith(
                    "/keys?offset=0&include_disabled=true"):
                items = [{"hash": h, "name": "k", "label": "sk", "disabled": False} for h in gone]
                return Response(200, json.dumps({"data": items}).encode())  # the stale cached page
            return None  # anything else reaches the API
        srv.override = cache_keyed_by_uri
        res, err = self.run_on(srv, self.write_lines("in.txt", live))
        self.assertEqual(res.returncode, 0, err)
        self.assertEqual(len(srv.keys), 0)
        self.assertEqual({r["outcome"] for r in self.by_hash().values()}, {"deleted"})
        # The stale page's first, middle and last key read three times each, then the fresh listing.
        self.assertEqual(srv.count("GET"), 2 + 3 * 3 + 3)

    def run_behind_a_cached_listing(self, stale_index):
        hashes = random_hashes(6)
        stale = hashes[stale_index]
        srv = self.server(hashes)
        srv.keys.pop(stale)  # gone from the store, still on the (cached) listing

        def cached_listing(server, req):
            if req.method == "GET" and req.path.endswith("/keys"):
                items = [{"hash": h, "name": "k", "label": "sk", "disabled": False} for h in hashes]
                return Response(200, json.dumps({"data": items}).encode())
            return None
        srv.override = cached_listing
        res, err = self.run_on(srv, self.write_lines("in.txt", hashes))
        self.assertEqual(res.returncode, 0, err)
        self.assertEqual(len(srv.keys), 0)
        rows = self.by_hash()
        self.assertEqual(rows[stale]["outcome"], "not_found")
        self.assertEqual({rows[h]["outcome"] for h in hashes if h != stale}, {"deleted"})

    def test_a_listing_page_over_64_kib_keeps_its_checks(self):
        # The fourth trial: a pretty-printed 100-key page (~70 KiB) was cut at the pool's 64 KiB limit, so
        # the preflight kept no listed key, read none back, and a key route sent elsewhere had every key
        # claimed not_found (exit 0, live). The listing is read whole (up to 8 MiB); past that it is not
        # the API's.
        hashes = random_hashes(100)
        pretty = json.dumps({"data": [{"hash": h, "name": "key %d" % i, "label": "sk-mg-v1-...%03d" % i,
                                       "disabled": False, "limit": None, "usage": 0,
                                       "created_at": "2026-11-24T10:00:00.000000+00:00",
                                       "updated_at": None, "note": "x" * 400}
                                      for i, h in enumerate(hashes)]}, indent=2).encode()
        self.assertGreater(len(pretty), 64 * 1024)

        def other_environment(server, req):
            if req.method == "GET" and req.path.endswith("/keys"):
                return Response(200, pretty)
            if req.hash:  # the key route: another environment's API
                return Response(404, api_error(404, "Key not found"))
            return None
        srv = self.server(hashes, other_environment)
        res, err = self.run_on(srv, self.write_lines("in.txt", hashes[50:60]))
        self.assertEqual(res.returncode, 2, err)
        self.assertEqual(srv.count("DELETE"), 0)
        self.assert_no_claims(self.rows())

        huge = b'{"data": [' + b" " * (9 * 1024 * 1024) + b"]}"
        srv2 = self.server(hashes, lambda server, req: Response(200, huge) if req.method == "GET" else None)
        res, err = self.run_on(srv2, self.write_lines("in2.txt", hashes[:3]), report="huge.jsonl")
        self.assertEqual(res.returncode, 2, err)
        self.assertEqual(srv2.count("DELETE"), 0)
        self.assertIn("too large to read whole", err)

    def test_a_hint_past_give_up_after_at_the_preflight_gives_up_at_once(self):
        # The fourth trial: Retry-After: 600 on the key route's read-back held a run with --give-up-after 6
        # for 120 s (the hint's cap). It gives up at once, saying why.
        hashes = random_hashes(4)
        srv = self.server(hashes, lambda server, req: Response(429, api_error(429, "Rate limit exceeded"),
                                                               headers=["Retry-After: 600"])
                          if req.method == "GET" and req.hash else None)
        res, err = self.run_on(srv, "--give-up-after", "6", self.write_lines("in.txt", hashes), timeout=60)
        self.assertEqual(res.returncode, 4, err)
        self.assertIn("past --give-up-after", err)
        self.assertEqual(srv.count("DELETE"), 0)
        self.assertEqual(srv.count("GET"), 2)  # the listing, and one read

    def test_a_gateways_403_page_at_the_preflight_is_not_called_a_rejected_key(self):
        # The third trial: a gateway's 403 page for GET /keys read "the server rejected the management
        # key". Still exit 3 and nothing sent; the message says what was seen.
        hashes = random_hashes(3)
        page = b"<html><head><title>403 Forbidden</title></head><body><center>nginx</center></body></html>"
        srv = self.server(hashes, lambda s, req: Response(403, page, "text/html"))
        res, err = self.run_on(srv, self.write_lines("in.txt", hashes))
        self.assertEqual(res.returncode, 3, err)
        self.assertEqual(srv.count("DELETE"), 0)
        self.assertNotIn("the server rejected the management key", err)
        self.assertIn("not with the API's answer", err)
        self.assertEqual({r["outcome"] for r in self.rows()}, {"not_attempted"})


if __name__ == "__main__":
    unittest.main()
