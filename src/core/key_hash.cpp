#include "keyrevoke/core/key_hash.hpp"

namespace keyrevoke::core {
namespace {

constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Per byte value: its hex digit's value, or 0x10 for a byte that is no hex digit (one load per digit
// on the hot path: every input line and every request's target go through these two tables).
constexpr std::array<std::uint8_t, 256> digit_values = [] {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const int v = hex_value(static_cast<char>(c));
    t[static_cast<std::size_t>(c)] = static_cast<std::uint8_t>(v < 0 ? 0x10 : v);
  }
  return t;
}();

// Per byte value: its two lower-case hex digits.
constexpr std::array<std::array<char, 2>, 256> digit_pairs = [] {
  constexpr std::string_view digits = "0123456789abcdef";
  std::array<std::array<char, 2>, 256> t{};
  for (std::size_t b = 0; b < 256; ++b) t[b] = {digits[b >> 4], digits[b & 0x0f]};
  return t;
}();

}  // namespace

std::optional<key_hash> parse_key_hash(std::string_view hex) noexcept {
  if (hex.size() != key_hash_hex_size) return std::nullopt;
  key_hash out{};
  unsigned bad = 0;  // 0x10 set by any non-hex digit
  for (std::size_t i = 0; i < out.size(); ++i) {
    const unsigned hi = digit_values[static_cast<unsigned char>(hex[2 * i])];
    const unsigned lo = digit_values[static_cast<unsigned char>(hex[2 * i + 1])];
    bad |= hi | lo;
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  if ((bad & 0x10U) != 0) return std::nullopt;
  return out;
}

void write_hex(const key_hash& hash, char* out) noexcept {
  for (const std::uint8_t byte : hash) {
    const std::array<char, 2>& pair = digit_pairs[byte];
    *out++ = pair[0];
    *out++ = pair[1];
  }
}

std::string to_hex(const key_hash& hash) {
  std::string out(key_hash_hex_size, '\0');
  write_hex(hash, out.data());
  return out;
}

}  // namespace keyrevoke::core
