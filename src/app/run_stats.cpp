#include "keyrevoke/app/run_stats.hpp"

#include <cstdio>
#include <string_view>
#include <vector>

namespace keyrevoke::app {

using core::outcome;

std::string grouped(std::uint64_t n) { return core::group_digits(n); }

std::string format_progress(const run_stats& stats, const controller_view& ctl, double elapsed_s,
                            double recent_rate, std::size_t columns) {
  const core::progress_state state{recent_rate,   elapsed_s,           ctl.rate_limit,
                                   ctl.in_flight, ctl.in_flight_limit, ctl.wait};
  return core::progress_line(stats, state, columns);
}

namespace {

std::string joined(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

}  // namespace

std::string format_summary(const run_stats& stats, double elapsed_s, bool quiet) {
  // Hashes that got an answer: after a stop, those left not_attempted were never sent and do not
  // make the rate.
  const std::uint64_t answered = stats.finished() - stats[outcome::not_attempted];
  char rate[64];
  std::snprintf(rate, sizeof rate, "%.1f s (%.0f/s)", elapsed_s,
                elapsed_s > 0 ? static_cast<double>(answered) / elapsed_s : 0.0);
  const std::string head = "keyrevoke: " + grouped(answered) + " hashes in " + rate + ": ";
  // The outcomes, by the report's names; the action's, not_found and failed always, the rest if any.
  std::vector<std::string> outcomes;
  outcomes.push_back(grouped(stats[stats.applied()]) + " " + std::string{to_string(stats.applied())});
  outcomes.push_back(grouped(stats[outcome::not_found]) + " not_found");
  if (stats[outcome::not_found_after_retry] != 0) {
    outcomes.push_back(grouped(stats[outcome::not_found_after_retry]) + " not_found_after_retry");
  }
  outcomes.push_back(grouped(stats[outcome::failed]) + " failed");
  if (stats[outcome::unauthorized] != 0)
    outcomes.push_back(grouped(stats[outcome::unauthorized]) + " unauthorized");
  if (stats[outcome::not_attempted] != 0) {
    outcomes.push_back(grouped(stats[outcome::not_attempted]) + " not_attempted");
  }
  // The input's side.
  std::vector<std::string> input;
  input.push_back(grouped(stats[outcome::invalid]) +
                  (stats[outcome::invalid] == 1 ? " invalid line" : " invalid lines"));
  input.push_back(grouped(stats.duplicates) + " duplicates");
  if (stats.already_done != 0) input.push_back(grouped(stats.already_done) + " already done (resume)");
  if (stats[outcome::protected_key] != 0)
    input.push_back(grouped(stats[outcome::protected_key]) + " protected (not sent)");
  if (stats.other_shard != 0) input.push_back(grouped(stats.other_shard) + " left to other shards");

  if (quiet) return head + joined(outcomes, ", ") + "; " + joined(input, ", ") + "\n";

  std::string first = head + outcomes.front();
  std::size_t kept = 1;
  for (; kept < outcomes.size() && first.size() + 2 + outcomes[kept].size() <= summary_columns; ++kept) {
    first += ", " + outcomes[kept];
  }
  std::string text = first + "\n";
  if (kept < outcomes.size()) {
    text +=
        "  and " +
        joined(std::vector<std::string>(outcomes.begin() + static_cast<std::ptrdiff_t>(kept), outcomes.end()),
               ", ") +
        "\n";
  }
  text += "  input: " + joined(input, ", ") + "\n";
  if (stats.verify) {
    text += "  verify: " + grouped(stats.verified) + " verified, " + grouped(stats.verify_mismatch) +
            " MISMATCH (the server still shows the key), " + grouped(stats.verify_failed) + " could not be checked, " +
            grouped(stats.verify_not_attempted) + " not checked\n";
  }
  // Each counter by what it counts: "throttled" is every answer that asked to slow down (a 429, or a
  // 403/503 with a rate-limit hint), not only 429s.
  text += "  requests " + grouped(stats.requests) + " (retries " + grouped(stats.retries) +
          "; throttled: " + grouped(stats.throttled) + ", 5xx: " + grouped(stats.server_errors) +
          ", network errors: " + grouped(stats.network_errors) + ", timeouts: " + grouped(stats.timeouts);
  if (stats.not_api != 0) text += ", not the API's answer: " + grouped(stats.not_api);
  if (stats.outages != 0) {
    text += "; server outages: " + grouped(stats.outages) + ", probes: " + grouped(stats.probes);
  }
  text += ")\n";
  return text;
}

}  // namespace keyrevoke::app
