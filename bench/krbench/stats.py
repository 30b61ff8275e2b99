"""Statistics, pure functions: percentiles and latency summaries, ratios, cumulative counters binned over
time, convergence after a rate step, Jain's fairness index."""

import math


def percentile(sorted_values, p):
    """Nearest-rank percentile p (0..100) of an ascending list; None if it is empty."""
    if not sorted_values:
        return None
    k = max(0, min(len(sorted_values) - 1, int(math.ceil(p / 100.0 * len(sorted_values))) - 1))
    return sorted_values[k]


def latency_summary(values_ms):
    """p50, p90, p99, max, mean (ms, 2 decimals) of a list of latencies in ms; None if it is empty."""
    if not values_ms:
        return None
    s = sorted(values_ms)
    return {"p50": round(percentile(s, 50), 2), "p90": round(percentile(s, 90), 2),
            "p99": round(percentile(s, 99), 2), "max": round(s[-1], 2),
            "mean": round(sum(s) / len(s), 2)}


def ratio(a, b):
    """a / b to 3 decimals; None if either is missing or b is 0."""
    try:
        return round(a / b, 3) if a is not None and b else None
    except (TypeError, ZeroDivisionError):
        return None


def median(values):
    """The upper median (the harness's convention: sorted(values)[len // 2])."""
    s = sorted(values)
    return s[len(s) // 2]


def bin_counters(samples, width):
    """Cumulative (t s, sent, deleted, throttled) samples -> per-bin deltas over bins of `width` s,
    linearly interpolated between samples."""
    def at(t, idx):
        for j in range(1, len(samples)):
            if samples[j][0] >= t:
                a, b = samples[j - 1], samples[j]
                f = (t - a[0]) / (b[0] - a[0]) if b[0] > a[0] else 1.0
                return a[idx] + f * (b[idx] - a[idx])
        return samples[-1][idx]

    bins = []
    t = math.floor(samples[0][0] / width) * width
    if t < samples[0][0]:
        t += width
    end = samples[-1][0]
    while t + width <= end + 1e-9:
        bins.append({"t0": round(t, 3), "t1": round(t + width, 3),
                     "sent": round(at(t + width, 1) - at(t, 1), 1),
                     "deleted": round(at(t + width, 2) - at(t, 2), 1),
                     "throttled": round(at(t + width, 3) - at(t, 3), 1)})
        t += width
    return bins


def convergence_time(bins, step_at, seg_end, rate, tolerance, hold):
    """Seconds from step_at to the first bin from which goodput stays within tolerance (a share) of
    rate for hold s, within [step_at, seg_end]; None if it never does."""
    seg = [b for b in bins if b["t0"] >= step_at - 1e-9 and b["t1"] <= seg_end + 1e-9]
    for i, b in enumerate(seg):
        window = [x for x in seg[i:] if x["t0"] < b["t0"] + hold - 1e-9]
        if not window or window[-1]["t1"] < b["t0"] + hold - 1e-9:
            return None
        if all(abs(x["deleted"] / (x["t1"] - x["t0"]) - rate) <= tolerance * rate for x in window):
            return round(b["t0"] - step_at, 2)
    return None


def jain(xs):
    """Jain's fairness index (sum x)^2 / (k * sum x^2), 1/k..1; None when nothing was delivered."""
    total = sum(xs)
    return total * total / (len(xs) * sum(x * x for x in xs)) if total > 0 else None


def quiet_pairs(pairs, quiet=0.05):
    """The pairs run while other processes took at most `quiet` of a CPU (all pairs when none was)."""
    return [p for p in pairs if (p.get("other_cpu_util_max") or 0) <= quiet] or list(pairs)


def headline_pair(pairs, key, quiet=0.05):
    """The pair a ratio's headline comes from: the median by `key` of the pairs run while other processes
    took at most `quiet` of a CPU (all pairs when none was). Never the best pair: that would flatter."""
    calm = [p for p in pairs if (p.get("other_cpu_util_max") or 0) <= quiet] or list(pairs)
    ordered = sorted(calm, key=lambda p: p[key] or 0)
    return ordered[(len(ordered) - 1) // 2]
