"""Scenario 5, scale: keyrevoke over growing lists, the mock holding every key (each answer a 200):
throughput, peak RSS and its growth per extra hash, the mock's start-up time."""

from ..tools import measure_keyrevoke


def run(rig, sizes=(10_000, 100_000, 1_000_000), concurrency=32):
    """sizes: the list lengths, smallest first (the RSS growth is over the first); concurrency: the
    caller passes raw's best when raw ran."""
    runs = []
    for n in sizes:
        hashes = rig.hashes(n)
        mock = rig.mock(hashes)
        try:
            r = measure_keyrevoke(rig, mock, hashes, concurrency, timeout=1200)
            r["mock_startup_s"] = round(mock.startup_s, 2)
        finally:
            mock.stop()
        runs.append(r)
    first = runs[0]
    for r in runs:
        extra = (r["maxrss_mib"] - first["maxrss_mib"]) * 1048576 / (r["hashes"] - first["hashes"]) \
            if r is not first and r["hashes"] > first["hashes"] else None
        r["rss_bytes_per_extra_hash"] = round(extra, 1) if extra is not None else None
    return {"concurrency": concurrency, "runs": runs}
