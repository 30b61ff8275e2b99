"""The printed report, rendered from results alone: one h2load-like table per scenario, the targets
(goals, not tests), the machine-readable summary line, and the results block of bench/README.md."""

import math

from .scenarios import outage, wire
from .stats import ratio


def fmt_ratio(x):
    return "%.2f" % x if x is not None else "-"


def fmt_int(x):
    return "{:,}".format(int(round(x))) if x is not None else "-"


def fmt_ms(x):
    return "%.1f" % x if x is not None else "-"


def placement_line(p):
    """p: raw's "placement" (mock_cpu, client_cpu, mock_threads, cpus)."""
    threads = "%d io thread%s" % (p["mock_threads"], "" if p["mock_threads"] == 1 else "s")
    if p["mock_cpu"] is None:
        return "placement: no pinning: mock (%s) and clients share the %d CPUs; TLS on 127.0.0.1" % (threads, p["cpus"])
    return ("placement: mock (%s) pinned to cpu %d, every client pinned to cpu %d (taskset); TLS on 127.0.0.1"
            % (threads, p["mock_cpu"], p["client_cpu"]))


def runs_table(rows, ref=None, ref_name="ratio"):
    """Rows of tools.record() with a "label" -> the raw-throughput table; ref: the record ratios are to."""
    out = ["%-18s %5s %9s %8s %9s %6s %8s %6s %6s %5s %5s %8s %8s %8s %9s %8s %6s %6s %6s" % (
        "tool", "conc", "hashes", "time s", "req/s", ref_name, "2xx", "404", "429", "5xx", "fail",
        "p50 ms", "p90 ms", "p99 ms", "cpu s/1k", "RSS MiB", "cpu%", "mock%", "other%")]
    for r in rows:
        lat = r.get("latency_ms") or {}
        st = r["status"]
        out.append("%-18s %5d %9s %8.2f %9s %6s %8d %6d %6d %5d %5d %8s %8s %8s %9s %8.1f %6.0f %6.0f %6.0f" % (
            r["label"][:18], r["concurrency"], fmt_int(r["hashes"]), r["wall_s"], fmt_int(r["rate"]),
            fmt_ratio(ratio(r["rate"], ref["rate"])) if ref else "-", st["2xx"], st["404"], st["429"],
            st["5xx"], r["outcomes"].get("failed", 0), fmt_ms(lat.get("p50")), fmt_ms(lat.get("p90")),
            fmt_ms(lat.get("p99")), "%.4f" % r["cpu_s_per_1k"] if r["cpu_s_per_1k"] else "-",
            r["maxrss_mib"], 100 * (r["cpu_util"] or 0), 100 * (r["mock"]["cpu_util"] or 0),
            100 * (r.get("other_cpu_util") or 0)))
    return out


def render_raw(res):
    c = res["best_concurrency"]
    ratios = res["ratios_keyrevoke_over_peer"]
    out = ["## 1. Raw throughput: %s hashes, no rate limit" % fmt_int(res["hashes"]),
           placement_line(res["placement"]),
           "keyrevoke --concurrency sweep: " + ", ".join(
               "%d: %s/s" % (r["concurrency"], fmt_int(r["rate"])) for r in res["sweep"]) +
           "; best %d, used for every tool below" % c, ""]
    quiet = next((p for p in res["pairs"] if p["round"] == res.get("quietest_pair")), None)
    rows = [dict(r, label="keyrevoke c=%d" % r["concurrency"]) for r in res["sweep"]]
    rows += [dict(p, label=p["tool"]) for p in res["peers"]]
    for p in res["pairs"]:
        mark = "*" if p["round"] == res.get("quietest_pair") else ""
        rows.append(dict(p["keyrevoke"], label="keyrevoke pair %d%s" % (p["round"], mark)))
        rows.append(dict(p["wrk"], label="wrk (ceil) pair %d%s" % (p["round"], mark)))
    rows += [dict(p, label=p["tool"] + " unpinned") for p in res["unpinned"]]
    out += runs_table(rows, ref=quiet["wrk"] if quiet else None, ref_name="x wrk")
    out.append("")
    if "wrk" in ratios:
        out.append("keyrevoke/wrk, back-to-back pairs: %s; headline = pair %s* (the median of those with "
                   "other%% <= 5, its other%% %.0f)" % (", ".join(fmt_ratio(x) for x in ratios["wrk"]["per_pair"]),
                                                       res.get("quietest_pair"),
                                                       100 * (quiet["other_cpu_util_max"] if quiet else 0)))
    out.append("ratios (curl, aiohttp: against the median pinned keyrevoke run, %s/s):"
               % fmt_int(res["keyrevoke_median_rate"]))
    for tool, r in ratios.items():
        out.append("keyrevoke/%-8s req/s x%s   CPU s per 1k x%s   peak RSS x%s" % (
            tool, fmt_ratio(r["rate"]), fmt_ratio(r["cpu_per_1k"]), fmt_ratio(r["maxrss"])))
    if res.get("unpinned_ratio_over_wrk") is not None:
        out.append("keyrevoke/wrk with nothing pinned: req/s x%s" % fmt_ratio(res["unpinned_ratio_over_wrk"]))
    return out + [""]


