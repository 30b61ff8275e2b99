"""Scenario 2, throttled: a token bucket (R/s, burst), one keyrevoke run per --retry-after mode, the mock
sampled every 100 ms: completion time vs the ideal (N - burst) / R, goodput/R, 429 share, attempts per
hash, slow 0.5 s bins (goodput < R/2) and the time the last 1 % of deletions took."""

from ..tools import measure_keyrevoke

MODES = ("seconds", "http-date", "reset-ms", "none")


def run(rig, hashes=10_000, rate=500.0, burst=50, concurrency=16, modes=MODES):
    """hashes: N; rate: R (requests/s); burst: bucket size; modes: the mock's --retry-after values."""
    n, c = hashes, concurrency
    path = rig.hashes(n)
    ideal = (n - burst) / rate
    runs = []
    for mode in modes:
        mock = rig.mock(path, ["--rate", str(rate), "--burst", str(burst), "--retry-after", mode])
        try:
            r = measure_keyrevoke(rig, mock, path, c, timeout=max(120, 10 * ideal), sample_counters=True)
        finally:
            mock.stop()
        m = r["mock"]
        # Where the time went: 0.5 s bins (between the first and the last full one) whose goodput
        # was under half of R.
        inner = r.get("bins", [])[1:-1]
        slow = [b for b in inner if b["deleted"] / (b["t1"] - b["t0"]) < 0.5 * rate]
        r["slow_bins"] = len(slow)
        r["slow_bins_at_s"] = [b["t0"] for b in slow]
        r["goodput_bins_min"] = round(min((b["deleted"] / (b["t1"] - b["t0"]) for b in inner), default=0), 1)
        r["retry_after"] = mode
        r["ideal_s"] = round(ideal, 3)
        r["completion_over_ideal"] = round(r["wall_s"] / ideal, 3)
        r["goodput"] = round(m["deleted"] / r["wall_s"], 1)
        r["goodput_over_r"] = round(m["deleted"] / r["wall_s"] / rate, 3)
        r["share_429"] = round(m["rate_limited"] / m["api_requests"], 4) if m["api_requests"] else None
        runs.append(r)
    return {"hashes": n, "rate": rate, "burst": burst, "concurrency": c, "ideal_s": ideal, "runs": runs}
