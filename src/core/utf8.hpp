#pragma once
// Private to src/core: one step of UTF-8 validation (Unicode 15, table 3-7), shared by the JSON
// string encoder and the message sanitiser.

#include <cstddef>
#include <cstdint>

namespace keyrevoke::core::detail {

struct utf8_step {
  std::size_t length;  // bytes consumed: the sequence, or for invalid input its maximal subpart (>= 1)
  bool valid;
};

// p[0..n) with n >= 1. Invalid input advances by the "maximal subpart" (W3C/WHATWG practice), so
// each invalid stretch becomes exactly one U+FFFD.
inline utf8_step utf8_next(const unsigned char* p, std::size_t n) noexcept {
  const unsigned char lead = p[0];
  if (lead < 0x80) return {1, true};
  std::size_t need = 0;
  unsigned char low = 0x80, high = 0xBF;  // range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    need = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    need = 2;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;  // no surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    need = 3;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;  // nothing above U+10FFFF
  } else {
    return {1, false};
  }
  for (std::size_t i = 1; i <= need; ++i) {
    if (i >= n) return {i, false};
    const unsigned char c = p[i];
    const unsigned char lo = i == 1 ? low : static_cast<unsigned char>(0x80);
    const unsigned char hi = i == 1 ? high : static_cast<unsigned char>(0xBF);
    if (c < lo || c > hi) return {i, false};
  }
  return {need + 1, true};
}

inline constexpr char replacement_character[] = "\xEF\xBF\xBD";  // U+FFFD

}  // namespace keyrevoke::core::detail
