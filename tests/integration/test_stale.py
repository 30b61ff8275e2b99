"""Issue 15 item 4: keep-alive connections the server closed while they sat idle in keyrevoke's pool.

A request written on such a connection meets the close (no byte of an answer). It is resent once on a
fresh connection without using the hash's --max-attempts, and the report's `attempts` stays the number of
requests the server itself saw for that hash: the stale send is left out only when TCP proves that no
server read it (the server closed first, its stack refused the request: a FIN, then a reset).

Servers: IdleClosingServer (raw sockets, written here) plays a server whose idle close races with the
client's next request, deterministically; Debian's nginx with keepalive_timeout 1s is the one we did not
write (its access log is its ground truth)."""

import json
import os
import select
import socket
import struct
import subprocess
import threading
import time
import unittest

from gateway import NginxGateways
from harness import KeyrevokeTest, Origin, keyrevoke_env, random_hashes, stop_socket_server

OK_BODY = b'{"deleted":true}'
NOT_FOUND = b'{"error":{"code":404,"message":"Key not found","metadata":null}}'


class IdleClosingServer:
    """The key API (plain HTTP, 127.0.0.1) whose connections die after `idle` s without a request, and
    whose client learns it only when it writes the next request, as when the server's FIN is still in
    flight (or was lost) as the client writes:
      mode "fin_rst": the server had closed (FIN), so its TCP stack refuses the request (RST) unread;
      mode "rst":     the connection is gone without a FIN (a middlebox forgot it): a bare reset.
    Either way no request is read on such a connection. Ground truth: `requests` (hash -> requests read
    and answered; "keys" for the list), `deleted`, `stale_refused` (requests refused unread)."""

    def __init__(self, idle, mode="fin_rst"):
        self.idle, self.mode = idle, mode
        self.requests, self.deleted = {}, set()
        self.stale_refused = 0
        self.connections = 0
        self._lock = threading.Lock()
        self._stopping = False
        self._socks = []
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self.origin = Origin("http://127.0.0.1:%d/api/v1" % self.port)
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def _accept(self):
        while not self._stopping:
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.connections += 1
                self._socks.append(sock)
            t = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            t.start()
            self._threads.append(t)

    def _refuse(self, sock):
        """The request waits unread in the socket: the server's close refuses it."""
        with self._lock:
            self.stale_refused += 1
        if self.mode == "fin_rst":
            sock.shutdown(socket.SHUT_WR)  # the FIN the client did not see in time
            time.sleep(0.01)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # unread data (or linger 0): a reset

    def _serve(self, sock):
        buf = b""
        last_answer = None
        try:
            while not self._stopping:
                if b"\r\n\r\n" not in buf:
                    ready, _, _ = select.select([sock], [], [], 30)
                    if not ready:
                        return
                    if last_answer is not None and not buf and time.monotonic() - last_answer > self.idle:
                        return self._refuse(sock)
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    buf += chunk
                    continue
                head, buf = buf.split(b"\r\n\r\n", 1)
                target = head.split(b" ", 2)[1].decode()
                h = target.split("?", 1)[0].rsplit("/", 1)[-1]
                with self._lock:
                    self.requests[h] = self.requests.get(h, 0) + 1
                    gone = h in self.deleted
                    self.deleted.add(h)
                if h == "keys":
                    status, body = b"200 OK", b'{"data":[]}'
                elif gone:
                    status, body = b"404 Not Found", NOT_FOUND
                else:
                    status, body = b"200 OK", OK_BODY
                sock.sendall(b"HTTP/1.1 " + status + b"\r\nContent-Type: application/json\r\nContent-Length: "
                             + str(len(body)).encode() + b"\r\n\r\n" + body)
                last_answer = time.monotonic()
        except OSError:
            pass
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def stop(self):
        self._stopping = True
        stop_socket_server(self._listener, self._lock, self._socks, self._threads)


