"""The scenarios, one module each. Every module has `run(rig, ...) -> dict`: it takes its parameters
(sizes, rates, durations; cli.scenario_params sets them for full and quick runs) and returns its result;
no scenario reads what another one set (scale's concurrency is passed in by the caller).

  raw        raw throughput: keyrevoke's --concurrency sweep, curl, aiohttp, keyrevoke/wrk pairs
  throttled  a token bucket, each --retry-after mode: completion vs ideal, 429 share, slow bins, tail
  rate_step  --rate-schedule steps: send rate and goodput per 0.5 s, convergence after each step
  latency    fixed and lognormal server latency: throughput vs concurrency / mean latency
  scale      10k to 1M hashes: throughput and peak RSS
  fairness   k keyrevoke processes on one bucket: per-process goodput, Jain's index
  wire       keyrevoke / wrk at --concurrency 16 and 64, against keyrevoke-mock and against nginx
  outage     an outage with recovery (503s, resets) vs curl --retry; dead servers: time to exit
  rate_step_quota  the rate step with the quota advertised on every answer (X-RateLimit-*)
  quota      a bucket that advertises its quota (X-RateLimit-*, IETF RateLimit) to 1, 2, 4 processes, and
             one that gives no hint at all: completion vs ideal, 429 share, Jain's index
"""

ORDER = ("raw", "throttled", "rate_step", "latency", "scale", "fairness", "wire", "outage", "quota", "rate_step_quota")
