#!/usr/bin/env bash
# keyrevoke's benchmark: one command.
#   bench/run.sh            full run (about 6-8 minutes on 2 cores)
#   bench/run.sh --quick    smaller runs (about a minute)
# Extra arguments go to bench/bench.py (e.g. --only raw,throttled, --keep, --mock-threads 2).
#
# Installs its Debian packages (cmake/install-deps.sh --bench), builds the release preset when the
# binaries are missing or older than the sources, then runs bench/bench.py. Everything runs on
# 127.0.0.1; every process it starts is killed on exit, on failure and on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

bash cmake/install-deps.sh --bench

# Two ninjas in one build tree break each other (a precompiled header rewritten under a running
# compiler dies with SIGBUS): wait, up to 15 minutes, for anyone else's build of build/release.
other_build() {
  local pid cwd cmd
  for pid in $(pgrep -x ninja; pgrep -f 'cmake --build'); do
    [[ $pid == "$$" ]] && continue
    cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null || true)
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
    if [[ $cwd == "$root/build/release" || $cmd == *"build/release"* || $cmd == *"--preset release"* ||
          ($cwd == "$root" && $cmd == *"preset"*"release"*) ]]; then
      return 0
    fi
  done
  return 1
}
wait_for_other_build() {
  local waited=0
  while other_build; do
    ((waited == 0)) && echo "bench: another build of build/release is running; waiting for it"
    sleep 5
    waited=$((waited + 5))
    if ((waited >= 900)); then echo "bench: still building after 15 minutes; going on" >&2; break; fi
  done
}
wait_for_other_build

# Build if needed: missing binaries, or any source/CMake file newer than either of them.
kr=build/release/keyrevoke
mk=build/release/keyrevoke-mock
need_build=0
if [[ ! -x $kr || ! -x $mk ]]; then
  need_build=1
else
  newer=$(find src include CMakeLists.txt CMakePresets.json cmake -newer "$kr" -type f -print -quit 2>/dev/null || true)
  [[ -z $newer ]] && newer=$(find src include CMakeLists.txt CMakePresets.json cmake -newer "$mk" -type f -print -quit 2>/dev/null || true)
  [[ -n $newer ]] && need_build=1
fi
if ((need_build)); then
  echo "bench: building the release preset"
  if ! { [[ -f build/release/build.ninja ]] || cmake --preset release >/dev/null; } ||
     ! cmake --build --preset release --target keyrevoke keyrevoke-mock; then
    # Someone's work in progress may not build; measure the last good binaries rather than nothing.
    if [[ -x $kr && -x $mk ]]; then
      echo "bench: WARNING: the build failed; measuring the existing binaries ($(date -r "$kr" '+%F %T'))" >&2
    else
      echo "bench: the build failed and there are no binaries to measure" >&2
      exit 1
    fi
  fi
fi

# Children run in their own sessions; bench.py kills them, and this trap catches whatever is left
# if bench.py itself dies (it keeps their pids in this file).
pidfile=$(mktemp /tmp/keyrevoke-bench-pids.XXXXXX)
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n ${bench_pid:-} ]] && kill -0 "$bench_pid" 2>/dev/null; then
    kill -TERM "$bench_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$bench_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$bench_pid" 2>/dev/null || true
  fi
  if [[ -s $pidfile ]]; then
    while read -r pid; do
      [[ $pid =~ ^[0-9]+$ ]] || continue
      kill -0 "$pid" 2>/dev/null || continue
      kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    done <"$pidfile"
  fi
  rm -f "$pidfile" "$pidfile.tmp"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The harness is standard-library Python; the aiohttp peer runs under an interpreter that has aiohttp.
python=python3
[[ -x /usr/bin/python3 ]] && python=/usr/bin/python3
"$python" "$root/bench/bench.py" --pidfile "$pidfile" "$@" &
bench_pid=$!
wait "$bench_pid"
