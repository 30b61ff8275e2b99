#include "keyrevoke/core/report_row.hpp"

#include <charconv>
#include <cmath>
#include <ctime>

#include "utf8.hpp"

namespace keyrevoke::core {
namespace {

template <class Integer>
void append_integer(std::string& out, Integer value) {
  char buffer[24];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  (void)ec;  // 24 characters hold any 64-bit integer
  out.append(buffer, end);
}

void append_one_decimal(std::string& out, double value) {
  // NaN, infinities and absurd durations (>= 1e15 ms, 31,000 years) are null: a reader's double
  // must hold what we write.
  if (!(std::abs(value) < 1e15)) {
    out.append("null");
    return;
  }
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, 1);
  if (ec != std::errc{}) {
    out.append("null");
    return;
  }
  out.append(buffer, end);
}

constexpr bool plain(unsigned char c) noexcept { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
  constexpr char hex[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  out.push_back('"');
  std::size_t i = 0;
  while (i < n) {
    std::size_t run = i;
    while (run < n && plain(p[run])) ++run;
    if (run > i) {
      out.append(text.data() + i, run - i);
      i = run;
      if (i == n) break;
    }
    const unsigned char c = p[i];
    if (c >= 0x80) {
      const detail::utf8_step step = detail::utf8_next(p + i, n - i);
      if (step.valid) {
        out.append(text.data() + i, step.length);
      } else {
        out.append(detail::replacement_character);
      }
      i += step.length;
      continue;
    }
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      case '\b': out.append("\\b"); break;
      case '\f': out.append("\\f"); break;
      default: {
        const char escape[] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0x0f]};
        out.append(escape, sizeof escape);
      }
    }
    ++i;
  }
  out.push_back('"');
}

namespace {

// Empty text is written as null.
void append_json_string_or_null(std::string& out, std::string_view text) {
  if (text.empty()) {
    out.append("null");
  } else {
    append_json_string(out, text);
  }
}

// ,"at":"..."}\n: how every row ends.
void append_at_end(std::string& out, std::string_view at) {
  out.append(R"(,"at":)");
  append_json_string_or_null(out, at);
  out.append("}\n");
}

// ,"attempts":1,"elapsed_ms":12.4,"error":null,"at":...}\n: how every hash and verify row ends.
void append_attempt_tail(std::string& out, unsigned attempts, double elapsed_ms, std::string_view error,
                         std::string_view at) {
  out.append(R"(,"attempts":)");
  append_integer(out, attempts);
  out.append(R"(,"elapsed_ms":)");
  append_one_decimal(out, elapsed_ms);
  out.append(R"(,"error":)");
  append_json_string_or_null(out, error);
  append_at_end(out, at);
}

}  // namespace

void append_row(std::string& out, const hash_row& row) {
  out.append(R"({"hash":")");
  const std::size_t at = out.size();
  out.resize(at + key_hash_hex_size);
  write_hex(row.hash, out.data() + at);
  out.append(R"(","outcome":)");
  append_json_string(out, to_string(row.result));
  out.append(R"(,"http_status":)");
  if (row.http_status == 0) {
    out.append("null");
  } else {
    append_integer(out, row.http_status);
  }
  append_attempt_tail(out, row.attempts, row.elapsed_ms, row.error, row.at);
}

void append_row(std::string& out, const invalid_row& row) {
  out.append(R"({"hash":null,"outcome":"invalid","line":)");
  append_integer(out, row.line);
  out.append(R"(,"file":)");
  append_json_string_or_null(out, row.file);
  out.append(R"(,"input":)");
  append_json_string(out, row.input_preview);
  out.append(R"(,"error":)");
  append_json_string(out, row.error);
  append_at_end(out, row.at);
}

namespace {

void append_hash(std::string& out, const key_hash& hash) {
  out.push_back('"');
  const std::size_t at = out.size();
  out.resize(at + key_hash_hex_size);
  write_hex(hash, out.data() + at);
  out.push_back('"');
}

void append_status_or_null(std::string& out, unsigned status) {
  if (status == 0) {
    out.append("null");
  } else {
    append_integer(out, status);
  }
}

void append_bool(std::string& out, bool value) { out.append(value ? "true" : "false"); }

// ,"inputs":[{"name":...,"sha256":...},...]
void append_inputs(std::string& out, std::span<const input_fingerprint> inputs) {
  out.append(R"(,"inputs":[)");
  bool first = true;
  for (const input_fingerprint& input : inputs) {
    if (!first) out.push_back(',');
    first = false;
    out.append(R"({"name":)");
    append_json_string(out, input.name);
    out.append(R"(,"sha256":)");
    append_json_string_or_null(out, input.sha256);
    out.push_back('}');
  }
  out.push_back(']');
}

// ,"counts":{"name":n,...}
void append_counts(std::string& out, std::span<const std::pair<std::string_view, std::uint64_t>> counts) {
  out.append(R"(,"counts":{)");
  bool first = true;
  for (const auto& [name, count] : counts) {
    if (!first) out.push_back(',');
    first = false;
    append_json_string(out, name);
    out.push_back(':');
    append_integer(out, count);
  }
  out.push_back('}');
}

}  // namespace

