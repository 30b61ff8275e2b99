#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test, failing closed:
#   1. release   a Release build (the `ci` preset, -Werror, when CI=true) and its unit tests; its
#                integration tests too when the check stage is off (that stage runs them in its own
#                build, so CI runs each test once); and the Debian package's test (build the .deb, apt-get
#                install it, revoke with it, remove it: tests/integration/package_deb.py, needs root)
#   2. check     every unit and integration test in one build that is ASan + UBSan (reports fatal) and
#                gcc --coverage at once (the `check` preset); gcovr's per-directory line and branch
#                summary must stay at or above tests/coverage_floors.txt
#   3. fuzz      every libFuzzer target of tests/fuzz/run_all.sh for a bounded time
# A stage that fails does not stop the others; the last line counts them (`N passed, M failed`) and the
# exit status is 1 if any failed.
#   tests/run_all.sh [--no-release] [--no-check] [--no-fuzz] [--fuzz-seconds N]
# (The `asan` and `coverage` presets still exist for a developer who wants one of the two alone.)
set -euo pipefail
cd "$(dirname "$0")/.."

release=1 check=1 fuzz=1 fuzz_seconds=20
while (($#)); do
  case "$1" in
    --no-release) release=0 ;;
    --no-check) check=0 ;;
    --no-fuzz) fuzz=0 ;;
    --fuzz-seconds) fuzz_seconds=$2; shift ;;
    *) echo "run_all: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

extra=()
((fuzz)) && extra+=(--fuzz)
((check)) && extra+=(--coverage)
bash cmake/install-deps.sh "${extra[@]}"

jobs=$(nproc)
release_preset=release
[[ "${CI:-}" == "true" ]] && release_preset=ci
passed=() failed=() timings=()
ctest_passed=0 ctest_failed=0
log_dir=build/run_all
mkdir -p "${log_dir}"

# stage NAME DESCRIPTION COMMAND...: runs one stage, records pass/fail and its duration, never exits
# the script.
stage() {
  local name=$1
  echo "== ${name}: $2"
  shift 2
  local started=${SECONDS} status=0
  "$@" || status=$?
  timings+=("${name} $((SECONDS - started))s")
  if ((status == 0)); then
    passed+=("${name}")
  else
    echo "== ${name}: FAILED (exit ${status})" >&2
    failed+=("${name}")
  fi
}

# ctest_counted PRESET [CTEST ARGS...]: ctest with its summary line added to the totals, ${ctest_jobs}
# tests at a time (default 2: 2 cores).
ctest_jobs=2
ctest_counted() {
  local log="${log_dir}/ctest-$1.log" status=0
  ctest --preset "$@" -j "${ctest_jobs}" 2>&1 | tee "${log}" || status=$?
  local line
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "${log}" | tail -n 1 || true)
  if [[ -z "${line}" ]]; then
    echo "run_all: ctest --preset $1 printed no summary line" >&2
    return 1
  fi
  local failed_n total_n
  failed_n=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"${line}")
  total_n=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"${line}")
  ctest_passed=$((ctest_passed + total_n - failed_n))
  ctest_failed=$((ctest_failed + failed_n))
  ((total_n > 0)) || { echo "run_all: ctest --preset $1 ran no test" >&2; return 1; }
  return "${status}"
}

werror=()
[[ "${CI:-}" == "true" ]] && werror=(-DKEYREVOKE_WERROR=ON)

# Each stage chains its steps with || return: `set -e` does not apply inside a function whose status
# is tested, and a build that failed must not let ctest run the binaries of an earlier build.
release_stage() {
  cmake --preset "${release_preset}" >/dev/null || return
  cmake --build --preset "${release_preset}" -j "${jobs}" || return
  if ((check)); then
    # Unit tests, the integration tests a sanitized build may skip (label `unsanitized`), and the
    # Debian package's test (label `package`: a package of the build users get, not of a sanitized one).
    ctest_counted "${release_preset}" -L 'unit|unsanitized|package'
  else
    ctest_counted "${release_preset}" -LE unsanitized
  fi
}

check_stage() {
  cmake --preset check "${werror[@]}" >/dev/null || return
  cmake --build --preset check -j "${jobs}" || return
  # Counters from an earlier run would inflate the figures.
  find build/check -name '*.gcda' -delete || return
  local status=0
  # KEYREVOKE_COVERAGE: the harness stops mocks with SIGTERM, so that they write their counters.
  # GCOV_ERROR_FILE: libgcov's complaints (a counter file torn by a process killed while writing it)
  # go to a file that coverage.py counts, not to the stderr the tests read.
  export KEYREVOKE_COVERAGE=1 GCOV_ERROR_FILE="${PWD}/build/check/gcov-errors.log"
  rm -f "${GCOV_ERROR_FILE}"
  ctest_counted check || status=$?
  unset KEYREVOKE_COVERAGE GCOV_ERROR_FILE
  python3 tests/coverage.py --build build/check --floors tests/coverage_floors.txt || status=1
  return "${status}"
}

fuzz_stage() {
  if [[ ! -f tests/fuzz/run_all.sh ]]; then
    echo "run_all: tests/fuzz/run_all.sh is missing: nothing would be fuzzed" >&2
    return 1
  fi
  cmake --preset fuzz "${werror[@]}" >/dev/null || return
  cmake --build --preset fuzz -j "${jobs}" || return
  # Called through bash: a lost exec bit must not turn fuzzing off.
  bash tests/fuzz/run_all.sh "${fuzz_seconds}"
}

((release)) && stage release "build and tests (${release_preset} preset)" release_stage
((check)) && stage check "ASan + UBSan + gcc --coverage build, every test, coverage floors" check_stage
((fuzz)) && stage fuzz "every libFuzzer target, ${fuzz_seconds}s each" fuzz_stage

echo "== stage timings: $(IFS=','; echo "${timings[*]}")"
echo "== ctest: ${ctest_passed} passed, ${ctest_failed} failed"
if ((${#failed[@]})); then
  echo "== FAILED stages: ${failed[*]}"
  echo "== run_all: ${#passed[@]} passed, ${#failed[@]} failed"
  exit 1
fi
echo "== run_all: ${#passed[@]} passed, 0 failed (all tests passed)"
