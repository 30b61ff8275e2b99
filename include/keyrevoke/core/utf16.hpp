#pragma once
// Input encodings: a hash list saved as UTF-16 (PowerShell's `Out-File` writes UTF-16LE with a BOM
// and CRLF) is transcoded to UTF-8 before its lines are split, chunk by chunk, with bounded memory,
// so that it reads exactly like its UTF-8 twin. Pure: bytes in, bytes out.
//
// UTF-16 (RFC 2781, Unicode 15 §3.9): the byte-order mark FF FE (LE) or FE FF (BE) starts the
// stream and is dropped; a high surrogate D800-DBFF followed by a low surrogate DC00-DFFF is one
// code point above U+FFFF; anything else in D800-DFFF is an unpaired surrogate. Errors are not
// replaced by U+FFFD (a line holding one could then pass for text): they become marker bytes that
// no UTF-8 text contains (0xFF, 0xFE), so the line holding one is invalid, and utf16_error_reason()
// names why.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keyrevoke::core {

enum class input_encoding {
  undecided,  // fewer than two bytes seen, and they may start a UTF-16 BOM
  utf8,       // no UTF-16 BOM (a UTF-8 BOM is left in place: parse_hash_line strips it)
  utf16le,
  utf16be,
};

// The encoding the first bytes of an input announce by their byte-order mark.
input_encoding sniff_encoding(std::string_view head) noexcept;

// For input without a BOM: whether its first line (within `head`, the input's first bytes) looks
// like UTF-16 all the same: at least two code units before the first newline (or the end of
// `head`), every one of them with a zero high byte and a non-zero low byte, in the same byte order.
// Returns that order (utf16le: "a\0b\0", utf16be: "\0a\0b"), or nullopt.
std::optional<input_encoding> looks_like_bomless_utf16(std::string_view head) noexcept;

inline constexpr char utf16_unpaired_surrogate_mark = '\xFF';
inline constexpr char utf16_odd_byte_mark = '\xFE';

// Why a line holding a marker is invalid ("invalid UTF-16: an unpaired surrogate", "invalid
// UTF-16: the input ends with an odd byte"), or empty when it holds none. Static text.
std::string_view utf16_error_reason(std::string_view line) noexcept;

// Streaming transcoder for one input: feed() each chunk as read, then finish() at its end.
// While the input is UTF-8 (no UTF-16 BOM) feed() returns the chunk itself: no copy.
class input_decoder {
 public:
  // The text to split, valid until the next call: `chunk` itself, or the decoder's buffer (at most
  // 3/2 of the chunk's size plus 4 bytes, reused from call to call).
  std::string_view feed(std::string_view chunk);
  // At the end of the input: what is still held (bytes that might have started a BOM, a lone high
  // surrogate, an odd byte), as text with its markers.
  std::string_view finish();

  input_encoding encoding() const noexcept { return encoding_; }
  bool is_utf16() const noexcept {
    return encoding_ == input_encoding::utf16le || encoding_ == input_encoding::utf16be;
  }

 private:
  void transcode(std::string_view bytes);
  void put_unit(std::uint16_t unit);
  void put_code_point(std::uint32_t cp);

  input_encoding encoding_ = input_encoding::undecided;
  char held_[2] = {};
  std::size_t held_size_ = 0;  // BOM candidates (undecided) or the first byte of a unit (UTF-16)
  std::uint16_t high_ = 0;     // a high surrogate waiting for its low half; 0: none
  std::string out_;
};

}  // namespace keyrevoke::core