void append_row(std::string& out, const verify_row& row) {
  out.append(R"({"type":"verify","hash":)");
  append_hash(out, row.hash);
  out.append(R"(,"proof":)");
  append_json_string(out, to_string(row.result));
  out.append(R"(,"observed":)");
  append_json_string_or_null(out, row.seen == observed_state::unknown ? std::string_view{} : to_string(row.seen));
  out.append(R"(,"http_status":)");
  append_status_or_null(out, row.http_status);
  append_attempt_tail(out, row.attempts, row.elapsed_ms, row.error, row.at);
}

void append_row(std::string& out, const header_row& row) {
  out.append(R"({"type":"header","tool":"keyrevoke","version":)");
  append_json_string(out, row.version);
  out.append(R"(,"started_at":)");
  append_json_string(out, row.started_at);
  out.append(R"(,"operator":)");
  append_json_string_or_null(out, row.operator_name);
  out.append(R"(,"action":)");
  append_json_string(out, row.action);
  out.append(R"(,"host":)");
  append_json_string(out, row.host);
  out.append(R"(,"base_url":)");
  append_json_string(out, row.base_url);
  append_inputs(out, row.inputs);
  out.append(R"(,"plan_digest":)");
  append_json_string_or_null(out, row.plan_digest);
  out.append(R"(,"shard":)");
  append_json_string_or_null(out, row.shard);
  out.append(R"(,"protect":)");
  append_json_string_or_null(out, row.protect);
  out.append(R"(,"options":{"concurrency":)");
  append_integer(out, row.concurrency);
  out.append(R"(,"rate":)");
  if (row.rate > 0.0) {
    append_one_decimal(out, row.rate);
  } else {
    out.append("null");
  }
  out.append(R"(,"max_attempts":)");
  append_integer(out, row.max_attempts);
  out.append(R"(,"timeout_s":)");
  append_one_decimal(out, row.timeout_s);
  out.append(R"(,"verify":)");
  append_bool(out, row.verify);
  out.append(R"(,"resume":)");
  append_bool(out, row.resume);
  out.append(R"(},"pid":)");
  append_integer(out, row.pid);
  append_at_end(out, row.at);
}

void append_row(std::string& out, const summary_row& row) {
  out.append(R"({"type":"summary","finished_at":)");
  append_json_string(out, row.finished_at);
  out.append(R"(,"exit_code":)");
  append_integer(out, row.exit_code);
  out.append(R"(,"exit_reason":)");
  append_json_string_or_null(out, row.exit_reason);
  out.append(R"(,"elapsed_s":)");
  append_one_decimal(out, row.elapsed_s);
  if (row.listing_showed_no_key) out.append(R"(,"listing_showed_no_key":true)");
  append_counts(out, row.counts);
  append_at_end(out, row.at);
}

void append_row(std::string& out, const plan_row& row) {
  out.append(R"({"plan":"keyrevoke-plan-v2","digest":)");
  append_json_string(out, row.digest);
  out.append(R"(,"action":)");
  append_json_string(out, row.action);
  out.append(R"(,"host":)");
  append_json_string(out, row.host);
  out.append(R"(,"base_url":)");
  append_json_string(out, row.base_url);
  append_inputs(out, row.inputs);
  out.append(R"(,"shard":)");
  append_json_string_or_null(out, row.shard);
  append_counts(out, row.counts);
  out.append("}\n");
}

std::string format_utc(std::chrono::system_clock::time_point t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm parts{};
  gmtime_r(&seconds, &parts);
  char buffer[32];
  const std::size_t n = std::strftime(buffer, sizeof buffer, "%Y-%m-%dT%H:%M:%SZ", &parts);
  return std::string{buffer, n};
}

std::string format_utc_ms(std::chrono::system_clock::time_point t) {
  utc_stamp stamp;
  return std::string{stamp(t)};
}

std::string_view utc_stamp::operator()(std::chrono::system_clock::time_point t) noexcept {
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(t).time_since_epoch().count();
  const long long second = static_cast<long long>(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
  if (second != second_) {
    const auto seconds = static_cast<std::time_t>(second);
    std::tm parts{};
    gmtime_r(&seconds, &parts);
    size_ = std::strftime(text_, sizeof text_, "%Y-%m-%dT%H:%M:%S", &parts);
    second_ = size_ == 0 ? -1 : second;
  }
  if (size_ == 0) return {};
  const auto milli = static_cast<unsigned>(ms - static_cast<long long>(second) * 1000);
  char* p = text_ + size_;
  p[0] = '.';
  p[1] = static_cast<char>('0' + milli / 100);
  p[2] = static_cast<char>('0' + milli / 10 % 10);
  p[3] = static_cast<char>('0' + milli % 10);
  p[4] = 'Z';
  return {text_, size_ + 5};
}

}  // namespace keyrevoke::core
