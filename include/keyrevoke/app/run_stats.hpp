#pragma once
// What a run counts, and the progress and summary lines made from it (pure formatting).

#include "keyrevoke/core/action.hpp"
#include "keyrevoke/core/outcome.hpp"

#include <array>
#include <cstdint>
#include <string>

namespace keyrevoke::app {

struct run_stats {
  std::array<std::uint64_t, 9> outcomes{};  // indexed by core::outcome
  core::action act = core::action::delete_key;
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
  std::uint64_t other_shard = 0;   // --shard: another runner's hashes, skipped
  bool verify = false;             // --verify: the counts below are shown
  std::uint64_t verified = 0;
  std::uint64_t verify_mismatch = 0;
  std::uint64_t verify_failed = 0;
  std::uint64_t verify_not_attempted = 0;

  std::uint64_t& operator[](core::outcome o) { return outcomes[static_cast<std::size_t>(o)]; }
  std::uint64_t operator[](core::outcome o) const { return outcomes[static_cast<std::size_t>(o)]; }
  // Hashes the run acted on and finished (all outcomes but invalid and protected).
  std::uint64_t finished() const noexcept;
  // The action's own success outcome: deleted, disabled or enabled.
  core::outcome applied() const noexcept;
  // Verify rows that are not "verified" (each makes the exit code 1).
  std::uint64_t unproven() const noexcept { return verify_mismatch + verify_failed + verify_not_attempted; }
};

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