def render_throttled(res):
    out = ["## 2. Throttled: token bucket R=%d/s, burst %d, %s hashes, keyrevoke --concurrency %d" % (
        res["rate"], res["burst"], fmt_int(res["hashes"]), res["concurrency"]),
        "ideal completion (N - burst) / R = %.2f s; 429 share and requests from the mock's counters, "
        "attempts from the report" % res["ideal_s"], "",
        "%-11s %7s %7s %8s %7s %7s %5s %7s %6s %6s %8s %7s %7s %7s %7s %5s %5s %8s" % (
            "retry-after", "time s", "x ideal", "goodput", "good/R", "deleted", "fail", "sent", "429s", "429 %",
            "att/hash", "max att", "p50 ms", "p90 ms", "p99 ms", "cuts", "slow*", "tail s**")]
    for r in res["runs"]:
        lat = r.get("latency_ms") or {}
        out.append("%-11s %7.2f %7.3f %8.1f %7.3f %7d %5d %7d %6d %6.2f %8.3f %7d %7s %7s %7s %5s %5s %8s" % (
            r["retry_after"], r["wall_s"], r["completion_over_ideal"], r["goodput"], r["goodput_over_r"],
            r["outcomes"].get("deleted", 0), r["outcomes"].get("failed", 0) + r["outcomes"].get("not_attempted", 0),
            r["mock"]["api_requests"], r["mock"]["rate_limited"], 100 * (r["share_429"] or 0),
            r["attempts_mean"] or 0, r["attempts_max"] or 0, fmt_ms(lat.get("p50")), fmt_ms(lat.get("p90")),
            fmt_ms(lat.get("p99")), r.get("self_reported", {}).get("cuts", 0), r.get("slow_bins", "-"),
            "%.2f" % r["tail_last_1pct_s"] if r.get("tail_last_1pct_s") is not None else "-"))
    out.append("* slow: 0.5 s bins with goodput under R/2 (mock counters sampled every 100 ms); goodput over time "
               "per mode: %s" % res.get("plot"))
    out.append("** tail: seconds spent on the last 1%% of deletions (the ideal spends %.2f s on them)"
               % (0.01 * res["hashes"] / res["rate"]))
    return out + [""]


def render_rate_step(res):
    out = ["## 3. Rate step: --rate-schedule %s, burst %d, --advertise %s, keyrevoke --concurrency %d, %.0f s" % (
        res["schedule"], res["burst"], res.get("advertise", "none"), res["concurrency"], res["duration_s"]),
        "mock stats sampled every 100 ms, binned per 0.5 s; converged = first time goodput stays "
        "within 10% of the new R for 2 s", "",
        "%-8s %8s %12s %9s %8s" % ("step at", "R", "converge s", "good/R", "429 %")]
    for s in res["steps"]:
        out.append("%-8s %8d %12s %9s %8.2f" % (
            "%d s" % s["at_s"], s["rate"], "%.1f" % s["converge_s"] if s["converge_s"] is not None else "never",
            "%.3f" % s["goodput_over_r"] if s["goodput_over_r"] is not None else "-",
            100 * (s["share_429"] or 0)))
    out.append("overall: %s requests, %s deleted, 429 share %.2f%%, %s rate cuts; plot %s" % (
        fmt_int(res["requests"]), fmt_int(res["deleted"]), 100 * (res["share_429"] or 0),
        res["self_reported"].get("cuts", 0), res.get("plot")))
    return out + [""]


