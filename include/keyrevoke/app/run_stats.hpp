#pragma once
// What a run counts, and the progress and summary lines made from it (pure formatting).

#include "keyrevoke/core/outcome.hpp"

#include <array>
#include <cstdint>
#include <string>

namespace keyrevoke::app {

struct run_stats {
  std::array<std::uint64_t, 6> outcomes{};  // indexed by core::outcome
  std::uint64_t lines = 0;
  std::uint64_t hashes = 0;        // distinct valid hashes queued for sending
  std::uint64_t duplicates = 0;
  std::uint64_t already_done = 0;  // skipped on --resume
  bool input_complete = false;
  std::uint64_t requests = 0;
  std::uint64_t throttled = 0;     // answers 429
  std::uint64_t server_errors = 0;
  std::uint64_t network_errors = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t retries = 0;

  std::uint64_t& operator[](core::outcome o) { return outcomes[static_cast<std::size_t>(o)]; }
  std::uint64_t operator[](core::outcome o) const { return outcomes[static_cast<std::size_t>(o)]; }
  // Hashes with a final row (all outcomes but invalid).
  std::uint64_t finished() const noexcept;
};

struct controller_view {
  double rate_limit = 0.0;  // req/s the pacer holds to; 0: not limiting
  unsigned in_flight = 0;
  unsigned in_flight_limit = 0;
  bool degraded = false;
};

// One progress line (no newline): counts, rate, ETA, current limit.
std::string format_progress(const run_stats& stats, const controller_view& ctl, double elapsed_s,
                            double recent_rate);

// The final summary (lines end with '\n'). quiet: one line.
std::string format_summary(const run_stats& stats, double elapsed_s, bool quiet);

}  // namespace keyrevoke::app
