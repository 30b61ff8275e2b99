// Input lines end to end: line_splitter (whole vs. chunked) -> parse_hash_line -> redact_preview ->
// the invalid/hash report row (which must parse back as JSON) -> hash_set.
//
// Byte 0 picks max_kept and byte 1 the chunk size; the rest is the input.

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "fuzz_check.hpp"
#include "keyrevoke/core/hash_line.hpp"
#include "keyrevoke/core/hash_set.hpp"
#include "keyrevoke/core/line_splitter.hpp"
#include "keyrevoke/core/report_row.hpp"

namespace kc = keyrevoke::core;
using keyrevoke::fuzz::clean_utf8;

namespace {

struct seen {
  std::string text;
  std::size_t full_length;
  std::uint64_t number;
  bool operator==(const seen&) const = default;
};

std::vector<seen> split(std::string_view input, std::size_t max_kept, std::size_t chunk) {
  kc::line_splitter splitter(max_kept);
  std::vector<seen> out;
  const auto collect = [&](const kc::input_line& line) {
    FUZZ_CHECK(line.text.size() <= max_kept);
    FUZZ_CHECK(line.full_length >= line.text.size());
    FUZZ_CHECK(line.number == out.size() + 1);
    FUZZ_CHECK(line.text.find('\n') == std::string_view::npos);
    out.push_back({std::string(line.text), line.full_length, line.number});
  };
  for (std::size_t at = 0; at < input.size(); at += chunk) splitter.feed(input.substr(at, chunk), collect);
  splitter.finish(collect);
  FUZZ_CHECK(splitter.lines_seen() == out.size());
  return out;
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r'; }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t max_kept = std::size_t{data[0]} * 8 + 1;  // 1 .. 2041
  const std::size_t chunk = std::size_t{data[1]} + 1;
  const std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

  const std::vector<seen> whole = split(input, max_kept, input.size() + 1);
  const std::vector<seen> chunked = split(input, max_kept, chunk);
  FUZZ_CHECK(whole == chunked);

  // One set for the whole run (its first insert allocates 65536 bucket headers), renewed now and then.
  static kc::hash_set set;
  if (set.size() > 100'000) set = kc::hash_set{};
  std::string rows;
  for (const seen& line : whole) {
    const kc::parsed_line parsed = kc::parse_hash_line(line.text, line.full_length, line.number == 1);
    switch (parsed.kind) {
      case kc::line_kind::hash: {
        FUZZ_CHECK(parsed.reason.empty());
        // The hash is the line's only non-blank content, in either case.
        const std::string hex = kc::to_hex(parsed.hash);
        std::string_view rest = line.text;
        if (line.number == 1 && rest.starts_with("\xEF\xBB\xBF")) rest.remove_prefix(3);
        while (!rest.empty() && is_blank(rest.front())) rest.remove_prefix(1);
        while (!rest.empty() && is_blank(rest.back())) rest.remove_suffix(1);
        FUZZ_CHECK(rest.size() == 64);
        for (std::size_t i = 0; i < 64; ++i) {
          const char c = rest[i] >= 'A' && rest[i] <= 'F' ? static_cast<char>(rest[i] - 'A' + 'a') : rest[i];
          FUZZ_CHECK(c == hex[i]);
        }
        const bool known = set.contains(parsed.hash);
        FUZZ_CHECK(set.insert(parsed.hash) != known);
        FUZZ_CHECK(set.contains(parsed.hash));
        FUZZ_CHECK(!set.insert(parsed.hash));
        rows.clear();
        kc::append_row(rows, kc::hash_row{parsed.hash, kc::outcome::deleted, 200, 1, 1.5, line.text});
        const boost::json::value row = boost::json::parse(std::string_view(rows).substr(0, rows.size() - 1));
        FUZZ_CHECK(row.at("hash").as_string() == hex);
        break;
      }
      case kc::line_kind::skip: FUZZ_CHECK(parsed.reason.empty()); break;
      case kc::line_kind::invalid: {
        FUZZ_CHECK(!parsed.reason.empty());
        FUZZ_CHECK(clean_utf8(parsed.reason));
        const std::string preview = kc::redact_preview(line.text, line.full_length);
        FUZZ_CHECK(clean_utf8(preview));
        FUZZ_CHECK(preview.size() <= 6 + 3 + 2 + 20 + 7);
        if (line.full_length == 0) {
          FUZZ_CHECK(preview == "(empty)");
        } else {
          // Never the whole line: at most 6 leading bytes and at most half of it, printable or '?'.
          const std::size_t shown = preview.find("\xE2\x80\xA6");
          FUZZ_CHECK(shown != std::string::npos && shown <= 6 && shown * 2 <= line.full_length);
          for (std::size_t i = 0; i < shown; ++i) {
            const char c = line.text[i];
            FUZZ_CHECK(preview[i] == (c >= 0x20 && c <= 0x7e ? c : '?'));
          }
          FUZZ_CHECK(preview.ends_with(std::to_string(line.full_length) + (line.full_length == 1 ? " char)" : " chars)")));
        }
        rows.clear();
        kc::append_row(rows, kc::invalid_row{line.number, line.text, preview, parsed.reason});
        FUZZ_CHECK(rows.back() == '\n' && rows.find('\n') == rows.size() - 1);
        const boost::json::value row = boost::json::parse(std::string_view(rows).substr(0, rows.size() - 1));
        FUZZ_CHECK(row.at("input").as_string() == preview);
        FUZZ_CHECK(row.at("error").as_string() == parsed.reason);
        FUZZ_CHECK(row.at("line").to_number<std::uint64_t>() == line.number);
        break;
      }
    }
  }
  return 0;
}
