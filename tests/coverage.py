#!/usr/bin/env python3
"""Line and branch coverage per source directory (src/core, src/net, src/app, src/mock, src/), from the
gcov counters of a `coverage` preset build after its tests ran, and a check against floors.

    tests/coverage.py [--build build/coverage] [--floors tests/coverage_floors.txt]

Runs gcovr (Debian package `gcovr`) with throw and unreachable branches excluded (a compiler's exception
edges are not decisions of ours), prints one row per directory and fails (exit 1) when a directory is
below its floor. Floors file: `directory  lines%  branches%` per line (# comments)."""

import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIRECTORIES = ["src/core", "src/net", "src/app", "src/mock", "src"]


def load_floors(path):
    floors = {}
    with open(path) as f:
        for line in f:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            directory, lines, branches = line.split()
            floors[directory.rstrip("/")] = (float(lines), float(branches))
    return floors


def directory_of(filename):
    """The DIRECTORIES row a file belongs to (src/main.cpp only to src)."""
    parts = filename.split("/")
    if len(parts) >= 3 and "/".join(parts[:2]) in DIRECTORIES:
        return "/".join(parts[:2])
    return "src"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "coverage"))
    ap.add_argument("--floors", default=os.path.join(ROOT, "tests", "coverage_floors.txt"))
    ap.add_argument("--files", action="store_true", help="also list the files of each directory")
    args = ap.parse_args()

    summary = os.path.join(args.build, "coverage-summary.json")
    # --gcov-ignore-parse-errors: a counter gone negative (a line gcovr 5.2 cannot parse) must not stop
    # the report, and with -j an exception in a worker hangs gcovr 5.2 rather than failing it.
    cmd = ["gcovr", "--root", ROOT, "--filter", os.path.join(ROOT, "src") + "/", "--exclude-throw-branches",
           "--exclude-unreachable-branches", "--gcov-ignore-parse-errors", "-j", str(os.cpu_count() or 2),
           "--json-summary", summary, "--html", os.path.join(args.build, "coverage.html"), args.build]
    try:
        res = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=1200)
    except subprocess.TimeoutExpired:
        print("coverage: gcovr did not finish within 20 minutes")
        return 1
    if res.returncode != 0:
        sys.stdout.write(res.stdout.decode("utf-8", "replace")[-4000:])
        print("coverage: gcovr failed (exit %d)" % res.returncode)
        return 1
    with open(summary) as f:
        data = json.load(f)

    totals = {d: [0, 0, 0, 0] for d in DIRECTORIES}  # lines covered, lines, branches covered, branches
    per_file = {d: [] for d in DIRECTORIES}
    for entry in data["files"]:
        name = entry["filename"]
        d = directory_of(name)
        for key in {d, "src"}:
            t = totals[key]
            t[0] += entry["line_covered"]
            t[1] += entry["line_total"]
            t[2] += entry["branch_covered"]
            t[3] += entry["branch_total"]
        per_file[d].append(entry)

    floors = load_floors(args.floors) if os.path.exists(args.floors) else {}
    problems = []
    print("%-10s %18s %18s   %s" % ("directory", "lines", "branches", "floor (lines, branches)"))
    for d in DIRECTORIES:
        lc, lt, bc, bt = totals[d]
        lp = 100.0 * lc / lt if lt else 0.0
        bp = 100.0 * bc / bt if bt else 0.0
        floor = floors.get(d)
        note = "%.1f%%, %.1f%%" % floor if floor else "-"
        if floor and (lp < floor[0] or bp < floor[1]):
            note += "  BELOW THE FLOOR"
            problems.append("%s: %.1f%% lines, %.1f%% branches, floor %.1f%%, %.1f%%" % (d, lp, bp, *floor))
        print("%-10s %6.1f%% %5d/%-5d %6.1f%% %5d/%-5d   %s" % (d, lp, lc, lt, bp, bc, bt, note))
        if args.files and d != "src":
            for e in sorted(per_file[d], key=lambda e: e["line_percent"]):
                print("    %-45s %6.1f%% lines %6.1f%% branches" % (e["filename"], e["line_percent"],
                                                                    e["branch_percent"]))
    for d in floors:
        if d not in totals:
            problems.append("floor for unknown directory %s" % d)
    if not data["files"]:
        problems.append("no coverage data: did the tests run in the coverage build?")
    errors = os.path.join(args.build, "gcov-errors.log")
    if os.path.exists(errors):
        with open(errors, errors="replace") as f:
            n = sum(1 for line in f if "profiling" in line)
        if n:
            print("coverage: %d libgcov errors while the tests ran (counters of a process lost; see %s)"
                  % (n, errors))
    print("coverage: HTML report in %s" % os.path.join(args.build, "coverage.html"))
    for p in problems:
        print("coverage: FAILED: %s" % p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
