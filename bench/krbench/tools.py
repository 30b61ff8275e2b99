"""One measured run of each tool against a mock: keyrevoke, curl --parallel, the aiohttp peer, wrk.
Each returns a record (dict): hashes, requests, wall time, req/s, CPU per 1k requests, peak RSS,
outcomes, answers by status class, latency, the mock's counters over the run and other people's CPU."""

import json
import os
import time

from .measure import MockWindow
from .mock import sample
from .procs import Client, client_env, log, run_client
from .reports import parse_keyrevoke_summary, parse_report, status_classes
from .rig import AIOHTTP_PEER, WRK_SCRIPT
from .stats import bin_counters, latency_summary


def keyrevoke_cmd(rig, mock, hashes_file, concurrency, extra=(), name="keyrevoke"):
    """keyrevoke's command line against mock (the key goes in the environment) and its report's path."""
    report = os.path.join(rig.work, rig.name(name) + ".jsonl")
    cmd = [rig.keyrevoke, "--base-url", mock.base_url, "--cacert", mock.ca, "--report", report, "--force",
           "--progress", "never", "--concurrency", str(concurrency)] + list(extra) + [hashes_file]
    return cmd, report


def measure_keyrevoke(rig, mock, hashes_file, concurrency, extra=(), timeout=900, sample_counters=False):
    """One keyrevoke run (deadline: timeout s). With sample_counters the mock's counters are also read
    every 100 ms and binned per 0.5 s (rec["bins"]: sent, deleted, throttled per bin), and
    rec["tail_last_1pct_s"] is the time the last 1 % of deletions took."""
    cmd, report = keyrevoke_cmd(rig, mock, hashes_file, concurrency, extra)
    env = client_env(rig.management_key)
    window = MockWindow(mock)
    samples = []
    if sample_counters:
        client = Client(cmd, env, rig.work, os.path.basename(report)[:-6], rig.client_cpu)
        deadline = time.monotonic() + timeout
        next_tick = time.monotonic()
        while not client.done.is_set() and time.monotonic() < deadline:
            samples.append(sample(mock.stats()))
            next_tick += 0.1
            client.done.wait(max(0.0, next_tick - time.monotonic()))
        fin = client.finish(max(1.0, deadline - time.monotonic()))
        samples.append(sample(mock.stats()))
    else:
        fin = run_client(cmd, env, rig.work, os.path.basename(report)[:-6], rig.client_cpu, timeout)
    m = window.close()
    rep = parse_report(report)
    self_rep = parse_keyrevoke_summary(fin.stderr)
    requests = self_rep.get("requests", rep["attempts_total"])
    rec = record("keyrevoke", concurrency, fin, rep["rows"], requests, m, rep["latency_ms"],
                 outcomes=rep["outcomes"], report=rep, self_reported=self_rep)
    if sample_counters and len(samples) >= 2:
        rec["bins"] = bin_counters(samples, 0.5)
        # The tail: how long the last 1% of deletions took (retries waiting out a Retry-After show here).
        base, final = samples[0][2], samples[-1][2]
        t99 = next((x[0] for x in samples if x[2] - base >= 0.99 * (final - base)), samples[-1][0])
        rec["tail_last_1pct_s"] = round(samples[-1][0] - t99, 2)
    return rec


