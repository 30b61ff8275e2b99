"""The run: options (bench/run.sh passes its extra arguments here), each scenario's parameters for full
and quick runs, the scenarios in order (a failing one is reported without voiding the others), the
printed tables, and the JSON, plots and README block it writes. Run outputs go to bench/results/runs/
(ignored by git); bench/results/baseline/ holds the curated run the README quotes."""

import argparse
import datetime
import http.client
import json
import os
import shutil
import signal
import sys
import tempfile
import time

from . import plots, report
from .measure import NCPU, wait_for_idle
from .procs import REG, log
from .rig import HERE, ROOT, Rig, machine_info, private_copies
from .scenarios import (ORDER, fairness, latency, outage, quota, rate_step, rate_step_quota, raw, scale, throttled,
                        wire)

RESULTS = os.path.join(HERE, "results")
RUNS = os.path.join(RESULTS, "runs")
README = os.path.join(HERE, "README.md")
KEYREVOKE = os.environ.get("KEYREVOKE_BIN", os.path.join(ROOT, "build", "release", "keyrevoke"))
MOCK = os.environ.get("KEYREVOKE_MOCK_BIN", os.path.join(ROOT, "build", "release", "keyrevoke-mock"))

MODULES = {"raw": raw, "throttled": throttled, "rate_step": rate_step, "latency": latency, "scale": scale,
           "fairness": fairness, "wire": wire, "outage": outage, "quota": quota,
           "rate_step_quota": rate_step_quota}
# The key each scenario's result has in the JSON's "results" (raw's predates the module's name).
RESULT_KEY = {"raw": "raw_throughput"}


def scenario_params(name, quick, results):
    """The parameters of scenario `name` for a full or quick run. results: what ran before, in this run;
    only scale uses it (raw's best concurrency, 32 without raw), and says so here."""
    if name == "raw":
        return dict(hashes=10_000 if quick else 100_000, sweep=(16, 32, 64), rounds=1 if quick else 3,
                    wrk_min_s=2 if quick else 3, unpinned_check=not quick)
    if name == "throttled":
        return dict(hashes=2_500 if quick else 10_000, rate=500.0, burst=50, concurrency=16)
    if name in ("rate_step", "rate_step_quota"):
        if quick:
            return dict(schedule=[(0, 1000.0), (3, 250.0), (6, 1000.0)], duration=9.0, burst=50, concurrency=16)
        return dict(schedule=[(0, 1000.0), (10, 250.0), (20, 1000.0)], duration=30.0, burst=50, concurrency=16)
    if name == "latency":
        return dict(latency_ms=50.0, target_s=1.5 if quick else 8.0, concurrencies=(16, 64))
    if name == "scale":
        best = results.get("raw_throughput", {}).get("best_concurrency") or 32
        return dict(sizes=(10_000, 100_000) if quick else (10_000, 100_000, 1_000_000), concurrency=best)
    if name == "fairness":
        return dict(processes=(2, 4), rate=1000.0, burst=50, duration=4.0 if quick else 15.0,
                    warm=1.0 if quick else 2.0, concurrency=16)
    if name == "wire":
        return dict(hashes=10_000 if quick else 50_000, rounds=1 if quick else 5)
    if name == "outage":
        return dict(hashes=5_000 if quick else 20_000, outage_s=3.0 if quick else 5.0)
    if name == "quota":
        return dict(hashes=2_000 if quick else 8_000, rate=400.0, burst=40, processes=(1, 2, 4), concurrency=16)
    raise KeyError(name)


def parse_args(argv):
    ap = argparse.ArgumentParser(description="keyrevoke benchmark harness (bench/run.sh drives it)")
    ap.add_argument("--quick", action="store_true", help="smaller runs, under a minute")
    ap.add_argument("--only", default="", help="comma-separated subset of: " + ",".join(ORDER))
    ap.add_argument("--mock-threads", type=int, default=1, help="mock io threads [1: it has one core]")
    ap.add_argument("--placement", choices=("pinned", "shared"), default="pinned",
                    help="pinned: mock on cpu 0, clients on cpu 1 (taskset); shared: no pinning [pinned]")
    ap.add_argument("--wait-idle", type=float, default=0, metavar="SECONDS",
                    help="first wait up to SECONDS for the machine to be idle (other builds skew numbers)")
    ap.add_argument("--pidfile", help="where the pids of running children are kept (for run.sh's trap)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory (reports, logs)")
    ap.add_argument("--no-readme", action="store_true", help="do not update bench/README.md")
    ap.add_argument("--replot", metavar="JSON",
                    help="measure nothing: draw the plots of a saved run into the folder of its JSON")
    return ap.parse_args(argv)


def replot(path):
    with open(path) as f:
        doc = json.load(f)
    suffix = "-quick" if doc.get("mode") == "quick" else ""
    for name in ORDER:
        res = doc["results"].get(RESULT_KEY.get(name, name))
        if res and name in plots.DRAWN:
            plots.draw(name, res, os.path.dirname(os.path.abspath(path)), suffix)
            log("drew %s's plots" % name)
    return 0


