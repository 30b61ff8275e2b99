#pragma once
// What a run counts, and the progress and summary lines made from it (pure formatting; the
// progress line's layout is core::progress_line's).

#include "keyrevoke/core/progress_line.hpp"
#include "keyrevoke/core/run_counts.hpp"
#include "keyrevoke/core/wait_reason.hpp"

#include <array>
#include <cstdint>
#include <string>

namespace keyrevoke::app {

// The counts live with the scheduler that keeps them (core/run_counts.hpp).
using run_stats = core::run_counts;

struct controller_view {
  double rate_limit = 0.0;  // req/s the pacer holds to; 0: not limiting
  unsigned in_flight = 0;
  unsigned in_flight_limit = 0;
  core::wait_reason wait{};  // why nothing is being sent (core::run_scheduler::waiting)
};

// 1234567 -> "1,234,567".
std::string grouped(std::uint64_t n);

// One progress line (no newline): counts, rate or what the run waits for, ETA, current limit; at most
// columns - 1 bytes (0: no limit), the least useful fields dropped first (core::progress_line).
std::string format_progress(const run_stats& stats, const controller_view& ctl, double elapsed_s,
                            double recent_rate, std::size_t columns);

// The summary's width: its first line fits this many columns (a terminal of 80).
inline constexpr std::size_t summary_columns = 80;

// The final summary (lines end with '\n'). Its first line (at most summary_columns) counts the hashes
// that got an answer (not those a stop left not_attempted), their rate, and the outcomes; outcomes that
// do not fit go on the next line. quiet: one line.
std::string format_summary(const run_stats& stats, double elapsed_s, bool quiet);

}  // namespace keyrevoke::app
