#pragma once
// The progress line, fitted to a terminal's width (issue 11): fields + width -> one line. Pure.
//
// The line never wraps: fields are kept in order of use to someone watching a run (the counts, then
// what the run is doing or waiting for, an alarm such as a verify MISMATCH, the time left, failures,
// the action's count, ...) while they fit, and the rest are dropped; what is kept is shown in a fixed
// order. A terminal of 60 columns still gets the counts, the rate or the wait, the ETA and the
// failures. Only ASCII is written: one byte is one column.

#include "keyrevoke/core/run_counts.hpp"
#include "keyrevoke/core/wait_reason.hpp"

#include <cstddef>
#include <cstdint>
#include <string>

namespace keyrevoke::core {

// What the progress line shows besides the run's counts.
struct progress_state {
  double rate = 0.0;             // hashes finished per second, recently (smoothed)
  double elapsed_s = 0.0;        // since the run began, s
  double rate_limit = 0.0;       // req/s the pacer holds to; 0: not limiting
  unsigned in_flight = 0;        // requests on their way
  unsigned in_flight_limit = 0;  // how many may be
  wait_reason wait{};            // why nothing is being sent, if so (the scheduler's reason)
};

// 1234567 -> "1,234,567".
std::string group_digits(std::uint64_t n);

// 65 -> "1:05", 3725 -> "1:02:05"; a negative or non-finite value -> "?".
std::string clock_duration(double seconds);

// What `wait` says on the progress line, e.g. "waiting 37 s: server asked (429)" or
// "server failing: probing (next in 3 s)"; empty for wait_cause::none.
std::string wait_text(const wait_reason& wait);

// One progress line (no newline, no escape sequences) of at most columns - 1 bytes, so that the cursor
// never reaches the last column (some terminals wrap there at once). columns 0: no limit (a log file).
// Below 2 columns: at most 1 byte.
std::string progress_line(const run_counts& counts, const progress_state& state, std::size_t columns);

}  // namespace keyrevoke::core