def render_latency(res):
    out = ["## 4. Latency: mock --latency-ms %g; ideal = concurrency / mean latency "
           "(lognormal: median %g ms, sigma 1, mean %.1f ms)" % (
               res["latency_ms"], res["latency_ms"], res["latency_ms"] * math.exp(0.5)), "",
           "%-10s %5s %8s %8s %9s %9s %8s %8s %8s %8s" % (
               "latency", "conc", "hashes", "time s", "req/s", "ideal/s", "x ideal", "p50 ms", "p90 ms", "p99 ms")]
    for r in res["runs"]:
        lat = r.get("latency_ms") or {}
        out.append("%-10s %5d %8s %8.2f %9s %9s %8.3f %8s %8s %8s" % (
            r["dist"], r["concurrency"], fmt_int(r["hashes"]), r["wall_s"], fmt_int(r["rate"]),
            fmt_int(r["ideal_rate"]), r["rate_over_ideal"], fmt_ms(lat.get("p50")), fmt_ms(lat.get("p90")),
            fmt_ms(lat.get("p99"))))
    return out + [""]


def render_scale(res):
    runs = res["runs"]
    out = ["## 5. Scale: keyrevoke --concurrency %d, the mock holds every key (each answer a 200)"
           % res["concurrency"], "",
           "%-10s %8s %9s %9s %6s %9s %10s %10s %8s %8s %12s %6s" % (
               "hashes", "time s", "req/s", "2xx", "fail", "RSS MiB", "B/hash*", "cpu s/1k", "p50 ms", "p99 ms",
               "mock start s", "other%")]
    for r in runs:
        extra = r.get("rss_bytes_per_extra_hash")
        out.append("%-10s %8.2f %9s %9d %6d %9.1f %10s %10.4f %8s %8s %12.2f %6.0f" % (
            fmt_int(r["hashes"]), r["wall_s"], fmt_int(r["rate"]), r["status"]["2xx"],
            r["outcomes"].get("failed", 0) + r["outcomes"].get("not_attempted", 0), r["maxrss_mib"],
            "%.1f" % extra if extra is not None else "-", r["cpu_s_per_1k"] or 0,
            fmt_ms((r.get("latency_ms") or {}).get("p50")), fmt_ms((r.get("latency_ms") or {}).get("p99")),
            r["mock_startup_s"], 100 * (r.get("other_cpu_util") or 0)))
    out.append("* peak RSS growth per hash over the %s-hash run" % fmt_int(runs[0]["hashes"]))
    return out + [""]


def render_fairness(res):
    first = res[0]
    out = ["## 6. Fairness: k keyrevoke processes (--concurrency %d each) on one bucket R=%d/s burst %d" % (
        first["concurrency_each"], first["rate"], first["burst"]),
        "per-process goodput from each report's deleted rows over the window [%.0f s, end], all "
        "clients pinned to cpu %s" % (first["window_from_s"], first["client_cpu"]), "",
        "%-4s %8s %10s %10s %8s %7s  %-24s %s" % ("k", "window s", "total/s", "total/R", "Jain", "429 %",
                                                  "per-process goodput /s", "share 1st half -> 2nd half")]
    for r in res:
        out.append("%-4d %8.1f %10.1f %10.3f %8.4f %7.2f  %-24s %s" % (
            r["processes"], r["window_s"], r["total_goodput"], r["total_over_r"], r["jain"] or 0,
            100 * (r["share_429"] or 0), " ".join("%.0f" % x for x in r["goodput_per_process"]),
            "%s -> %s" % ("/".join("%.2f" % x for x in r.get("share_first_half", [])),
                          "/".join("%.2f" % x for x in r.get("share_second_half", [])))))
    out.append("per-process goodput per second: results/runs/fairness-k*.png")
    return out + [""]


