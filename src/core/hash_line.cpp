#include "keyrevoke/core/hash_line.hpp"

#include <algorithm>
#include <array>
#include <charconv>

namespace keyrevoke::core {
namespace {

constexpr std::string_view utf8_bom = "\xEF\xBB\xBF";

constexpr bool is_blank(char c) noexcept { return c == ' ' || c == '\t'; }

constexpr bool is_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// "wrong length: N characters (a hash has 64)" for every N up to max_hash_line_length, built at
// compile time so that parse_hash_line can hand out static text without allocating.
constexpr std::size_t reason_capacity = 48;
struct length_reasons {
  std::array<std::array<char, reason_capacity>, max_hash_line_length + 1> text{};
  std::array<std::uint8_t, max_hash_line_length + 1> size{};
};

constexpr length_reasons make_length_reasons() {
  length_reasons table;
  constexpr std::string_view head = "wrong length: ";
  constexpr std::string_view tail = " characters (a hash has 64)";
  constexpr std::string_view tail_one = " character (a hash has 64)";
  for (std::size_t n = 0; n <= max_hash_line_length; ++n) {
    auto& out = table.text[n];
    std::size_t pos = 0;
    for (const char c : head) out[pos++] = c;
    std::array<char, 8> digits{};
    std::size_t count = 0;
    std::size_t value = n;
    do {
      digits[count++] = static_cast<char>('0' + value % 10);
      value /= 10;
    } while (value != 0);
    while (count > 0) out[pos++] = digits[--count];
    for (const char c : n == 1 ? tail_one : tail) out[pos++] = c;
    table.size[n] = static_cast<std::uint8_t>(pos);
  }
  return table;
}

constexpr length_reasons wrong_length = make_length_reasons();

std::string_view wrong_length_reason(std::size_t n) noexcept {
  return {wrong_length.text[n].data(), wrong_length.size[n]};
}

parsed_line invalid(std::string_view reason) noexcept { return {line_kind::invalid, {}, reason}; }

std::string_view trim_leading(std::string_view text) noexcept {
  std::size_t i = 0;
  while (i < text.size() && is_blank(text[i])) ++i;
  return text.substr(i);
}

}  // namespace

parsed_line parse_hash_line(std::string_view text, std::size_t full_length, bool first_line) noexcept {
  if (first_line && text.starts_with(utf8_bom)) {
    text.remove_prefix(utf8_bom.size());
    full_length = full_length >= utf8_bom.size() ? full_length - utf8_bom.size() : 0;
  }
  const bool truncated = full_length > text.size();

  text = trim_leading(text);
  if (!text.empty() && text.front() == '#') return {line_kind::skip, {}, {}};
  if (truncated || text.size() > max_hash_line_length) return invalid("line too long");

  // A trailing '\r' (CRLF input) and trailing blanks, in any order.
  while (!text.empty() && (is_blank(text.back()) || text.back() == '\r')) text.remove_suffix(1);
  if (text.empty()) return {line_kind::skip, {}, {}};

  // The common case first, in one pass; the reasons only for lines that fail it.
  if (text.size() == key_hash_hex_size) {
    if (const auto hash = parse_key_hash(text)) return {line_kind::hash, *hash, {}};
  }
  if (text.find('\0') != std::string_view::npos) return invalid("contains a NUL byte");
  const bool all_hex = std::all_of(text.begin(), text.end(), is_hex);
  if (text.size() == key_hash_hex_size) return invalid("non-hex character");
  if (all_hex) return invalid(wrong_length_reason(text.size()));
  return invalid("not a 64-hex-digit hash");
}

std::string redact_preview(std::string_view text, std::size_t full_length) {
  if (full_length == 0) return "(empty)";
  const std::size_t shown = std::min({std::size_t{6}, full_length / 2, text.size()});
  std::string out;
  out.reserve(shown + 32);
  for (std::size_t i = 0; i < shown; ++i) {
    const char c = text[i];
    out.push_back(c >= 0x20 && c <= 0x7e ? c : '?');
  }
  out.append("\xE2\x80\xA6(");
  std::array<char, 24> digits{};
  const auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), full_length);
  (void)ec;  // 24 characters always hold a size_t
  out.append(digits.data(), end);
  out.append(full_length == 1 ? " char)" : " chars)");
  return out;
}

}  // namespace keyrevoke::core
