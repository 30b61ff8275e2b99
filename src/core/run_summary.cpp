#include "keyrevoke/core/run_summary.hpp"

#include <charconv>

#include "keyrevoke/core/report_row.hpp"

namespace keyrevoke::core {
namespace {

constexpr std::array<std::string_view, 6> class_names{"none", "1xx", "2xx", "3xx", "4xx", "5xx"};

std::string decimal(double value, int digits) {
  if (!(value > -1e15 && value < 1e15)) value = 0.0;  // NaN, infinities: 0 (a gauge must be a number)
  char buffer[40];
  const auto [end, ec] =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, digits);
  return ec == std::errc{} ? std::string{buffer, end} : std::string{"0"};
}

// A Prometheus label value: backslash, double quote and line feed escaped (exposition format 0.0.4).
std::string label_value(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void gauge_header(std::string& out, std::string_view name, std::string_view help) {
  out += "# HELP keyrevoke_";
  out += name;
  out += ' ';
  out += help;
  out += "\n# TYPE keyrevoke_";
  out += name;
  out += " gauge\n";
}

void sample(std::string& out, std::string_view name, std::string_view labels, const std::string& value) {
  out += "keyrevoke_";
  out += name;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

}  // namespace

std::array<named_count, 22> summary_counts(const run_counts& c) {
  return {{
      {"lines", c.lines},
      {"hashes", c.hashes},
      {to_string(outcome::deleted), c[outcome::deleted]},
      {to_string(outcome::disabled), c[outcome::disabled]},
      {to_string(outcome::enabled), c[outcome::enabled]},
      {to_string(outcome::not_found), c[outcome::not_found]},
      {to_string(outcome::not_found_after_retry), c[outcome::not_found_after_retry]},
      {to_string(outcome::failed), c[outcome::failed]},
      {to_string(outcome::unauthorized), c[outcome::unauthorized]},
      {to_string(outcome::not_attempted), c[outcome::not_attempted]},
      {to_string(outcome::invalid), c[outcome::invalid]},
      {to_string(outcome::protected_key), c[outcome::protected_key]},
      {"duplicates", c.duplicates},
      {"already_done", c.already_done},
      {"other_shards", c.other_shard},
      {"verified", c.verified},
      {"verify_mismatch", c.verify_mismatch},
      {"verify_failed", c.verify_failed},
      {"verify_not_attempted", c.verify_not_attempted},
      {"requests", c.requests},
      {"throttled", c.throttled},
      {"outages", c.outages},
  }};
}

std::string summary_json(const run_summary& s) {
  std::string out = R"({"tool":"keyrevoke","version":)";
  const auto text = [&out](std::string_view name, std::string_view value) {
    out += ",\"";
    out += name;
    out += "\":";
    if (value.empty()) {
      out += "null";
    } else {
      append_json_string(out, value);
    }
  };
  append_json_string(out, s.version);
  text("action", s.action);
  text("host", s.host);
  text("shard", s.shard);
  text("report", s.report);
  text("started_at", s.started_at);
  text("finished_at", s.finished_at);
  out += R"(,"elapsed_s":)" + decimal(s.elapsed_s, 1);
  out += R"(,"exit_code":)" + std::to_string(s.exit_code);
  text("exit_reason", s.exit_reason);
  out += R"(,"counts":{)";
  bool first = true;
  for (const auto& [name, count] : summary_counts(*s.counts)) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, name);
    out += ':' + std::to_string(count);
  }
  out += R"(},"requests_by_status_class":{)";
  for (std::size_t i = 1; i <= class_names.size(); ++i) {
    const std::size_t c = i % class_names.size();  // 1xx..5xx, then none
    if (i != 1) out += ',';
    append_json_string(out, class_names[c]);
    out += ':' + std::to_string(s.requests.classes[c]);
  }
  out += "}}\n";
  return out;
}

std::string prometheus_metrics(const run_summary& s) {
  const run_counts& c = *s.counts;
  std::string out;
  gauge_header(out, "run_info", "The last run: its action, host, shard and keyrevoke version (value 1).");
  sample(out, "run_info",
         "action=\"" + label_value(s.action) + "\",host=\"" + label_value(s.host) + "\",shard=\"" +
             label_value(s.shard) + "\",version=\"" + label_value(s.version) + "\"",
         "1");
  gauge_header(out, "exit_code",
               "The last run's exit code (0 all done, 1 some left, 2 usage, 3 aborted, "
               "4 server unreachable or down, 130 interrupted).");
  sample(out, "exit_code", {}, std::to_string(s.exit_code));
  gauge_header(out, "duration_seconds", "How long the last run took, in seconds.");
  sample(out, "duration_seconds", {}, decimal(s.elapsed_s, 3));
  gauge_header(out, "last_run_timestamp_seconds",
               "When the last run ended, in seconds since the Unix epoch.");
  sample(out, "last_run_timestamp_seconds", {}, decimal(s.finished_unix_s, 3));
  gauge_header(out, "input_lines", "Input lines the last run read.");
  sample(out, "input_lines", {}, std::to_string(c.lines));
  gauge_header(out, "hashes",
               "Hashes (and invalid input lines) of the last run by outcome, as in its report.");
  for (std::size_t i = 0; i < c.outcomes.size(); ++i) {
    const auto o = static_cast<outcome>(i);
    sample(out, "hashes", "outcome=\"" + label_value(to_string(o)) + "\"", std::to_string(c[o]));
  }
  if (c.verify) {
    gauge_header(out, "verify_proofs", "--verify proofs of the last run by state.");
    const std::pair<std::string_view, std::uint64_t> proofs[] = {{"verified", c.verified},
                                                                 {"mismatch", c.verify_mismatch},
                                                                 {"failed", c.verify_failed},
                                                                 {"not_attempted", c.verify_not_attempted}};
    for (const auto& [name, count] : proofs)
      sample(out, "verify_proofs", "proof=\"" + std::string{name} + "\"", std::to_string(count));
  }
  gauge_header(out, "requests",
               "Requests the last run sent, by the HTTP status class of the answer "
               "(none: no answer, a network error or a timeout).");
  for (std::size_t i = 1; i <= class_names.size(); ++i) {
    const std::size_t k = i % class_names.size();
    sample(out, "requests", "status_class=\"" + std::string{class_names[k]} + "\"",
           std::to_string(s.requests.classes[k]));
  }
  gauge_header(out, "throttled_answers",
               "Throttling answers the last run got (429, or 403/503 with a rate-limit hint).");
  sample(out, "throttled_answers", {}, std::to_string(c.throttled));
  gauge_header(out, "outages", "Times the last run saw the server failing nearly everything.");
  sample(out, "outages", {}, std::to_string(c.outages));
  return out;
}

}  // namespace keyrevoke::core