def render_quota(res):
    out = ["## 7. Quota: bucket R=%d/s burst %d, %s hashes shared by k processes (--concurrency %d each)" % (
        res["rate"], res["burst"], fmt_int(res["hashes"]), res["concurrency_each"]),
        "advertised: keyrevoke-mock --advertise (X-RateLimit-*, reset in epoch ms; IETF RateLimit, whole "
        "seconds); hint-*: nothing advertised, --retry-after none / 0", "",
        "%-12s %3s %8s %8s %8s %8s %7s %9s %8s" % ("quota", "k", "time s", "ideal s", "x ideal", "sent", "429 %",
                                                    "req/hash", "Jain")]
    for r in res["runs"]:
        out.append("%-12s %3d %8.2f %8.2f %8.3f %8d %7.3f %9.4f %8s" % (
            r["label"], r["processes"], r["wall_s"], r["ideal_s"], r["completion_over_ideal"], r["requests"],
            100 * (r["share_429"] or 0), r["requests_per_hash"] or 0,
            "%.4f" % r["jain"] if r["jain"] is not None and r["processes"] > 1 else "-"))
    out.append("x ideal: the last process's completion over (N - B) / R; Jain over the processes' hashes per second")
    return out + [""]


RENDER = {"raw": render_raw, "throttled": render_throttled, "rate_step": render_rate_step,
          "latency": render_latency, "scale": render_scale, "fairness": render_fairness,
          "wire": wire.render, "outage": outage.render, "quota": render_quota,
          "rate_step_quota": render_rate_step}


def targets(results):
    """[(goal, measured, met)] for the scenarios in results (keyed by their JSON names)."""
    t = []
    raw = results.get("raw_throughput")
    if raw:
        r = raw["ratios_keyrevoke_over_peer"].get("wrk", {}).get("rate")
        t.append(("raw throughput >= 0.8x wrk ceiling", "%.2fx" % r if r else "-", r is not None and r >= 0.8))
    th = results.get("throttled")
    if th:
        worst_t = max(r["completion_over_ideal"] for r in th["runs"])
        worst_429 = max(r["share_429"] or 0 for r in th["runs"])
        t.append(("throttled completion <= 1.1x ideal (worst mode)", "%.3fx" % worst_t, worst_t <= 1.1))
        t.append(("throttled 429 share <= 5% (worst mode)", "%.2f%%" % (100 * worst_429), worst_429 <= 0.05))
    rs = results.get("rate_step")
    if rs:
        convs = [s["converge_s"] for s in rs["steps"][1:]]
        ok = all(x is not None and x <= 5.0 for x in convs)
        t.append(("convergence <= 5 s after each step", ", ".join(
            "%.1f s" % x if x is not None else "never" for x in convs), ok))
        ok3 = all(x is not None and x <= 3.0 for x in convs)
        t.append(("rate step without quota fields: >= 0.9 R within 3 s (issue 12)", ", ".join(
            "%.1f s" % x if x is not None else "never" for x in convs), ok3))
    rq = results.get("rate_step_quota")
    if rq:
        convs = [s["converge_s"] for s in rq["steps"][1:]]
        ok = all(x is not None and x <= 1.0 for x in convs)
        t.append(("rate step with X-RateLimit-*: >= 0.9 R within 1 s", ", ".join(
            "%.1f s" % x if x is not None else "never" for x in convs), ok))
    sc = results.get("scale")
    if sc:
        big = sc["runs"][-1]
        t.append(("peak RSS at %s hashes <= 64 MiB" % fmt_int(big["hashes"]), "%.1f MiB" % big["maxrss_mib"],
                  big["maxrss_mib"] <= 64))
    fa = results.get("fairness")
    if fa:
        worst = min(r["jain"] or 0 for r in fa)
        t.append(("Jain's index >= 0.95 (worst of k=2,4)", "%.4f" % worst, worst >= 0.95))
    if results.get("wire"):
        t += wire.targets(results["wire"])
    qu = results.get("quota")
    if qu:
        adv = [r for r in qu["runs"] if not r["label"].startswith("hint-")]
        hint = [r for r in qu["runs"] if r["label"].startswith("hint-")]
        if adv:
            worst_t = max(r["completion_over_ideal"] for r in adv)
            worst_429 = max(r["share_429"] or 0 for r in adv)
            multi = [r["jain"] or 0 for r in adv if r["processes"] > 1]
            t.append(("advertised quota <= 1.02x ideal (worst)", "%.3fx" % worst_t, worst_t <= 1.02))
            t.append(("advertised quota 429 share <= 0.2% (worst)", "%.3f%%" % (100 * worst_429), worst_429 <= 0.002))
            if multi:
                t.append(("advertised quota Jain >= 0.98 (worst k>1)", "%.4f" % min(multi), min(multi) >= 0.98))
        if hint:
            worst_t = max(r["completion_over_ideal"] for r in hint)
            worst_429 = max(r["share_429"] or 0 for r in hint)
            t.append(("zero hints <= 1.05x ideal (worst)", "%.3fx" % worst_t, worst_t <= 1.05))
            t.append(("zero hints 429 share <= 2% (worst)", "%.2f%%" % (100 * worst_429), worst_429 <= 0.02))
    return t


