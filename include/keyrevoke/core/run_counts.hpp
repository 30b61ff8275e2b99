#pragma once
// What a run counts: outcomes by kind, input bookkeeping, and the answers behind them. Kept by the
// run scheduler; the progress and summary lines (app/run_stats) are made from it.

#include "keyrevoke/core/action.hpp"
#include "keyrevoke/core/outcome.hpp"

#include <array>
#include <cstdint>

namespace keyrevoke::core {

struct run_counts {
  std::array<std::uint64_t, outcome_count> outcomes{};  // indexed by core::outcome
  action act = action::delete_key;
  std::uint64_t lines = 0;
  std::uint64_t hash_lines = 0;    // lines holding a hash or an invalid line (not blank, not a comment)
  std::uint64_t hashes = 0;        // distinct valid hashes taken for sending (each gets a row)
  std::uint64_t duplicates = 0;
  std::uint64_t already_done = 0;  // skipped on --resume
  bool input_complete = false;
  std::uint64_t requests = 0;      // requests sent, preflight included
  std::uint64_t throttled = 0;     // throttling answers: 429, or a 403/503 with a rate-limit hint
  std::uint64_t server_errors = 0; // 5xx (and a failure with no status the pool calls a server error)
  std::uint64_t not_api = 0;       // answers the API does not give: a wrong route's or a gateway's page, a
                                   // 204, a 2xx with another body, a 408, a 1xx (run_scheduler::count_answer)
  std::uint64_t network_errors = 0;
  std::uint64_t timeouts = 0;
  std::uint64_t retries = 0;
  std::uint64_t other_shard = 0;   // --shard: another runner's hashes, skipped
  std::uint64_t outages = 0;       // times the server was seen failing nearly everything
  std::uint64_t probes = 0;        // probes sent during outages
  bool verify = false;             // --verify: the counts below are shown
  std::uint64_t verified = 0;
  std::uint64_t verify_mismatch = 0;
  std::uint64_t verify_failed = 0;
  std::uint64_t verify_not_attempted = 0;

  std::uint64_t& operator[](outcome o) { return outcomes[static_cast<std::size_t>(o)]; }
  std::uint64_t operator[](outcome o) const { return outcomes[static_cast<std::size_t>(o)]; }
  // Hashes the run acted on and finished (all outcomes but invalid and protected).
  std::uint64_t finished() const noexcept {
    std::uint64_t n = 0;
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      const auto o = static_cast<outcome>(i);
      if (o != outcome::invalid && o != outcome::protected_key) n += outcomes[i];
    }
    return n;
  }
  // The action's own success outcome: deleted, disabled or enabled.
  outcome applied() const noexcept {
    switch (act) {
      case action::disable: return outcome::disabled;
      case action::enable: return outcome::enabled;
      case action::delete_key: break;
    }
    return outcome::deleted;
  }
  // Verify rows that are not "verified" (each makes the exit code 1).
  std::uint64_t unproven() const noexcept { return verify_mismatch + verify_failed + verify_not_attempted; }
};

}  // namespace keyrevoke::core
