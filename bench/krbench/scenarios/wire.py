"""Scenario wire: keyrevoke against wrk at each concurrency, against keyrevoke-mock and against nginx (Debian's
nginx-light as the TLS front of a plain-HTTP mock). Each keyrevoke run is paired with a wrk run of the
same length on the same server, back to back; the figures are ratios within a pair (req/s, CPU per
request, peak RSS); the headline of each (front, concurrency) is the median pair of those run on a quiet machine.
Targets (issue 12): >= 0.9x wrk's req/s and <= 1.2x its CPU per request."""

from .. import gateway
from ..procs import log
from ..stats import headline_pair, median, quiet_pairs, ratio
from ..tools import measure_keyrevoke, measure_wrk


def _server(rig, path, front):
    """A fresh mock holding the keys of `path` (every DELETE a 200), behind nginx when front == "nginx"."""
    if front == "mock":
        return rig.mock(path)
    mock = rig.mock(path, args=["--http"])
    try:
        return gateway.Front(mock, rig.work, rig.name("nginx"), cpu=rig.mock_cpu).start()
    except Exception:
        mock.stop()
        raise


def _one(rig, path, front, tool, c, secs=None):
    server = _server(rig, path, front)
    try:
        if tool == "keyrevoke":
            return measure_keyrevoke(rig, server, path, c)
        return measure_wrk(rig, server, path, c, secs)
    finally:
        server.stop()


def run(rig, hashes=50_000, concurrencies=(16, 64), fronts=("mock", "nginx"), rounds=5, wrk_min_s=2):
    """hashes: N per keyrevoke run; rounds: keyrevoke + wrk pairs per (front, concurrency). The order
    alternates (odd rounds keyrevoke first, even rounds wrk first, for as long as the last keyrevoke run
    took), so that neither tool always meets the machine in the same state. Each ratio's headline is its
    own median over the quiet pairs: one run in a VM swings by 20-40 %, so no one pair decides a row."""
    path = rig.hashes(hashes)
    res = {"hashes": hashes, "placement": rig.placement(), "cells": []}
    for front in fronts:
        if front == "nginx" and not gateway.available():
            log("nginx or openssl missing (cmake/install-deps.sh --bench installs nginx-light): skipping nginx")
            continue
        for c in concurrencies:
            pairs = []
            secs = None
            for i in range(rounds):
                if i % 2 == 0 or secs is None:
                    kr = _one(rig, path, front, "keyrevoke", c)
                    secs = max(wrk_min_s, int(round(kr["wall_s"])))
                    wk = _one(rig, path, front, "wrk", c, secs)
                else:
                    wk = _one(rig, path, front, "wrk", c, secs)
                    kr = _one(rig, path, front, "keyrevoke", c)
                    secs = max(wrk_min_s, int(round(kr["wall_s"])))
                pairs.append({"round": i + 1, "first": "keyrevoke" if i % 2 == 0 else "wrk",
                              "keyrevoke": kr, "wrk": wk,
                              "other_cpu_util_max": round(max(kr.get("other_cpu_util") or 0,
                                                              wk.get("other_cpu_util") or 0), 3),
                              "rate": ratio(kr["rate"], wk["rate"]),
                              "cpu_per_1k": ratio(kr["cpu_s_per_1k"], wk["cpu_s_per_1k"]),
                              "maxrss": ratio(kr["maxrss_mib"], wk["maxrss_mib"])})
            quiet = headline_pair(pairs, "rate")
            calm = quiet_pairs(pairs)
            res["cells"].append({"front": front, "concurrency": c, "pairs": pairs, "headline": quiet["round"],
                                 "quiet_pairs": len(calm),
                                 "rate": median([p["rate"] or 0 for p in calm]),
                                 "cpu_per_1k": median([p["cpu_per_1k"] or 0 for p in calm]),
                                 "maxrss": median([p["maxrss"] or 0 for p in calm]),
                                 "rate_min": min(p["rate"] or 0 for p in calm),
                                 "rate_max": max(p["rate"] or 0 for p in calm),
                                 "cpu_per_1k_min": min(p["cpu_per_1k"] or 0 for p in calm),
                                 "cpu_per_1k_max": max(p["cpu_per_1k"] or 0 for p in calm),
                                 "rate_median": median([p["rate"] or 0 for p in pairs]),
                                 "cpu_per_1k_median": median([p["cpu_per_1k"] or 0 for p in pairs])})
    return res


def render(res):
    out = ["## Wire: keyrevoke / wrk, %s hashes per keyrevoke run, each pair back to back on one server"
           % "{:,}".format(res["hashes"]),
           "front: mock = keyrevoke-mock's own TLS; nginx = nginx-light TLS front, plain-HTTP mock upstream",
           "",
           "%-6s %5s %9s %9s %9s %11s %9s %11s %9s %6s  %s" % (
               "front", "conc", "kr req/s", "wrk req/s", "x wrk", "(min-max)", "cpu x", "(min-max)", "rss x",
               "quiet", "every pair (x wrk / cpu x; * wrk first)")]
    for cell in res["cells"]:
        q = next(p for p in cell["pairs"] if p["round"] == cell["headline"])
        out.append("%-6s %5d %9.0f %9.0f %9s %11s %9s %11s %9s %6s  %s" % (
            cell["front"], cell["concurrency"], q["keyrevoke"]["rate"] or 0, q["wrk"]["rate"] or 0,
            _f(cell["rate"]), "%s-%s" % (_f(cell.get("rate_min")), _f(cell.get("rate_max"))),
            _f(cell["cpu_per_1k"]), "%s-%s" % (_f(cell.get("cpu_per_1k_min")), _f(cell.get("cpu_per_1k_max"))),
            _f(cell["maxrss"]), "%s/%d" % (cell.get("quiet_pairs", "-"), len(cell["pairs"])),
            ", ".join("%s/%s%s" % (_f(p["rate"]), _f(p["cpu_per_1k"]), "*" if p.get("first") == "wrk" else "")
                      for p in cell["pairs"])))
    out.append("targets: x wrk >= 0.90 and cpu x <= 1.20 in every row: each the median of its ratio over the pairs "
               "run while other processes took <= 5 % of a CPU (req/s columns: the median pair by x wrk)")
    out.append("")
    return out


def targets(res):
    """[(goal, measured, met)] for report.targets."""
    out = []
    for cell in res["cells"]:
        name = "%s c=%d" % (cell["front"], cell["concurrency"])
        out.append(("wire %s: req/s >= 0.9x wrk" % name, _f(cell["rate"]), (cell["rate"] or 0) >= 0.9))
        out.append(("wire %s: CPU/request <= 1.2x wrk" % name, _f(cell["cpu_per_1k"]),
                    cell["cpu_per_1k"] is not None and cell["cpu_per_1k"] <= 1.2))
    return out


def _f(x):
    return "%.2f" % x if x is not None else "-"
