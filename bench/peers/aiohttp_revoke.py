#!/usr/bin/env python3
"""The alternative a Python programmer would write: asyncio + aiohttp, one ClientSession, a semaphore
of N requests in flight, DELETE each hash, one JSON Lines row per hash (the same fields as keyrevoke's
report). 429/5xx/network errors are retried with capped, jittered exponential backoff, honouring a
Retry-After in seconds; 200 is deleted, 404 not_found, anything else failed.

  MODELGATES_MANAGEMENT_KEY=... python3 bench/peers/aiohttp_revoke.py \\
      --base-url https://127.0.0.1:PORT/api/v1 --cacert ca.pem --concurrency 64 \\
      --report report.jsonl hashes.txt

Prints one summary line on stderr: `aiohttp_revoke: N hashes in S s (R/s): ...`.
"""

import argparse
import asyncio
import json
import os
import random
import ssl
import sys
import time

import aiohttp


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--base-url", required=True)
    p.add_argument("--cacert")
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--max-attempts", type=int, default=8)
    p.add_argument("--timeout", type=float, default=30.0)
    p.add_argument("--report", required=True)
    p.add_argument("inputs", nargs="+")
    return p.parse_args(argv)


def read_hashes(paths):
    seen = set()
    for path in paths:
        with open(path) as f:
            for line in f:
                h = line.strip().lower()
                if len(h) == 64 and h not in seen:
                    seen.add(h)
                    yield h


async def revoke_one(session, url, headers, h, args, out, counts):
    first = time.monotonic()
    attempts = 0
    status = None
    error = None
    outcome = "failed"
    while attempts < args.max_attempts:
        attempts += 1
        delay = None
        try:
            async with session.delete(url + h, headers=headers, data=b"{}") as resp:
                status = resp.status
                body = await resp.read()
                if status == 200:
                    outcome, error = "deleted", None
                    break
                if status == 404:
                    outcome, error = "not_found", None
                    break
                error = body[:200].decode("utf-8", "replace")
                if status == 429 or status >= 500:
                    counts["throttled" if status == 429 else "server_errors"] += 1
                    ra = resp.headers.get("Retry-After")
                    if ra and ra.strip().isdigit():
                        delay = min(float(ra), 60.0)
                else:
                    break  # 4xx other than 404/429: not retried
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            counts["network_errors"] += 1
            status, error = None, "%s: %s" % (type(e).__name__, e)
        if attempts >= args.max_attempts:
            break
        if delay is None:
            delay = random.uniform(0, min(30.0, 0.1 * 2 ** attempts))
        await asyncio.sleep(delay)
    counts[outcome] += 1
    counts["requests"] += attempts
    out.write(json.dumps({"hash": h, "outcome": outcome, "http_status": status, "attempts": attempts,
                          "elapsed_ms": round((time.monotonic() - first) * 1000.0, 1), "error": error})
              + "\n")


async def main_async(args, key):
    ctx = ssl.create_default_context(cafile=args.cacert) if args.cacert else ssl.create_default_context()
    connector = aiohttp.TCPConnector(limit=args.concurrency, ssl=ctx)
    timeout = aiohttp.ClientTimeout(total=args.timeout)
    headers = {"Authorization": "Bearer " + key, "Content-Type": "application/json",
               "Accept": "application/json"}
    url = args.base_url.rstrip("/") + "/keys/"
    counts = {k: 0 for k in ("deleted", "not_found", "failed", "requests", "throttled", "server_errors",
                             "network_errors")}
    sem = asyncio.Semaphore(args.concurrency)
    pending = set()
    start = time.monotonic()
    with open(args.report, "w", buffering=1 << 16) as out:
        async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
            async def guarded(h):
                try:
                    await revoke_one(session, url, headers, h, args, out, counts)
                finally:
                    sem.release()

            for h in read_hashes(args.inputs):
                await sem.acquire()  # at most N hashes in flight, and at most N tasks alive
                task = asyncio.create_task(guarded(h))
                pending.add(task)
                task.add_done_callback(pending.discard)
            if pending:
                await asyncio.gather(*pending)
    elapsed = time.monotonic() - start
    done = counts["deleted"] + counts["not_found"] + counts["failed"]
    sys.stderr.write("aiohttp_revoke: %d hashes in %.1f s (%.0f/s): %d deleted, %d not_found, %d failed; "
                     "requests %d (429: %d, 5xx: %d, network errors: %d)\n"
                     % (done, elapsed, done / elapsed if elapsed > 0 else 0.0, counts["deleted"],
                        counts["not_found"], counts["failed"], counts["requests"], counts["throttled"],
                        counts["server_errors"], counts["network_errors"]))
    return 0 if counts["failed"] == 0 else 1


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    key = os.environ.get("MODELGATES_MANAGEMENT_KEY", "").strip()
    if not key:
        sys.stderr.write("aiohttp_revoke: set MODELGATES_MANAGEMENT_KEY\n")
        return 2
    return asyncio.run(main_async(args, key))


if __name__ == "__main__":
    sys.exit(main())
