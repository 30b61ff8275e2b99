#!/usr/bin/env python3
"""keyrevoke's benchmark harness (issue 4), the entry point; the harness itself is the krbench package
next to this file (its __init__ lists the modules). Standard library only; run through bench/run.sh.

Starts keyrevoke-mock on 127.0.0.1 (pinned to one core), runs keyrevoke and its real alternatives
(curl --parallel, a Python aiohttp script, wrk as the ceiling) against it on the other core, and
prints an h2load-like table per scenario plus ratios measured in this one run. Writes the run's JSON
and plots to bench/results/runs/ (ignored by git) and, after a full run of every scenario, the results
block of bench/README.md.

Every process it starts is in its own session, tracked in a pid file and killed on exit, failure or
signal; every client run has a deadline. Traffic goes to 127.0.0.1 only.
"""

import sys

from krbench.cli import main

if __name__ == "__main__":
    sys.exit(main())
