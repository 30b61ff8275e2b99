#include "keyrevoke/core/key_hash.hpp"

namespace keyrevoke::core {
namespace {

constexpr int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<key_hash> parse_key_hash(std::string_view hex) noexcept {
  if (hex.size() != key_hash_hex_size) return std::nullopt;
  key_hash out{};
  for (std::size_t i = 0; i < out.size(); ++i) {
    const int hi = hex_value(hex[2 * i]);
    const int lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
  }
  return out;
}

void write_hex(const key_hash& hash, char* out) noexcept {
  constexpr std::string_view digits = "0123456789abcdef";
  for (const std::uint8_t byte : hash) {
    *out++ = digits[byte >> 4];
    *out++ = digits[byte & 0x0f];
  }
}

std::string to_hex(const key_hash& hash) {
  std::string out(key_hash_hex_size, '\0');
  write_hex(hash, out.data());
  return out;
}

}  // namespace keyrevoke::core