def render_targets(t):
    return ["## Targets (goals, not tests)"] + ["%-52s %-22s %s" % (g, m, "met" if ok else "MISSED")
                                                for g, m, ok in t] + [""]


def summary_line(results, quick):
    """One line a machine can read (like h2load's): key=value, ratios measured in this run."""
    kv = [("mode", "quick" if quick else "full")]
    raw = results.get("raw_throughput")
    if raw:
        kv.append(("concurrency", raw["best_concurrency"]))
        for tool, b in raw["best"].items():
            kv.append((tool + "_rps", "%.0f" % (b["rate"] or 0)))
        for tool, r in raw["ratios_keyrevoke_over_peer"].items():
            kv.append(("keyrevoke_over_" + tool, fmt_ratio(r["rate"])))
            kv.append(("cpu_per_1k_over_" + tool, fmt_ratio(r["cpu_per_1k"])))
    th = results.get("throttled")
    if th:
        kv.append(("throttled_x_ideal", ",".join("%.3f" % r["completion_over_ideal"] for r in th["runs"])))
        kv.append(("throttled_429_pct", ",".join("%.2f" % (100 * (r["share_429"] or 0)) for r in th["runs"])))
    rs = results.get("rate_step")
    if rs:
        kv.append(("converge_s", ",".join("%.1f" % s["converge_s"] if s["converge_s"] is not None else "never"
                                          for s in rs["steps"][1:])))
        kv.append(("step_429_pct", "%.2f" % (100 * (rs["share_429"] or 0))))
    la = results.get("latency")
    if la:
        kv.append(("latency_x_ideal", ",".join("%.3f" % r["rate_over_ideal"] for r in la["runs"])))
    sc = results.get("scale")
    if sc:
        kv.append(("rss_mib", ",".join("%s:%.1f" % (r["hashes"], r["maxrss_mib"]) for r in sc["runs"])))
    fa = results.get("fairness")
    if fa:
        kv.append(("jain", ",".join("%d:%.3f" % (r["processes"], r["jain"] or 0) for r in fa)))
    qu = results.get("quota")
    if qu:
        kv.append(("quota_x_ideal", ",".join("%s/%d:%.3f" % (r["label"], r["processes"], r["completion_over_ideal"])
                                             for r in qu["runs"])))
        kv.append(("quota_429_pct", ",".join("%s/%d:%.3f" % (r["label"], r["processes"], 100 * (r["share_429"] or 0))
                                             for r in qu["runs"])))
    return "bench-summary: " + " ".join("%s=%s" % (k, v) for k, v in kv)


BEGIN, END = "<!-- bench:results:begin -->", "<!-- bench:results:end -->"


def update_readme(path, text):
    """Replaces the block between the results markers of the README at path with text (fenced)."""
    try:
        with open(path) as f:
            doc = f.read()
    except OSError:
        return
    if BEGIN not in doc or END not in doc:
        return
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(path, "w") as f:
        f.write(head + BEGIN + "\n```\n" + text.rstrip() + "\n```\n" + END + tail)
