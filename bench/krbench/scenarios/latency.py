"""Scenario 4, latency: the mock answers after --latency-ms (fixed, or lognormal with that median and
sigma 1); keyrevoke's throughput against the ideal concurrency / mean latency."""

import math

from ..tools import measure_keyrevoke


def run(rig, latency_ms=50.0, target_s=8.0, concurrencies=(16, 64)):
    """latency_ms: the mock's (median) latency; target_s: each run is sized to take about this long."""
    runs = []
    for dist, mean_ms in (("fixed", latency_ms), ("lognormal", latency_ms * math.exp(0.5))):
        for c in concurrencies:
            ideal = c / (mean_ms / 1000.0)
            n = int(ideal * target_s)
            hashes = rig.hashes(n)
            mock = rig.mock(hashes, ["--latency-ms", str(latency_ms), "--latency-dist", dist])
            try:
                r = measure_keyrevoke(rig, mock, hashes, c)
            finally:
                mock.stop()
            r["dist"] = dist
            r["mean_latency_ms"] = round(mean_ms, 2)
            r["ideal_rate"] = round(ideal, 1)
            r["rate_over_ideal"] = round(r["rate"] / ideal, 3)
            runs.append(r)
    return {"latency_ms": latency_ms, "runs": runs}
