"""Scenario 6, fairness: k keyrevoke processes, each with its own hashes (more than it could finish
alone), on one token bucket; per-process goodput from each report's deleted rows over [warm-up, end],
Jain's index, and how the shares move from the first half to the second."""

import signal
import time

from ..procs import Client, client_env
from ..reports import ReportCounter
from ..rig import split_file
from ..stats import jain
from ..tools import keyrevoke_cmd


def _one(rig, k, rate, burst, duration, warm, c):
    per = int(rate * duration * 1.2)  # more than one process can finish even with the whole rate
    hashes = rig.hashes(per * k, "fair")
    parts = split_file(hashes, k, rig.work, "fair%d" % k)
    mock = rig.mock(hashes, ["--rate", str(rate), "--burst", str(burst)])
    clients, reports = [], []
    series = []  # (t, [deleted rows per process], mock deleted, mock api, mock 429)
    env = client_env(rig.management_key)
    try:
        for i in range(k):
            cmd, report = keyrevoke_cmd(rig, mock, parts[i], c, name="fair%d-%d" % (k, i))
            reports.append(report)
            clients.append(Client(cmd, env, rig.work, "fair%d-%d" % (k, i), rig.client_cpu))
        t0 = time.monotonic()
        counters = [ReportCounter(p) for p in reports]
        while True:
            now = time.monotonic() - t0
            s = mock.stats()
            series.append((now, [rc.deleted() for rc in counters], s["keys"]["deleted"],
                           s["api_requests"], s["rate_limited"]))
            if now >= duration or any(cl.done.is_set() for cl in clients):
                break
            time.sleep(0.25)
        for cl in clients:
            cl.signal(signal.SIGINT)
        fins = [cl.finish(60) for cl in clients]
    finally:
        for cl in clients:
            if not cl.done.is_set():
                cl.signal(signal.SIGKILL)
        mock.stop()
    # The window: from `warm` seconds after the start to the end of sampling.
    a = next(x for x in series if x[0] >= warm) if any(x[0] >= warm for x in series) else series[0]
    b = series[-1]
    span = b[0] - a[0]
    per_proc = [(b[1][i] - a[1][i]) / span for i in range(k)] if span > 0 else [0.0] * k
    total = sum(per_proc)
    j = jain(per_proc)
    sent = b[3] - a[3]
    res = {"processes": k, "rate": rate, "burst": burst, "concurrency_each": c, "window_s": round(span, 2),
           "window_from_s": warm, "client_cpu": rig.client_cpu,
           "goodput_per_process": [round(x, 1) for x in per_proc], "total_goodput": round(total, 1),
           "total_over_r": round(total / rate, 3), "mock_goodput_over_r": round((b[2] - a[2]) / span / rate, 3),
           "jain": round(j, 4) if j is not None else None,
           "share_429": round((b[4] - a[4]) / sent, 4) if sent else None,
           "client_exit_codes": [f.code for f in fins]}
    # Per-process goodput per second: does the split persist (scale-invariant control keeps
    # whatever split it starts with) or drift towards equal shares?
    per_s = []
    j0 = 0
    for i in range(1, len(series)):
        if series[i][0] - series[j0][0] >= 1.0 - 1e-6:
            dt = series[i][0] - series[j0][0]
            per_s.append([round(series[i][0], 2)] + [round((series[i][1][p] - series[j0][1][p]) / dt, 1)
                                                     for p in range(k)])
            j0 = i
    res["per_process_per_s"] = per_s
    half = len(per_s) // 2
    if half >= 1:
        def share(rows):
            tot = [sum(r[1 + p] for r in rows) for p in range(k)]
            all_ = sum(tot)
            return [round(x / all_, 3) if all_ else 0 for x in tot]
        res["share_first_half"] = share(per_s[:half])
        res["share_second_half"] = share(per_s[half:])
    return res


def run(rig, processes=(2, 4), rate=1000.0, burst=50, duration=15.0, warm=2.0, concurrency=16):
    """processes: the k values; rate, burst: the shared bucket; duration: s of sampling before SIGINT;
    warm: s left out at the start. Returns one result per k (a list)."""
    return [_one(rig, k, rate, burst, duration, warm, concurrency) for k in processes]
