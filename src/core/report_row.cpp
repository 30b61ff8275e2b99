#include "keyrevoke/core/report_row.hpp"

#include <charconv>
#include <cmath>

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
  out.append(R"(,"attempts":)");
  append_integer(out, row.attempts);
  out.append(R"(,"elapsed_ms":)");
  append_one_decimal(out, row.elapsed_ms);
  out.append(R"(,"error":)");
  append_json_string_or_null(out, row.error);
  out.append("}\n");
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
  out.append("}\n");
}

}  // namespace keyrevoke::core
