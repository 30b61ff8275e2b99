#include "keyrevoke/app/run_stats.hpp"

#include <cmath>
#include <cstdio>

namespace keyrevoke::app {

namespace {

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

std::uint64_t run_stats::finished() const noexcept {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < outcomes.size(); ++i) {
    if (static_cast<outcome>(i) != outcome::invalid) n += outcomes[i];
  }
  return n;
}

std::string format_progress(const run_stats& stats, const controller_view& ctl, double elapsed_s,
                            double recent_rate) {
  const std::uint64_t done = stats.finished();
  std::string line = "[" + grouped(done) + "/" + grouped(stats.hashes) + (stats.input_complete ? "" : "+") + "] ";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.0f/s", recent_rate);
  line += buf;
  line += " | deleted " + grouped(stats[outcome::deleted]) + ", not_found " + grouped(stats[outcome::not_found]) +
          ", failed " + grouped(stats[outcome::failed]);
  if (stats[outcome::invalid] != 0) line += ", invalid " + grouped(stats[outcome::invalid]);
  line += " | 429s " + grouped(stats.throttled);
  if (ctl.degraded) {
    line += " | server failing: retries one at a time";
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
                     grouped(stats[outcome::deleted]) + " deleted, " + grouped(stats[outcome::not_found]) +
                     " not_found, " + grouped(stats[outcome::failed]) + " failed, " +
                     grouped(stats[outcome::unauthorized]) + " unauthorized, " +
                     grouped(stats[outcome::not_attempted]) + " not_attempted; " +
                     grouped(stats[outcome::invalid]) + " invalid lines, " + grouped(stats.duplicates) +
                     " duplicates";
  if (stats.already_done != 0) text += ", " + grouped(stats.already_done) + " already done (resume)";
  text += "\n";
  if (quiet) return text;
  text += "  requests " + grouped(stats.requests) + " (retries " + grouped(stats.retries) + "; answered 429: " +
          grouped(stats.throttled) + ", 5xx: " + grouped(stats.server_errors) + ", network errors: " +
          grouped(stats.network_errors) + ", timeouts: " + grouped(stats.timeouts) + ")\n";
  return text;
}

}  // namespace keyrevoke::app
