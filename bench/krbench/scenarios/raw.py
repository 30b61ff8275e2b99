"""Scenario 1, raw throughput (no rate limit, a fresh mock holding exactly the N keys for every run):
keyrevoke's --concurrency sweep; curl and aiohttp at the best concurrency; back-to-back keyrevoke + wrk
pairs (the headline ratio is the median pair run on a quiet machine); one unpinned pair as a check."""

import shutil

from ..procs import log
from ..stats import headline_pair, median, ratio
from ..tools import measure_aiohttp, measure_curl, measure_keyrevoke, measure_wrk


def _one(rig, hashes, tool, c, secs=None):
    mock = rig.mock(hashes)  # a fresh mock per run: every run deletes the same N live keys
    try:
        if tool == "keyrevoke":
            return measure_keyrevoke(rig, mock, hashes, c)
        if tool == "curl":
            return measure_curl(rig, mock, hashes, c)
        if tool == "aiohttp":
            return measure_aiohttp(rig, mock, hashes, c)
        return measure_wrk(rig, mock, hashes, c, secs)
    finally:
        mock.stop()


def run(rig, hashes=100_000, sweep=(16, 32, 64), rounds=3, wrk_min_s=3, unpinned_check=True):
    """hashes: N per run; sweep: keyrevoke --concurrency values; rounds: keyrevoke + wrk pairs;
    wrk_min_s: shortest wrk run (s); unpinned_check: one more pair with nothing pinned."""
    n = hashes
    path = rig.hashes(n)
    res = {"hashes": n, "placement": rig.placement(), "sweep": [], "peers": [], "pairs": [], "unpinned": []}
    for c in sweep:
        res["sweep"].append(_one(rig, path, "keyrevoke", c))
    first = max(res["sweep"], key=lambda r: r["rate"] or 0)
    c = first["concurrency"]
    res["best_concurrency"] = c
    # wrk runs as long as keyrevoke took (at least wrk_min_s); past the last hash it starts over.
    secs = max(wrk_min_s, int(round(first["wall_s"])))
    have_wrk = shutil.which("wrk") is not None
    for tool in ("curl", "aiohttp"):
        if tool == "aiohttp" and not rig.aiohttp_python:
            log("aiohttp is not importable: skipping the aiohttp peer")
            continue
        if tool == "curl" and not shutil.which("curl"):
            log("curl not installed: skipping")
            continue
        res["peers"].append(_one(rig, path, tool, c))
    # keyrevoke against the ceiling: back-to-back pairs, so both runs of a pair see the same
    # machine. The headline ratio is the median pair of those run on a quiet machine (stats.headline_pair);
    # on a shared machine a single pair can land on someone's build.
    if have_wrk:
        for i in range(rounds):
            kr = _one(rig, path, "keyrevoke", c)
            wk = _one(rig, path, "wrk", c, secs)
            noise = max(kr.get("other_cpu_util") or 0, wk.get("other_cpu_util") or 0)
            res["pairs"].append({"round": i + 1, "keyrevoke": kr, "wrk": wk, "other_cpu_util_max": round(noise, 3),
                                 "ratio": ratio(kr["rate"], wk["rate"]),
                                 "cpu_per_1k_ratio": ratio(kr["cpu_s_per_1k"], wk["cpu_s_per_1k"])})
    pinned_kr = [r for r in res["sweep"] if r["concurrency"] == c] + [p["keyrevoke"] for p in res["pairs"]]
    kr_median = median([r["rate"] or 0 for r in pinned_kr])
    kr_ref = min(pinned_kr, key=lambda r: abs((r["rate"] or 0) - kr_median))
    res["keyrevoke_median_rate"] = kr_median
    ratios = {}
    best_of = {"keyrevoke": kr_ref}
    if res["pairs"]:
        quiet = headline_pair(res["pairs"], "ratio")
        res["quietest_pair"] = quiet["round"]
        ratios["wrk"] = {"rate": quiet["ratio"], "cpu_per_1k": quiet["cpu_per_1k_ratio"],
                         "maxrss": ratio(quiet["keyrevoke"]["maxrss_mib"], quiet["wrk"]["maxrss_mib"]),
                         "per_pair": [p["ratio"] for p in res["pairs"]],
                         "median_of_pairs": median([p["ratio"] or 0 for p in res["pairs"]])}
        best_of["wrk"] = quiet["wrk"]
    for p in res["peers"]:
        ratios[p["tool"]] = {"rate": ratio(kr_ref["rate"], p["rate"]),
                             "cpu_per_1k": ratio(kr_ref["cpu_s_per_1k"], p["cpu_s_per_1k"]),
                             "maxrss": ratio(kr_ref["maxrss_mib"], p["maxrss_mib"])}
        best_of[p["tool"]] = p
    res["best"] = {t: {"rate": r["rate"], "cpu_s_per_1k": r["cpu_s_per_1k"], "maxrss_mib": r["maxrss_mib"]}
                   for t, r in best_of.items()}
    res["ratios_keyrevoke_over_peer"] = ratios
    # Placement cross-check: one more pair with nothing pinned.
    if have_wrk and rig.mock_cpu is not None and unpinned_check:
        free = rig.unpinned()
        res["unpinned"].append(_one(free, path, "keyrevoke", c))
        res["unpinned"].append(_one(free, path, "wrk", c, secs))
        kr, wk = res["unpinned"]
        res["unpinned_ratio_over_wrk"] = ratio(kr["rate"], wk["rate"])
    return res
