#pragma once
// The exit codes (the contract with scripts; README, Exit codes) and the one table that maps how a
// run ended to its code. Pure.

#include "keyrevoke/core/run_counts.hpp"
#include "keyrevoke/core/run_scheduler.hpp"

#include <string>

namespace keyrevoke::core {

inline constexpr int exit_ok = 0;
inline constexpr int exit_incomplete = 1;   // some hash failed or is unproven, invalid lines, input or report error
inline constexpr int exit_usage = 2;        // usage, configuration or input error, or --base-url is not the API: nothing sent
inline constexpr int exit_aborted = 3;      // the management key was rejected, or TLS not trusted
inline constexpr int exit_unreachable = 4;  // the server could not be reached, or failed for --give-up-after
inline constexpr int exit_interrupted = 130;

struct run_end {
  stop_reason reason = stop_reason::none;
  bool input_error = false;    // an input could not be read to the end
  bool report_failed = false;  // rows could not be written
};

// The stop reason decides first (interrupted 130; key or TLS 3; not the API 2; unreachable or gave
// up 4), then anything not done (failed, not_attempted, unauthorized, invalid, unproven, an input or
// report error) is 1, else 0.
int exit_code(const run_end& end, const run_counts& counts) noexcept;

// The summary's last line: why the exit code is what it is, e.g.
// "exit 1: 3 invalid lines, 2 failed" or "exit 4: the server could not be reached".
std::string exit_explanation(int code, const run_end& end, const run_counts& counts);

}  // namespace keyrevoke::core
