#include "keyrevoke/app/run_stats.hpp"

#include <cmath>
#include <cstdio>

namespace keyrevoke::app {

using core::outcome;

std::string grouped(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  const std::size_t lead = digits.size() % 3;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (i + 3 - lead) % 3 == 0) out.push_back(',');
    out.push_back(digits[i]);
  }
  return out;
}

namespace {

std::string duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const auto total = static_cast<std::uint64_t>(std::llround(s));
  char buf[32];
  if (total >= 3600) {
    std::snprintf(buf, sizeof buf, "%llu:%02llu:%02llu", static_cast<unsigned long long>(total / 3600),
                  static_cast<unsigned long long>(total / 60 % 60), static_cast<unsigned long long>(total % 60));
  } else {
    std::snprintf(buf, sizeof buf, "%llu:%02llu", static_cast<unsigned long long>(total / 60),
                  static_cast<unsigned long long>(total % 60));
  }
  return buf;
}

}  // namespace

std::string format_progress(const run_stats& stats, const controller_view& ctl, double elapsed_s,
                            double recent_rate) {
  const std::uint64_t done = stats.finished();
  std::string line = "[" + grouped(done) + "/" + grouped(stats.hashes) + (stats.input_complete ? "" : "+") + "] ";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f/s", recent_rate);
  line += buf;
  line += " | " + std::string{to_string(stats.applied())} + " " + grouped(stats[stats.applied()]) + ", not_found " + grouped(stats[outcome::not_found]) +
          ", failed " + grouped(stats[outcome::failed]);
  if (stats[outcome::invalid] != 0) line += ", invalid " + grouped(stats[outcome::invalid]);
  if (stats.verify) {
    line += ", verified " + grouped(stats.verified);
    if (stats.verify_mismatch != 0) line += ", MISMATCH " + grouped(stats.verify_mismatch);
  }
  line += " | 429s " + grouped(stats.throttled);
  if (ctl.degraded) {
    line += " | server failing: probing one request at a time";
  } else if (ctl.rate_limit > 0) {
    std::snprintf(buf, sizeof buf, " | limit %.0f/s", ctl.rate_limit);
    line += buf;
  }
  line += " | in flight " + std::to_string(ctl.in_flight) + "/" + std::to_string(ctl.in_flight_limit);
  if (stats.input_complete && recent_rate > 0.5 && stats.hashes >= done) {
    line += " | ETA " + duration(static_cast<double>(stats.hashes - done) / recent_rate);
  } else {
    line += " | " + duration(elapsed_s);
  }
  return line;
}

std::string format_summary(const run_stats& stats, double elapsed_s, bool quiet) {
  const std::uint64_t done = stats.finished();
  char rate[48];
  std::snprintf(rate, sizeof rate, "%.1f s (%.0f/s)", elapsed_s, elapsed_s > 0 ? static_cast<double>(done) / elapsed_s : 0.0);
  std::string text = "keyrevoke: " + grouped(done) + " hashes in " + rate + ": " +
                     grouped(stats[stats.applied()]) + " " + std::string{to_string(stats.applied())} + ", " +
                     grouped(stats[outcome::not_found]) + " not_found, " +
                     (stats[outcome::not_found_after_retry] != 0
                          ? grouped(stats[outcome::not_found_after_retry]) + " not_found_after_retry, "
                          : std::string{}) +
                     "" + grouped(stats[outcome::failed]) + " failed, " +
                     grouped(stats[outcome::unauthorized]) + " unauthorized, " +
                     grouped(stats[outcome::not_attempted]) + " not_attempted; " +
                     grouped(stats[outcome::invalid]) + " invalid lines, " + grouped(stats.duplicates) +
                     " duplicates";
  if (stats.already_done != 0) text += ", " + grouped(stats.already_done) + " already done (resume)";
  if (stats[outcome::protected_key] != 0) text += ", " + grouped(stats[outcome::protected_key]) + " protected (not sent)";
  if (stats.other_shard != 0) text += ", " + grouped(stats.other_shard) + " left to other shards";
  text += "\n";
  if (stats.verify) {
    text += "  verify: " + grouped(stats.verified) + " verified, " + grouped(stats.verify_mismatch) +
            " MISMATCH (the server still shows the key), " + grouped(stats.verify_failed) + " could not be checked, " +
            grouped(stats.verify_not_attempted) + " not checked\n";
  }
  if (quiet) return text;
  text += "  requests " + grouped(stats.requests) + " (retries " + grouped(stats.retries) + "; answered 429: " +
          grouped(stats.throttled) + ", 5xx: " + grouped(stats.server_errors) + ", network errors: " +
          grouped(stats.network_errors) + ", timeouts: " + grouped(stats.timeouts);
  if (stats.not_api != 0) text += ", not the API's answer: " + grouped(stats.not_api);
  if (stats.outages != 0) {
    text += "; server outages: " + grouped(stats.outages) + ", probes: " + grouped(stats.probes);
  }
  text += ")\n";
  return text;
}

}  // namespace keyrevoke::app