def write_outputs(doc, started, quick, partial):
    """runs/latest[-quick][-partial].json and a timestamped copy; returns the first's path."""
    os.makedirs(RUNS, exist_ok=True)
    stamp = datetime.datetime.fromtimestamp(started).strftime("%Y%m%d-%H%M%S")
    tail = "-partial" if partial else ""
    latest = os.path.join(RUNS, "latest%s%s.json" % ("-quick" if quick else "", tail))
    for path in (latest, os.path.join(RUNS, "run-%s-%s%s.json" % (stamp, doc["mode"], tail))):
        with open(path + ".tmp", "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
        os.replace(path + ".tmp", path)
    return latest


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.replot:
        return replot(args.replot)
    for binary in (KEYREVOKE, MOCK):
        if not os.access(binary, os.X_OK):
            sys.exit("bench: %s is missing: build it (bench/run.sh does)" % binary)
    only = [s for s in args.only.split(",") if s] or list(ORDER)
    for s in only:
        if s not in ORDER:
            sys.exit("bench: unknown scenario %r (have %s)" % (s, ", ".join(ORDER)))

    def on_signal(signum, _frame):
        raise KeyboardInterrupt("signal %d" % signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)

    work = tempfile.mkdtemp(prefix="krbench-")
    REG.set_pidfile(args.pidfile or os.path.join(work, "pids"))
    pin = args.placement == "pinned" and NCPU >= 2
    info = machine_info(KEYREVOKE)
    keyrevoke, mock = private_copies(work, KEYREVOKE, MOCK, info)
    rig = Rig(work, keyrevoke, mock, 0 if pin else None, 1 if pin else None, args.mock_threads)
    if args.wait_idle > 0:
        info["busy_before_start"] = round(wait_for_idle(args.wait_idle), 3)
    mode = "quick" if args.quick else "full"
    suffix = "-quick" if args.quick else ""
    results, text = {}, []

    def emit(line=""):
        print(line, flush=True)
        text.append(line)

    started = time.time()
    t0 = time.monotonic()
    ok = False
    try:
        emit("keyrevoke benchmark (%s run) %s, commit %s%s, %s x %s" % (
            mode, datetime.datetime.now().strftime("%Y-%m-%d %H:%M"), info.get("commit", "?"),
            " (src modified)" if info.get("src_dirty") else "", info.get("cpus"), info.get("cpu_model", "?")))
        emit()
        for s in ORDER:
            if s not in only:
                continue
            log("scenario %s" % s)
            t = time.monotonic()
            try:
                res = MODULES[s].run(rig, **scenario_params(s, args.quick, results))
                results[RESULT_KEY.get(s, s)] = res
                plots.draw(s, res, RUNS, suffix)
                if isinstance(res, dict) and "plot" in res:
                    res["plot"] = os.path.relpath(res["plot"], HERE) if res["plot"] else None
                for line in report.RENDER[s](res):
                    emit(line)
            except (OSError, RuntimeError, ValueError, KeyError, http.client.HTTPException) as e:
                # One broken scenario (e.g. a mock stopped from outside) does not void the others.
                REG.kill_all()
                results.pop(RESULT_KEY.get(s, s), None)
                results.setdefault("errors", {})[s] = "%s: %s" % (type(e).__name__, e)
                emit("## scenario %s FAILED: %s: %s" % (s, type(e).__name__, e))
                emit()
                log("scenario %s failed: %r" % (s, e))
            log("scenario %s took %.1f s" % (s, time.monotonic() - t))
        goals = report.targets(results)
        results["targets"] = [{"goal": g, "measured": m, "met": met} for g, m, met in goals]
        for line in report.render_targets(goals):
            emit(line)
        emit(report.summary_line(results, args.quick))
        emit("bench: %s run took %.0f s" % (mode, time.monotonic() - t0))
        ok = True
    except KeyboardInterrupt as e:
        log("interrupted (%s): cleaning up" % (e,))
    finally:
        REG.kill_all()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log("scratch kept in %s" % work)
    if not ok:
        return 130
    doc = {"mode": mode, "started": datetime.datetime.fromtimestamp(started).isoformat(timespec="seconds"),
           "duration_s": round(time.monotonic() - t0, 1), "machine": info,
           "placement": {"mock_cpu": rig.mock_cpu, "client_cpu": rig.client_cpu, "mock_threads": rig.mock_threads},
           "scenarios": only, "results": results, "table": "\n".join(text)}
    # latest.json is always a complete full run; quick and partial (--only) runs have their own names.
    partial = only != list(ORDER)
    log("wrote %s" % write_outputs(doc, started, args.quick, partial))
    if not args.quick and not args.no_readme and not partial:
        report.update_readme(README, "\n".join(text))
    return 0
