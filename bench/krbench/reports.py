"""What the clients leave behind: keyrevoke's (and the aiohttp peer's) JSON Lines report, keyrevoke's
summary on stderr, a growing report's deleted rows (counted while it runs), answers by status class."""

import array
import json
import re

from .stats import latency_summary


def parse_report(path):
    """A JSON Lines report -> rows, outcomes, final statuses, attempts (mean, max, total), latency (ms)."""
    outcomes, statuses = {}, {}
    attempts_sum = attempts_max = rows = 0
    elapsed = array.array("d")
    with open(path, "rb") as f:
        for line in f:
            r = json.loads(line)
            if r.get("hash") is None:
                outcomes["invalid"] = outcomes.get("invalid", 0) + 1
                continue
            rows += 1
            o = r["outcome"]
            outcomes[o] = outcomes.get(o, 0) + 1
            st = str(r["http_status"]) if r.get("http_status") is not None else "none"
            statuses[st] = statuses.get(st, 0) + 1
            a = int(r.get("attempts") or 0)
            attempts_sum += a
            attempts_max = max(attempts_max, a)
            if r.get("elapsed_ms") is not None and a > 0:
                elapsed.append(float(r["elapsed_ms"]))
    return {"rows": rows, "outcomes": outcomes, "final_status": statuses,
            "attempts_mean": round(attempts_sum / rows, 4) if rows else None,
            "attempts_max": attempts_max, "attempts_total": attempts_sum,
            "latency_ms": latency_summary(elapsed)}


SUMMARY_RE = re.compile(r"keyrevoke: ([\d,]+) hashes in ([\d.]+) s \((\d+)/s\)")
REQUESTS_RE = re.compile(r"requests ([\d,]+) \(retries ([\d,]+); throttled: ([\d,]+), 5xx: ([\d,]+), "
                         r"network errors: ([\d,]+), timeouts: ([\d,]+)\)")
POOL_RE = re.compile(r"connections opened (\d+) \(TLS sessions resumed (\d+), max open (\d+)\)")
CUTS_RE = re.compile(r"send rate lowered (\d+) times \([^)]*\), last limit (\d+)/s")


def num(text):
    return int(text.replace(",", ""))


def parse_keyrevoke_summary(stderr):
    """keyrevoke's closing summary on stderr -> hashes, requests, retries, 429s, connections, rate cuts."""
    out = {}
    m = SUMMARY_RE.search(stderr)
    if m:
        out.update(hashes=num(m.group(1)), elapsed_s=float(m.group(2)), rate=int(m.group(3)))
    m = REQUESTS_RE.search(stderr)
    if m:
        out.update(requests=num(m.group(1)), retries=num(m.group(2)), throttled=num(m.group(3)),
                   server_errors=num(m.group(4)), network_errors=num(m.group(5)), timeouts=num(m.group(6)))
    m = POOL_RE.search(stderr)
    if m:
        out.update(connections=int(m.group(1)), tls_resumed=int(m.group(2)), max_open=int(m.group(3)))
    m = CUTS_RE.search(stderr)
    if m:
        out.update(cuts=int(m.group(1)), last_limit=int(m.group(2)))
    return out


def status_classes(statuses):
    """{'200': n, '404': n, '429': n, ...} (answers, not hashes) -> h2load-like classes."""
    c = {"2xx": 0, "404": 0, "429": 0, "4xx": 0, "5xx": 0}
    for code, n in statuses.items():
        try:
            k = int(code)
        except ValueError:
            continue
        if 200 <= k < 300:
            c["2xx"] += n
        elif k == 404:
            c["404"] += n
        elif k == 429:
            c["429"] += n
        elif 400 <= k < 500:
            c["4xx"] += n
        elif k >= 500:
            c["5xx"] += n
    return c


class ReportCounter:
    """Counts a growing report's deleted rows without rereading it."""

    def __init__(self, path):
        self.path, self.offset, self.count, self.tail = path, 0, 0, b""

    def deleted(self):
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read()
        except OSError:
            return self.count
        self.offset += len(data)
        data = self.tail + data
        cut = data.rfind(b"\n") + 1
        self.count += data[:cut].count(b'"outcome":"deleted"')
        self.tail = data[cut:]
        return self.count
