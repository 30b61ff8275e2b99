#pragma once
// A run's summary for machines: the summary row's counts, --summary-json (one JSON object) and
// --metrics-file (Prometheus text exposition format 0.0.4, for node_exporter's textfile collector).
// Pure: the caller gives the counts, the times and the exit code. Never the key: nothing here takes it.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "keyrevoke/core/run_counts.hpp"

namespace keyrevoke::core {

// Requests by the HTTP status class of their answer: index 1..5 for 1xx..5xx; 0 for a request that was
// written and got no status line (network error, timeout, a cut at the stop). A dial that failed sent
// no request and is not counted.
struct status_tally {
  std::array<std::uint64_t, 6> classes{};
  void count(unsigned http_status) noexcept {
    const unsigned c = http_status / 100;
    ++classes[http_status != 0 && c >= 1 && c <= 5 ? c : 0];
  }
};

// The summary row's "counts" (and --summary-json's), in the order written: lines, hashes, each outcome,
// duplicates, already_done, other_shards, the verify counts, requests, throttled, outages.
using named_count = std::pair<std::string_view, std::uint64_t>;
std::array<named_count, 22> summary_counts(const run_counts& counts);

struct run_summary {
  const run_counts* counts = nullptr;  // required
  status_tally requests;
  int exit_code = 0;
  std::string_view exit_reason;  // stop_reason's name ("none" for a run that was not stopped)
  double elapsed_s = 0.0;
  std::string_view started_at;  // ISO 8601 UTC
  std::string_view finished_at;
  double finished_unix_s = 0.0;  // finished_at as seconds since the epoch (the metrics' timestamp gauge)
  std::string_view version;
  std::string_view action;  // "delete", "disable", "enable"
  std::string_view host;    // the base URL's host[:port]
  std::string_view shard;   // "K/N"; empty: none
  std::string_view report;  // the report's path
};

// {"tool":"keyrevoke","version":..,"action":..,"host":..,"shard":..,"report":..,"started_at":..,
//  "finished_at":..,"elapsed_s":..,"exit_code":..,"exit_reason":..,"counts":{..},
//  "requests_by_status_class":{"1xx":..,"2xx":..,"3xx":..,"4xx":..,"5xx":..,"none":..}}\n
std::string summary_json(const run_summary& summary);

// Gauges (a textfile collector exposes the last run's values), each with # HELP and # TYPE, prefixed
// keyrevoke_: run_info{action,host,shard,version} 1, exit_code, duration_seconds,
// last_run_timestamp_seconds, input_lines, hashes{outcome}, verify_proofs{proof} (with --verify),
// requests{status_class}, throttled_answers, outages. Label values escaped (\\, \", \n).
std::string prometheus_metrics(const run_summary& summary);

}  // namespace keyrevoke::core
