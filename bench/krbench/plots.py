"""Plots (gnuplot, pngcairo) and their data files, drawn from a scenario's result alone, so a saved run's
JSON can be drawn again (bench.py --replot): the rate step (send rate, goodput, 429s per 0.5 s),
goodput per Retry-After mode, and each fairness process's goodput per second."""

import os
import shutil
import subprocess
import tempfile

from .procs import log


def _gnuplot(script):
    """Runs a gnuplot script; False (and a log line) if gnuplot is missing or fails."""
    if not shutil.which("gnuplot"):
        log("gnuplot not installed: no plot")
        return False
    with tempfile.NamedTemporaryFile("w", suffix=".gp", delete=False) as f:
        f.write(script)
        gp = f.name
    try:
        r = subprocess.run(["gnuplot", gp], capture_output=True, text=True, timeout=60)
    finally:
        os.unlink(gp)
    if r.returncode != 0:
        log("gnuplot failed: %s" % r.stderr.strip())
        return False
    return True


def _schedule(spec):
    """'0:1000,10:250' -> [(0, 1000.0), (10, 250.0)]."""
    return [(int(t), float(r)) for t, r in (x.split(":") for x in spec.split(","))]


def rate_step(res, out_dir, stem):
    """The rate-step result -> out_dir/stem.dat and stem.png; returns the png's path or None."""
    from .scenarios.rate_step import rate_at
    schedule = _schedule(res["schedule"])
    os.makedirs(out_dir, exist_ok=True)
    dat = os.path.join(out_dir, stem + ".dat")
    with open(dat, "w") as f:
        f.write("# t0_s t_mid_s bucket_rate send_rate goodput throttled_per_s (per 0.5 s bin, from the mock)\n")
        for b in res["bins"]:
            span = b["t1"] - b["t0"]
            f.write("%.2f %.2f %.0f %.1f %.1f %.1f\n" % (
                b["t0"], (b["t0"] + b["t1"]) / 2, rate_at(schedule, b["t0"]), b["sent"] / span,
                b["deleted"] / span, b["throttled"] / span))
    png = os.path.join(out_dir, stem + ".png")
    ok = _gnuplot("""set terminal pngcairo size 1000,520 font ",10"
set output '%s'
set title "keyrevoke against --rate-schedule %s (burst %d): per 0.5 s, from the mock's counters"
set xlabel "seconds since the mock started"
set ylabel "requests / s"
set grid
set key top right
set yrange [0:*]
set y2label "429 answers / s"
set y2range [0:*]
set y2tics
set ytics nomirror
set style fill solid 0.5 noborder
plot '%s' using 2:6 axes x1y2 with boxes lc rgb "#d62728" title "429s / s (right axis)", \\
     '' using 1:3 with steps lw 2 lc rgb "#999999" title "bucket rate R", \\
     '' using 2:4 with linespoints pt 7 ps 0.4 lw 2 lc rgb "#1f77b4" title "send rate", \\
     '' using 2:5 with linespoints pt 7 ps 0.4 lw 2 lc rgb "#2ca02c" title "goodput (deleted)"
""" % (png, res["schedule"], res["burst"], dat))
    return png if ok else None


def throttled(res, out_dir, stem):
    """The throttled result -> out_dir/stem-MODE.dat per mode and stem.png; the png's path or None."""
    os.makedirs(out_dir, exist_ok=True)
    rate = res["rate"]
    dats = []
    for r in res["runs"]:
        if not r.get("bins"):
            continue
        t0 = r["bins"][0]["t0"]
        dat = os.path.join(out_dir, "%s-%s.dat" % (stem, r["retry_after"]))
        with open(dat, "w") as f:
            f.write("# t_s (since the first bin) goodput_per_s throttled_per_s; --retry-after %s\n" % r["retry_after"])
            for b in r["bins"]:
                span = b["t1"] - b["t0"]
                f.write("%.2f %.1f %.1f\n" % ((b["t0"] + b["t1"]) / 2 - t0, b["deleted"] / span,
                                              b["throttled"] / span))
        dats.append((r["retry_after"], dat))
    if not dats:
        return None
    png = os.path.join(out_dir, stem + ".png")
    colors = ["#1f77b4", "#2ca02c", "#ff7f0e", "#9467bd"]
    plots = ["%d title 'R' with lines lw 2 lc rgb '#999999'" % rate]
    for i, (mode, dat) in enumerate(dats):
        plots.append("'%s' using 1:2 with lines lw 2 lc rgb '%s' title 'goodput, --retry-after %s'"
                     % (dat, colors[i % len(colors)], mode))
    script = "set terminal pngcairo size 1000,480 font \",10\"\nset output '%s'\n" % png
    script += ("set title 'keyrevoke against a token bucket R=%d/s, burst %d: goodput per 0.5 s (mock counters)'\n"
               % (rate, res["burst"]))
    script += "set xlabel 'seconds'\nset ylabel 'deleted / s'\nset grid\nset yrange [0:%d]\n" % (rate * 1.6)
    script += "set key bottom right\nplot " + ", \\\n     ".join(plots) + "\n"
    return png if _gnuplot(script) else None


def fairness(res, out_dir, stem):
    """One fairness result (one k) -> out_dir/stem.dat and stem.png; the png's path or None."""
    if not res.get("per_process_per_s"):
        return None
    os.makedirs(out_dir, exist_ok=True)
    k = res["processes"]
    dat = os.path.join(out_dir, stem + ".dat")
    with open(dat, "w") as f:
        f.write("# t_s then goodput/s of each of %d keyrevoke processes, per second\n" % k)
        for row in res["per_process_per_s"]:
            f.write(" ".join(str(x) for x in row) + "\n")
    png = os.path.join(out_dir, stem + ".png")
    plots = ["%g title 'R/k' with lines lw 2 lc rgb '#999999'" % (res["rate"] / k)]
    for p in range(k):
        plots.append("'%s' using 1:%d with linespoints pt 7 ps 0.5 lw 2 title 'process %d'" % (dat, p + 2, p + 1))
    script = "set terminal pngcairo size 900,420 font \",10\"\nset output '%s'\n" % png
    script += ("set title '%d keyrevoke processes on one bucket R=%d/s: goodput of each per second (Jain %.3f)'\n"
               % (k, res["rate"], res["jain"] or 0))
    script += "set xlabel 'seconds'\nset ylabel 'deleted / s'\nset grid\nset yrange [0:*]\nset key outside right\n"
    script += "plot " + ", \\\n     ".join(plots) + "\n"
    return png if _gnuplot(script) else None


DRAWN = ("throttled", "rate_step", "fairness")  # the scenarios with plots


def draw(scenario, res, out_dir, suffix=""):
    """Draws what a scenario's result has plots for (stems end in suffix, e.g. "-quick"); sets
    res["plot"] (throttled, rate_step) to the png's path, None when there is none."""
    if scenario == "rate_step":
        res["plot"] = rate_step(res, out_dir, "rate_step" + suffix)
    elif scenario == "throttled":
        res["plot"] = throttled(res, out_dir, "throttled" + suffix)
    elif scenario == "fairness":
        for r in res:
            fairness(r, out_dir, "fairness-k%d%s" % (r["processes"], suffix))
