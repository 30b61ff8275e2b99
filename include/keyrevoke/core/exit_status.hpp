#pragma once
// The exit codes (the contract with scripts; README, Exit codes) and the one table that maps how a
// run ended to its code. Pure.

#include "keyrevoke/core/run_counts.hpp"
#include "keyrevoke/core/run_scheduler.hpp"

#include <string>

namespace keyrevoke::core {

inline constexpr int exit_ok = 0;
// exit_incomplete: some hash failed or is unproven, invalid lines, an input, output (stdout) or report
// error, or the report's path removed mid-run. exit_usage: usage, configuration or input error (an
// input without any hash line, unless --allow-empty), or --base-url is not the API: nothing sent.
inline constexpr int exit_incomplete = 1;
inline constexpr int exit_usage = 2;
inline constexpr int exit_aborted = 3;      // the management key was rejected, or TLS not trusted
inline constexpr int exit_unreachable = 4;  // the server could not be reached, or failed for --give-up-after
inline constexpr int exit_interrupted = 130;

struct run_end {
  stop_reason reason = stop_reason::none;
  bool input_error = false;       // an input could not be read to the end
  bool report_failed = false;     // rows could not be written
  bool empty_input = false;       // refused_empty_input(): the input held no hash line at all
  bool report_relocated = false;  // the report's path was removed mid-run; its rows were copied elsewhere
  // key_rejected by a 401/403 that was not the API's error shape (a gateway's page, at the preflight or
  // after it): not proof the key was rejected (still exit 3).
  bool refusal_not_api = false;
};

// Whether an input is refused as empty: read to the end (not cut short by an error or a stop), it
// held no hash line, valid or invalid (nothing, or only blank lines and comments), and --allow-empty
// was not given. A cron line whose file variable is empty reads an empty stdin: "0 hashes, exit 0"
// would hide it. A list whose hashes were all skipped (already done on --resume, another shard's,
// protected, duplicates) is not empty. hash_lines: lines holding a hash or an invalid line.
constexpr bool refused_empty_input(std::uint64_t hash_lines, bool read_to_end, bool allow_empty) noexcept {
  return hash_lines == 0 && read_to_end && !allow_empty;
}

// The stop reason decides first (interrupted 130; key or TLS 3; not the API 2; unreachable or gave
// up 4), then an empty input (2: nothing was sent), then anything not done (failed, not_attempted,
// unauthorized, invalid, unproven, an input or report error, a report relocated mid-run) is 1, else 0.
int exit_code(const run_end& end, const run_counts& counts) noexcept;

// The summary's last line: why the exit code is what it is, e.g.
// "exit 1: 3 invalid lines, 2 failed" or "exit 4: the server could not be reached".
std::string exit_explanation(int code, const run_end& end, const run_counts& counts);

}  // namespace keyrevoke::core
