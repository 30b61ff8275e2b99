"""Scenario outage: a server that fails for a while and recovers, and a server that is dead.

Outage with recovery: keyrevoke-mock's --outage START:DURATION:KIND (every API request answered 503, or its
connection reset, for DURATION s from START s after the first API request; the store untouched), N hashes at
--concurrency c. Figures, each a ratio within this run: time to drain over (a clean run's time + DURATION),
requests per key (the mock's API requests / N), and the same for curl --parallel --retry (a naive peer:
curl's own backoff, 1 s doubling). Dead server: nothing listening on the port (refused), a server that
accepts TCP and never completes the TLS handshake (--tls-stall), and one that never answers a request
(--phang 1): keyrevoke's time to exit (and exit code), over its --timeout; curl's time to exit beside it."""

import os
import socket
import types

from .. import gateway
from ..procs import client_env, log, run_client
from ..stats import ratio
from ..tools import keyrevoke_cmd, measure_curl, measure_keyrevoke


def _outage_run(rig, path, n, tool, c, outage):
    args = ["--outage", outage] if outage else []
    mock = rig.mock(path, args=args)
    try:
        if tool == "keyrevoke":
            rec = measure_keyrevoke(rig, mock, path, c, timeout=300)
        else:
            extra = ["--retry", "10"]
            if outage and outage.endswith(":reset"):
                extra.append("--retry-all-errors")  # curl retries only "transient" HTTP statuses by default
            rec = measure_curl(rig, mock, path, c, timeout=300, extra=extra,
                               sink=os.path.join(rig.work, rig.name("curl-bodies")))
    finally:
        mock.stop()
    deleted = rec["mock"]["deleted"]
    return {"tool": tool, "outage": outage, "wall_s": rec["wall_s"], "exit_code": rec["exit_code"],
            "timed_out": rec["timed_out"], "requests": rec["mock"]["api_requests"],
            "requests_per_key": round(rec["mock"]["api_requests"] / n, 3), "deleted": deleted,
            "deleted_share": round(deleted / n, 4), "cpu_s": rec["cpu_s"], "other_cpu_util": rec.get("other_cpu_util")}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dead_run(rig, hashes_file, tool, kind, timeout_s):
    """One run against a dead server of `kind` (refused | tls_stall | hang); its time to exit."""
    mock = None
    if kind == "refused":
        cert, _ = gateway.make_cert(rig.work, rig.name("dead-cert"))  # any certificate: never presented
        server = types.SimpleNamespace(base_url="https://127.0.0.1:%d/api/v1" % _free_port(), ca=cert)
    else:
        mock = rig.mock(hashes_file, args=["--tls-stall"] if kind == "tls_stall" else ["--phang", "1"])
        server = mock
    try:
        if tool == "keyrevoke":
            cmd, _ = keyrevoke_cmd(rig, server, hashes_file, 16, extra=["--timeout", str(timeout_s)])
        else:
            # The key in a mode-600 -K config file, never on the command line; two URLs.
            cfg = os.path.join(rig.work, rig.name("dead-curl") + ".cfg")
            with os.fdopen(os.open(cfg, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as f:
                f.write('header = "Authorization: Bearer %s"\n' % rig.management_key)
                with open(hashes_file) as hf:
                    for line in list(hf)[:2]:
                        f.write('url = "%s/keys/%s"\noutput = "/dev/null"\n' % (server.base_url, line.strip()))
            cmd = ["curl", "--parallel", "--parallel-max", "16", "--http1.1", "-X", "DELETE", "--cacert", server.ca,
                   "--silent", "--max-time", str(timeout_s), "-K", cfg]
        fin = run_client(cmd, client_env(rig.management_key), rig.work, rig.name("dead-" + tool), rig.client_cpu, 120)
    finally:
        if mock is not None:
            mock.stop()
    return {"tool": tool, "kind": kind, "exit_s": round(fin.wall, 2), "exit_code": fin.code,
            "timed_out": fin.timed_out, "over_timeout": round(fin.wall / timeout_s, 2)}


def run(rig, hashes=20_000, concurrency=16, outage_start=0.5, outage_s=5.0, kinds=("503", "reset"),
        dead_hashes=1_000, dead_timeout_s=2):
    n = hashes
    path = rig.hashes(n, stem="outage")
    res = {"hashes": n, "concurrency": concurrency, "outage_s": outage_s, "outage_start_s": outage_start,
           "clean": {}, "runs": [], "dead": [], "dead_timeout_s": dead_timeout_s}
    for tool in ("keyrevoke", "curl"):
        res["clean"][tool] = _outage_run(rig, path, n, tool, concurrency, None)
    for kind in kinds:
        outage = "%g:%g:%s" % (outage_start, outage_s, kind)
        for tool in ("keyrevoke", "curl"):
            r = _outage_run(rig, path, n, tool, concurrency, outage)
            ideal = res["clean"][tool]["wall_s"] + outage_s
            r["x_clean_plus_outage"] = ratio(r["wall_s"], ideal)
            res["runs"].append(r)
        kr, cu = res["runs"][-2], res["runs"][-1]
        kr["drain_over_curl"] = ratio(kr["wall_s"], cu["wall_s"])
        kr["requests_per_key_over_curl"] = ratio(kr["requests_per_key"], cu["requests_per_key"])
    dead_path = rig.hashes(dead_hashes, stem="dead")
    for kind in ("refused", "tls_stall", "hang"):
        for tool in ("keyrevoke", "curl"):
            res["dead"].append(_dead_run(rig, dead_path, tool, kind, dead_timeout_s))
    log("outage: %s" % [(r["tool"], r["outage"], r["wall_s"]) for r in res["runs"]])
    return res


def render(res):
    out = ["## Outage: --outage %g s from %g s after the first request, %s hashes, --concurrency %d; dead servers"
           % (res["outage_s"], res["outage_start_s"], "{:,}".format(res["hashes"]), res["concurrency"]),
           "x ideal = time to drain / (the same tool's clean run + the outage); req/key from the mock's counters",
           "",
           "%-10s %-8s %8s %8s %8s %9s %8s %5s" % ("tool", "outage", "time s", "x ideal", "req/key", "deleted", "x curl",
                                                  "exit")]
    for tool, r in res["clean"].items():
        out.append("%-10s %-8s %8.2f %8s %8.3f %9.4f %8s %5s" % (tool, "none", r["wall_s"], "-", r["requests_per_key"],
                                                               r["deleted_share"], "-", r["exit_code"]))
    for r in res["runs"]:
        out.append("%-10s %-8s %8.2f %8s %8.3f %9.4f %8s %5s" % (
            r["tool"], r["outage"].split(":")[-1], r["wall_s"], _f(r.get("x_clean_plus_outage")), r["requests_per_key"],
            r["deleted_share"], _f(r.get("drain_over_curl")), r["exit_code"]))
    out += ["", "dead server (keyrevoke --timeout %g s over %s hashes; curl --max-time %g s over 2 URLs):" % (
        res["dead_timeout_s"], "1,000", res["dead_timeout_s"]), "%-10s %-10s %8s %10s %5s" % ("tool", "server", "exit s", "x timeout", "exit")]
    for d in res["dead"]:
        out.append("%-10s %-10s %8.2f %10.2f %5s%s" % (d["tool"], d["kind"], d["exit_s"], d["over_timeout"], d["exit_code"],
                                                      " (killed at the deadline)" if d["timed_out"] else ""))
    out.append("")
    return out


def _f(x):
    return "%.2f" % x if x is not None else "-"
