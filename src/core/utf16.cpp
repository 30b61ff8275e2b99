#include "keyrevoke/core/utf16.hpp"

namespace keyrevoke::core {
namespace {

constexpr bool is_high_surrogate(std::uint16_t u) noexcept { return u >= 0xD800 && u <= 0xDBFF; }
constexpr bool is_low_surrogate(std::uint16_t u) noexcept { return u >= 0xDC00 && u <= 0xDFFF; }

constexpr unsigned char byte_at(std::string_view s, std::size_t i) noexcept {
  return static_cast<unsigned char>(s[i]);
}

}  // namespace

input_encoding sniff_encoding(std::string_view head) noexcept {
  if (head.empty()) return input_encoding::undecided;
  const unsigned char first = byte_at(head, 0);
  if (first != 0xFF && first != 0xFE) return input_encoding::utf8;
  if (head.size() < 2) return input_encoding::undecided;
  const unsigned char second = byte_at(head, 1);
  if (first == 0xFF && second == 0xFE) return input_encoding::utf16le;
  if (first == 0xFE && second == 0xFF) return input_encoding::utf16be;
  return input_encoding::utf8;
}

std::optional<input_encoding> looks_like_bomless_utf16(std::string_view head) noexcept {
  std::size_t units = 0;
  bool le = true, be = true;
  for (std::size_t i = 0; i + 1 < head.size(); i += 2) {
    const unsigned char a = byte_at(head, i), b = byte_at(head, i + 1);
    if ((a == '\n' && b == 0) || (a == 0 && b == '\n')) break;  // the first line's end, either order
    le = le && a != 0 && b == 0;
    be = be && a == 0 && b != 0;
    if (!le && !be) return std::nullopt;
    ++units;
  }
  if (units < 2) return std::nullopt;
  return le ? input_encoding::utf16le : input_encoding::utf16be;
}

std::string_view utf16_error_reason(std::string_view line) noexcept {
  if (line.find(utf16_unpaired_surrogate_mark) != std::string_view::npos)
    return "invalid UTF-16: an unpaired surrogate";
  if (line.find(utf16_odd_byte_mark) != std::string_view::npos)
    return "invalid UTF-16: the input ends with an odd byte";
  return {};
}

std::string_view input_decoder::feed(std::string_view chunk) {
  out_.clear();
  if (encoding_ == input_encoding::utf8) return chunk;
  if (encoding_ == input_encoding::undecided) {
    // Decide on the first two bytes (they may come one read at a time, from a pipe).
    const std::string_view whole = chunk;
    const bool held_from_before = held_size_ != 0;
    while (held_size_ < 2 && !chunk.empty()) {
      held_[held_size_++] = chunk.front();
      chunk.remove_prefix(1);
      encoding_ = sniff_encoding(std::string_view{held_, held_size_});
      if (encoding_ != input_encoding::undecided) break;
    }
    switch (encoding_) {
      case input_encoding::undecided: return {};
      case input_encoding::utf8:
        if (!held_from_before) {  // decided within this chunk: it is the text, as it is
          held_size_ = 0;
          return whole;
        }
        // Hand back the byte held from the previous chunk, then this one.
        out_.append(held_, held_size_).append(chunk);
        held_size_ = 0;
        return out_;
      case input_encoding::utf16le:
      case input_encoding::utf16be: held_size_ = 0; break;  // the BOM is dropped
    }
  }
  transcode(chunk);
  return out_;
}

std::string_view input_decoder::finish() {
  out_.clear();
  switch (encoding_) {
    case input_encoding::undecided:  // a lone FF or FE byte: nothing to decode, pass it on
      out_.append(held_, held_size_);
      held_size_ = 0;
      encoding_ = input_encoding::utf8;
      return out_;
    case input_encoding::utf8: return {};
    case input_encoding::utf16le:
    case input_encoding::utf16be: break;
  }
  if (high_ != 0) {
    out_.push_back(utf16_unpaired_surrogate_mark);
    high_ = 0;
  }
  if (held_size_ != 0) {
    out_.push_back(utf16_odd_byte_mark);
    held_size_ = 0;
  }
  return out_;
}

void input_decoder::transcode(std::string_view bytes) {
  out_.reserve(bytes.size() / 2 * 3 + 8);
  const bool le = encoding_ == input_encoding::utf16le;
  std::size_t i = 0;
  if (held_size_ == 1 && !bytes.empty()) {  // a unit split across chunks
    const auto a = static_cast<unsigned char>(held_[0]), b = byte_at(bytes, 0);
    put_unit(static_cast<std::uint16_t>(le ? (b << 8) | a : (a << 8) | b));
    held_size_ = 0;
    i = 1;
  }
  for (; i + 1 < bytes.size(); i += 2) {
    const unsigned char a = byte_at(bytes, i), b = byte_at(bytes, i + 1);
    put_unit(static_cast<std::uint16_t>(le ? (b << 8) | a : (a << 8) | b));
  }
  if (i < bytes.size()) held_[held_size_++] = bytes[i];
}

void input_decoder::put_unit(std::uint16_t unit) {
  if (high_ != 0) {
    if (is_low_surrogate(unit)) {
      put_code_point(0x10000u + ((static_cast<std::uint32_t>(high_) - 0xD800u) << 10) + (unit - 0xDC00u));
      high_ = 0;
      return;
    }
    out_.push_back(utf16_unpaired_surrogate_mark);  // the high half had no low half
    high_ = 0;
  }
  if (is_high_surrogate(unit)) {
    high_ = unit;
  } else if (is_low_surrogate(unit)) {
    out_.push_back(utf16_unpaired_surrogate_mark);
  } else {
    put_code_point(unit);
  }
}

void input_decoder::put_code_point(std::uint32_t cp) {
  if (cp < 0x80) {
    out_.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out_.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out_.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out_.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out_.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out_.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out_.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out_.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out_.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out_.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

}  // namespace keyrevoke::core
