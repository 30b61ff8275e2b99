"""keyrevoke's benchmark harness, split by concern (bench/bench.py is the entry point, bench/run.sh drives it).

  procs      child processes: each in its own session, tracked in a pid file, killed on the way out;
             one measured client run (wall time, CPU, peak RSS)
  measure    CPU and memory of live processes, the machine's busy time, the mock's counters over a run
  mock       keyrevoke-mock on 127.0.0.1: start, /__admin/stats, stop
  reports    what the clients leave behind: JSON Lines reports, keyrevoke's summary on stderr
  stats      percentiles, ratios, counters binned over time, convergence, Jain's index
  rig        one run's setup: scratch directory, private binaries, placement, hash files, fresh mocks
  tools      one measured run of each tool (keyrevoke, curl, aiohttp, wrk) against a mock
  scenarios  the six scenarios: each takes its parameters and returns its result
  plots      gnuplot plots and their data files, drawn from a scenario's result
  report     the h2load-like tables, the targets, the summary line, the README's results block
  cli        options, the run, the JSON it writes
"""