def run_in_two_batches(test, origin, first, second, pause, *args, wait_first=None):
    """keyrevoke reading hashes from a pipe: `first`, then (once wait_first() holds, bounded, and `pause` s
    more) `second`, then end of input. Returns (returncode, stderr text)."""
    cmd = test.keyrevoke_cmd(origin, *args) + ["-"]
    proc = subprocess.Popen(cmd, env=keyrevoke_env(), stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        proc.stdin.write(("\n".join(first) + "\n").encode())
        proc.stdin.flush()
        deadline = time.monotonic() + 30
        while wait_first is not None and not wait_first():
            test.assertLess(time.monotonic(), deadline, "the first batch was not answered")
            time.sleep(0.02)
        time.sleep(pause)
        proc.stdin.write(("\n".join(second) + "\n").encode())
        proc.stdin.close()
        err = proc.stderr.read().decode(errors="replace")
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stderr.close()
    return proc.returncode, err


class IdleClosedConnectionTest(KeyrevokeTest):
    def run_against(self, mode):
        server = IdleClosingServer(idle=0.3, mode=mode)
        self.addCleanup(server.stop)
        hashes = random_hashes(12)

        def first_answered():
            with server._lock:
                return len(server.deleted & set(hashes[:6])) == 6
        rc, err = run_in_two_batches(self, server.origin, hashes[:6], hashes[6:], 0.8, "--max-attempts", "1",
                                     "--concurrency", "6", wait_first=first_answered)
        return server, hashes, rc, err

    def check(self, server, hashes, rc, err):
        self.assertEqual(rc, 0, err)
        self.assertGreater(server.stale_refused, 0, "no request met a closed connection: the case did not happen")
        rows = {r["hash"]: r for r in self.report().rows}
        self.assertEqual(set(rows), set(hashes))
        for h in hashes:
            self.assertEqual(rows[h]["outcome"], "deleted", rows[h])
            self.assertIsNone(rows[h]["error"], rows[h])
            self.assertEqual(server.requests.get(h), 1, h)  # one DELETE read per hash
        self.assertEqual(server.deleted - {"keys"}, set(hashes))
        return rows

    def test_fin_then_reset_resends_once_and_counts_only_what_the_server_read(self):
        """The server closed the idle connections (FIN) just before the client's next requests reached
        them (RST, unread): with --max-attempts 1 every hash is deleted, each by one DELETE the server read,
        and each row's attempts is exactly that count."""
        server, hashes, rc, err = self.run_against("fin_rst")
        rows = self.check(server, hashes, rc, err)
        for h in hashes:
            self.assertEqual(rows[h]["attempts"], server.requests[h], rows[h])

    def test_bare_reset_resends_once_and_never_claims_fewer_attempts_than_the_server_saw(self):
        """A bare reset does not prove the request went unread (a server may read a request, then reset):
        the resend is free (--max-attempts 1 still deletes every hash) and attempts may count the lost send,
        never fewer than the server read."""
        server, hashes, rc, err = self.run_against("rst")
        rows = self.check(server, hashes, rc, err)
        for h in hashes:
            self.assertGreaterEqual(rows[h]["attempts"], server.requests[h], rows[h])
            self.assertLessEqual(rows[h]["attempts"], 2, rows[h])


class NginxIdleTimeoutTest(NginxGateways, KeyrevokeTest):
    def test_pause_longer_than_nginx_keepalive_timeout(self):
        """nginx (keepalive_timeout 1s, TLS) in front of keyrevoke-mock; the input pauses 2 s between two
        batches of 6 hashes, --max-attempts 1: every hash deleted, nginx's access log shows one DELETE per
        hash, each row's attempts equals it, and the mock deleted all 12."""
        mock = self.mock(keys=12, args=["--http"])
        gw = self.gateway(mock.port, keepalive_timeout="1s")
        hashes = mock.hashes()

        def first_answered():
            return sum(1 for line in gw.log() if line.method == "DELETE") >= 6
        rc, err = run_in_two_batches(self, gw, hashes[:6], hashes[6:], 2.0, "--max-attempts", "1",
                                     "--concurrency", "6", wait_first=first_answered)
        self.assertEqual(rc, 0, err)
        rows = {r["hash"]: r for r in self.report().rows}
        per_hash = gw.per_hash()
        for h in hashes:
            self.assertEqual(rows[h]["outcome"], "deleted", rows[h])
            self.assertEqual(per_hash.get(h), [200], h)
            self.assertEqual(rows[h]["attempts"], 1, rows[h])
        self.assertEqual(mock.stats()["keys"]["deleted"], 12)


if __name__ == "__main__":
    unittest.main()
