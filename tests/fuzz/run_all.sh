#!/usr/bin/env bash
# Runs every libFuzzer target for a bounded time on a scratch copy of its seed corpus (the seeds in
# the repository are never modified) and fails if any target finds a crash or a broken invariant.
#
#   tests/fuzz/run_all.sh [seconds per target, default 30] [build dir, default build/fuzz]
#   KEYREVOKE_FUZZ_JOBS=N: targets run N at a time (default 2)
#
# Build first: cmake --preset fuzz && cmake --build --preset fuzz --target fuzzers
set -euo pipefail

seconds="${1:-30}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/../.." && pwd)"
build="${2:-${root}/build/fuzz}"
bin_dir="${build}/tests/fuzz"
work="$(mktemp -d "${TMPDIR:-/tmp}/keyrevoke-fuzz.XXXXXX")"
trap 'rm -rf "${work}"' EXIT

targets=(fuzz_hash_line fuzz_retry_after fuzz_classify fuzz_report_reader fuzz_report_merge fuzz_base_url fuzz_glob fuzz_key_page
         fuzz_own_key fuzz_protect_line fuzz_http_response fuzz_network_path fuzz_ratelimit_fields)
# A UBSan report stops the target (the preset builds with -fno-sanitize-recover=undefined; this holds even
# for a build without it), and a "runtime error:" line in a log fails the target regardless.
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:${UBSAN_OPTIONS}}"
# fuzz_one TARGET: runs one target; writes its table line to ${work}/TARGET/line and its status to
# ${work}/TARGET/status. Targets run two at a time (one per core: tests/run_all.sh's budget).
fuzz_one() {
  local target=$1 exe="${bin_dir}/$1" dir="${work}/$1"
  mkdir -p "${dir}"
  if [[ ! -x "${exe}" ]]; then
    printf '%-20s %12s %8s %s\n' "${target}" - - "FAILED (not built: ${exe})" >"${dir}/line"
    echo 97 >"${dir}/status"
    return
  fi
  local corpus="${dir}/corpus" log="${dir}/log" status=0
  mkdir -p "${corpus}" "${dir}/artifacts"
  cp -r "${here}/corpus/${target}/." "${corpus}/"
  "${exe}" -max_total_time="${seconds}" -print_final_stats=1 -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="${dir}/artifacts/" "${corpus}" >"${log}" 2>&1 || status=$?
  local execs
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "${log}" | grep -o '[0-9]*$' || echo '?')"
  if [[ ${status} -eq 0 ]] && grep -q 'runtime error:' "${log}"; then
    status=99  # a sanitizer report that did not stop the process
  fi
  if [[ ${status} -eq 0 ]] && ! grep -q 'stat::number_of_executed_units' "${log}"; then
    status=98  # libFuzzer did not run to its end (no final stats)
  fi
  if [[ ${status} -eq 0 ]]; then
    printf '%-20s %12s %8s %s\n' "${target}" "${execs}" "${seconds}" ok >"${dir}/line"
  else
    printf '%-20s %12s %8s %s\n' "${target}" "${execs}" "${seconds}" "FAILED (exit ${status})" >"${dir}/line"
  fi
  echo "${status}" >"${dir}/status"
}

parallel="${KEYREVOKE_FUZZ_JOBS:-2}"
running=0
for target in "${targets[@]}"; do
  if ((running >= parallel)); then
    wait -n || true
    running=$((running - 1))
  fi
  fuzz_one "${target}" &
  running=$((running + 1))
done
wait || true

failed=()
printf '%-20s %12s %8s %s\n' target execs seconds result
for target in "${targets[@]}"; do
  dir="${work}/${target}"
  cat "${dir}/line" 2>/dev/null || printf '%-20s %12s %8s %s\n' "${target}" - - "FAILED (no result)"
  status="$(cat "${dir}/status" 2>/dev/null || echo 96)"
  if [[ "${status}" != 0 ]]; then
    if [[ -f "${dir}/log" ]]; then
      mkdir -p "${root}/build/fuzz-artifacts/${target}"
      cp -r "${dir}/artifacts/." "${root}/build/fuzz-artifacts/${target}/" 2>/dev/null || true
      tail -n 40 "${dir}/log" >&2
      echo "${target}: crash inputs copied to build/fuzz-artifacts/${target}/" >&2
    fi
    failed+=("${target}")
  fi
done

if [[ ${#failed[@]} -gt 0 ]]; then
  echo "fuzzing: $((${#targets[@]} - ${#failed[@]})) passed, ${#failed[@]} failed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzzing: ${#targets[@]} passed, 0 failed"