def measure_curl(rig, mock, hashes_file, concurrency, timeout=900, extra=(), sink="/dev/null"):
    """curl --parallel over the same URLs; the auth header and URLs in a mode-600 -K config file; extra:
    more curl options (e.g. --retry N); sink: where bodies go (--retry must truncate it: a regular file)."""
    name = rig.name("curl")
    cfg = os.path.join(rig.work, name + ".cfg")
    fd = os.open(cfg, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write('header = "Authorization: Bearer %s"\n' % rig.management_key)
        with open(hashes_file) as hf:
            for line in hf:
                h = line.strip()
                if h:
                    f.write('url = "%s/keys/%s"\noutput = "%s"\n' % (mock.base_url, h, sink))
    cmd = ["curl", "--parallel", "--parallel-max", str(concurrency), "--parallel-immediate", "--http1.1",
           "-X", "DELETE", "-H", "Content-Type: application/json", "-H", "Accept: application/json",
           "-d", "{}", "--cacert", mock.ca, "--silent", "--show-error",
           "--write-out", "%{http_code} %{time_total}\\n"] + list(extra) + ["-K", cfg]
    window = MockWindow(mock)
    fin = run_client(cmd, client_env(rig.management_key), rig.work, name, rig.client_cpu, timeout)
    m = window.close()
    codes, lat = {}, []
    for line in fin.stdout.splitlines():
        parts = line.split()
        if len(parts) != 2:
            continue
        codes[parts[0]] = codes.get(parts[0], 0) + 1
        lat.append(float(parts[1]) * 1000.0)
    n = sum(codes.values())
    outcomes = {"deleted": codes.get("200", 0), "not_found": codes.get("404", 0)}
    outcomes["failed"] = n - outcomes["deleted"] - outcomes["not_found"]
    os.unlink(cfg)
    return record("curl", concurrency, fin, n, n, m, latency_summary(lat), outcomes=outcomes,
                  self_reported={"http_codes": codes})


def measure_aiohttp(rig, mock, hashes_file, concurrency, timeout=900):
    """bench/peers/aiohttp_revoke.py: asyncio + aiohttp, a semaphore of `concurrency`."""
    name = rig.name("aiohttp")
    report = os.path.join(rig.work, name + ".jsonl")
    cmd = [rig.aiohttp_python, AIOHTTP_PEER, "--base-url", mock.base_url, "--cacert", mock.ca,
           "--concurrency", str(concurrency), "--report", report, hashes_file]
    window = MockWindow(mock)
    fin = run_client(cmd, client_env(rig.management_key), rig.work, name, rig.client_cpu, timeout)
    m = window.close()
    rep = parse_report(report)
    return record("aiohttp", concurrency, fin, rep["rows"], rep["attempts_total"], m, rep["latency_ms"],
                  outcomes=rep["outcomes"], report=rep)


def measure_wrk(rig, mock, hashes_file, concurrency, seconds, timeout=900):
    """wrk -t1 -c`concurrency` for `seconds` s with bench/wrk_delete.lua (the ceiling); req/s over its
    own measured duration."""
    name = rig.name("wrk")
    cmd = ["wrk", "-t1", "-c%d" % concurrency, "-d%ds" % seconds, "--timeout", "10s", "-s", WRK_SCRIPT,
           mock.origin]
    window = MockWindow(mock)
    fin = run_client(cmd, client_env(rig.management_key, {"WRK_HASHES": hashes_file, "WRK_BASE_PATH": "/api/v1"}),
                     rig.work, name, rig.client_cpu, timeout)
    m = window.close()
    summary = {}
    for line in fin.stdout.splitlines():
        if line.startswith("wrk_delete: "):
            summary = json.loads(line[len("wrk_delete: "):])
    n = int(summary.get("requests", 0))
    dur = summary.get("duration_us", 0) / 1e6
    lat = summary.get("latency_us", {})
    latency = {k: round(lat[k] / 1000.0, 2) for k in ("p50", "p90", "p99", "max", "mean") if k in lat}
    # wrk counts what it read back; the mock may also have answered requests wrk cut off at the end.
    errs = summary.get("errors", {})
    outcomes = {"deleted": m["deleted"], "not_found": m["status_counts"].get("404", 0),
                "failed": sum(int(errs.get(k, 0)) for k in ("connect", "read", "write", "timeout"))}
    return record("wrk", concurrency, fin, n, n, m, latency or None, outcomes=outcomes,
                  self_reported=summary, wall_override=dur if dur > 0 else None)


def record(tool, concurrency, fin, hashes, requests, m, latency, outcomes=None, report=None,
           self_reported=None, wall_override=None):
    """The record of one run: fin (procs.Finished), m (MockWindow.close()), latency (ms summary)."""
    wall = wall_override or fin.wall
    rec = {
        "tool": tool, "concurrency": concurrency, "hashes": hashes, "requests": requests,
        "exit_code": fin.code, "timed_out": fin.timed_out,
        "wall_s": round(wall, 3), "process_wall_s": round(fin.wall, 3),
        "rate": round(hashes / wall, 1) if wall > 0 else None,
        "cpu_s": round(fin.cpu_s, 3), "cpu_util": round(fin.cpu_s / fin.wall, 3) if fin.wall > 0 else None,
        "cpu_s_per_1k": round(fin.cpu_s / requests * 1000.0, 4) if requests else None,
        "maxrss_mib": round(fin.maxrss_mib, 1),
        "outcomes": outcomes or {}, "status": status_classes(m["status_counts"]), "mock": m,
        "latency_ms": latency,
    }
    # CPU the machine spent on anything but this client, the mock and the harness: other people's
    # work on a shared machine. Over ~5% of a CPU, the numbers of this run are suspect.
    other = m["machine_busy_s"] - fin.cpu_s - m["cpu_s"] - m["harness_cpu_s"]
    rec["other_cpu_util"] = round(max(0.0, other) / m["window_s"], 3) if m["window_s"] > 0 else None
    if report:
        rec["attempts_mean"] = report["attempts_mean"]
        rec["attempts_max"] = report["attempts_max"]
    if self_reported:
        rec["self_reported"] = self_reported
    if fin.code not in (0,) and tool != "wrk":
        rec["stderr_tail"] = fin.stderr[-600:]
    if fin.timed_out or (fin.code != 0):
        log("%s exited %s%s: %s" % (tool, fin.code, " (timed out)" if fin.timed_out else "",
                                     fin.stderr.strip()[-300:]))
    log("%-9s c=%-3d %8d hashes %7.2f s %9.0f/s cpu %.2f s rss %.1f MiB | mock cpu %.0f%% | other %.0f%%" % (
        tool, concurrency, hashes, wall, rec["rate"] or 0, rec["cpu_s"], rec["maxrss_mib"],
        100 * (m["cpu_util"] or 0), 100 * (rec["other_cpu_util"] or 0)))
    return rec
