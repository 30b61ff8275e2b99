"""Scenario 3, rate step: the mock's --rate-schedule changes R while one keyrevoke runs; the mock's counters
are read every 100 ms and binned per 0.5 s (send rate, goodput, 429s); after each step, the time until
goodput stays within 10 % of the new R for 2 s. The client is stopped with SIGINT at the end."""

import signal
import time

from ..mock import sample
from ..procs import Client, client_env
from ..reports import parse_keyrevoke_summary, parse_report
from ..stats import bin_counters, convergence_time
from ..tools import keyrevoke_cmd


def rate_at(schedule, t):
    """The bucket rate R in force at t s under schedule [(start s, R), ...]."""
    r = schedule[0][1]
    for st, rr in schedule:
        if st <= t:
            r = rr
    return r


def run(rig, schedule=((0, 1000.0), (10, 250.0), (20, 1000.0)), duration=30.0, burst=50, concurrency=16,
        advertise="none"):
    """schedule: [(start s, R/s), ...]; duration: how long keyrevoke runs (s) before SIGINT; advertise: the
    mock's --advertise (none: the client learns R from 429s only; xratelimit/ietf: every answer states it)."""
    schedule = [tuple(x) for x in schedule]
    c = concurrency
    spec = ",".join("%d:%d" % (t, r) for t, r in schedule)
    expected = sum(r * ((schedule[i + 1][0] if i + 1 < len(schedule) else duration) - t)
                   for i, (t, r) in enumerate(schedule))
    n = int(expected * 1.5)
    hashes = rig.hashes(n)
    mock = rig.mock(hashes, ["--rate-schedule", spec, "--burst", str(burst), "--advertise", advertise])
    samples = []
    try:
        cmd, report = keyrevoke_cmd(rig, mock, hashes, c)
        client = Client(cmd, client_env(rig.management_key), rig.work, "rate-step-keyrevoke", rig.client_cpu)
        t_end = time.monotonic() + duration
        next_tick = time.monotonic()
        samples.append((0.0, 0, 0, 0))  # the mock's API counters are zero when it starts
        while True:
            samples.append(sample(mock.stats()))
            if client.done.is_set() or time.monotonic() >= t_end:
                break
            next_tick += 0.1
            time.sleep(max(0.0, next_tick - time.monotonic()))
        client.signal(signal.SIGINT)  # graceful: in-flight requests finish, the report is complete
        fin = client.finish(60)
    finally:
        mock.stop()
    rep = parse_report(report)
    kr = parse_keyrevoke_summary(fin.stderr)
    bins = bin_counters(samples, 0.5)
    t_first = samples[1][0] if len(samples) > 1 else 0.0
    end_t = samples[-1][0]
    steps = []
    for i, (st, r) in enumerate(schedule):
        seg_end = schedule[i + 1][0] if i + 1 < len(schedule) else end_t
        conv = convergence_time(bins, st, seg_end, r, tolerance=0.10, hold=2.0)
        seg = [b for b in bins if st <= b["t0"] and b["t1"] <= seg_end]
        sent = sum(b["sent"] for b in seg)
        lim = sum(b["throttled"] for b in seg)
        good = sum(b["deleted"] for b in seg)
        span = (seg[-1]["t1"] - seg[0]["t0"]) if seg else 0
        steps.append({"at_s": st, "rate": r, "converge_s": conv,
                      "goodput_over_r": round(good / span / r, 3) if span > 0 else None,
                      "share_429": round(lim / sent, 4) if sent else None})
    total_sent = samples[-1][1] - samples[0][1]
    total_429 = samples[-1][3] - samples[0][3]
    return {"schedule": spec, "advertise": advertise, "burst": burst, "concurrency": c, "duration_s": duration, "hashes_given": n,
            "steps": steps, "share_429": round(total_429 / total_sent, 4) if total_sent else None,
            "requests": total_sent, "deleted": samples[-1][2] - samples[0][2],
            "client_started_at_s": round(t_first, 3), "attempts_mean": rep["attempts_mean"],
            "self_reported": kr, "bins": bins, "client_exit": fin.code,
            "client_cpu_s": round(fin.cpu_s, 3), "client_maxrss_mib": round(fin.maxrss_mib, 1)}
