#pragma once
// What a run counts, and the progress and summary lines made from it (pure formatting).

#include "keyrevoke/core/run_counts.hpp"

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
  bool degraded = false;
};

// 1234567 -> "1,234,567".
std::string grouped(std::uint64_t n);

// One progress line (no newline): counts, rate, ETA, current limit.
std::string format_progress(const run_stats& stats, const controller_view& ctl, double elapsed_s,
                            double recent_rate);

// The final summary (lines end with '\n'). quiet: one line.
std::string format_summary(const run_stats& stats, double elapsed_s, bool quiet);

}  // namespace keyrevoke::app
