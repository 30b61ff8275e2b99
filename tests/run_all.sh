#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit and integration tests in a Release
# build, the same again under ASan+UBSan, then each fuzz target for a bounded time.
#   tests/run_all.sh [--no-asan] [--no-fuzz] [--fuzz-seconds N]
set -euo pipefail
cd "$(dirname "$0")/.."

asan=1 fuzz=1 fuzz_seconds=20
while (($#)); do
  case "$1" in
    --no-asan) asan=0 ;;
    --no-fuzz) fuzz=0 ;;
    --fuzz-seconds) fuzz_seconds=$2; shift ;;
    *) echo "run_all: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

extra=()
((fuzz)) && extra+=(--fuzz)
bash cmake/install-deps.sh "${extra[@]}"

jobs=$(nproc)
echo "== release build and tests"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"
ctest --preset release -j 2

if ((asan)); then
  echo "== ASan + UBSan build and tests"
  cmake --preset asan >/dev/null
  cmake --build --preset asan -j "$jobs"
  ctest --preset asan -j 2
fi

if ((fuzz)) && [[ -x tests/fuzz/run_all.sh ]]; then
  echo "== fuzzing, ${fuzz_seconds}s per target"
  cmake --preset fuzz >/dev/null
  cmake --build --preset fuzz -j "$jobs"
  bash tests/fuzz/run_all.sh "$fuzz_seconds"
fi
echo "== all tests passed"
