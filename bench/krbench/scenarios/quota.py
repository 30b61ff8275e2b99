"""Scenario 7, quota (issue 12): a token bucket R/s, burst B, that advertises its state on every answer
(keyrevoke-mock --advertise xratelimit | ietf) to 1, 2 and 4 keyrevoke processes sharing it, each with
its share of the N hashes; and the same bucket with no advertised quota and no usable hint ("zero
hints": --retry-after none, and Retry-After: 0). Per run, as ratios measured in this run: completion
time (the last process's) over the ideal (N - B) / R, the share of requests answered 429 (the mock's
counters), requests per hash, and Jain's index of the processes' goodput (their hashes over their own
completion time)."""

import time

from ..procs import Client, client_env
from ..rig import split_file
from ..stats import jain
from ..tools import keyrevoke_cmd

FAMILIES = ("xratelimit", "ietf")
ZERO_HINTS = ("none", "zero")


def _one(rig, hashes_path, n, label, mock_args, k, rate, burst, concurrency):
    parts = split_file(hashes_path, k, rig.work, rig.name("quota-%s-k%d" % (label, k))) if k > 1 else [hashes_path]
    mock = rig.mock(hashes_path, ["--rate", str(rate), "--burst", str(burst)] + list(mock_args))
    env = client_env(rig.management_key)
    clients = []
    try:
        before = mock.stats()
        t0 = time.monotonic()
        for i in range(k):
            cmd, _ = keyrevoke_cmd(rig, mock, parts[i], concurrency, name="quota-%s-%d" % (label, i))
            clients.append(Client(cmd, env, rig.work, "quota-%s-k%d-%d" % (label, k, i), rig.client_cpu))
        fins = [c.finish(max(120.0, 20.0 * n / rate)) for c in clients]
        wall = time.monotonic() - t0
        after = mock.stats()
    finally:
        for c in clients:
            if not c.done.is_set():
                c.signal(9)
        mock.stop()
    ideal = (n - burst) / rate
    sent = after["api_requests"] - before["api_requests"]
    limited = after["rate_limited"] - before["rate_limited"]
    per_proc = [n / k / f.wall if f.wall > 0 else 0.0 for f in fins]
    j = jain(per_proc)
    return {"label": label, "processes": k, "hashes": n, "rate": rate, "burst": burst,
            "concurrency_each": concurrency, "wall_s": round(wall, 3), "ideal_s": round(ideal, 3),
            "completion_over_ideal": round(max(f.wall for f in fins) / ideal, 3),
            "deleted": after["keys"]["deleted"], "requests": sent, "rate_limited": limited,
            "share_429": round(limited / sent, 5) if sent else None,
            "requests_per_hash": round(sent / n, 4) if n else None,
            "jain": round(j, 4) if j is not None else None,
            "process_wall_s": [round(f.wall, 3) for f in fins], "client_exit_codes": [f.code for f in fins]}


def run(rig, hashes=4000, rate=400.0, burst=40, processes=(1, 2, 4), concurrency=16, families=FAMILIES,
        zero_hints=ZERO_HINTS):
    """hashes: N over all processes; rate, burst: the bucket; processes: the k values per family;
    zero_hints: the mock's --retry-after modes run with nothing advertised (one process)."""
    n = hashes
    path = rig.hashes(n, "quota")
    runs = []
    for family in families:
        for k in processes:
            runs.append(_one(rig, path, n, family, ["--advertise", family, "--retry-after", "none"], k, rate,
                             burst, concurrency))
    for mode in zero_hints:
        runs.append(_one(rig, path, n, "hint-" + mode, ["--retry-after", mode], 1, rate, burst, concurrency))
    return {"hashes": n, "rate": rate, "burst": burst, "concurrency_each": concurrency, "runs": runs}
