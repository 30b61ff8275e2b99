#pragma once
// One input line to a verdict: a hash, a line to skip (blank, comment) or an invalid line with a reason.

#include <cstddef>
#include <string>
#include <string_view>

#include "keyrevoke/core/key_hash.hpp"

namespace keyrevoke::core {

// A line longer than this (after nothing is stripped) is "line too long" without further inspection.
inline constexpr std::size_t max_hash_line_length = 1024;

enum class line_kind { hash, skip, invalid };  // skip = blank or '#' comment

struct parsed_line {
  line_kind kind;
  key_hash hash{};
  std::string_view reason;  // static text for invalid; empty otherwise
};

// Tolerates a UTF-8 BOM (on line 1 only: pass first_line), a trailing '\r', surrounding spaces/tabs;
// upper-case hex is accepted (normalised by parse). Lines starting with '#' (after leading whitespace)
// are skip. Anything else that is not exactly 64 hex digits is invalid, with a short specific reason:
//   "line too long"                              text was truncated (full_length > text.size()) or
//                                                longer than max_hash_line_length
//   "contains a NUL byte"
//   "non-hex character"                          64 characters, but not all hex digits
//   "wrong length: N characters (a hash has 64)" only hex digits, but N != 64 ("1 character")
//   "not a 64-hex-digit hash"                    anything else (e.g. a pasted secret "sk-mg-...")
// text may be truncated by line_splitter; full_length is the real length. Never allocates.
parsed_line parse_hash_line(std::string_view text, std::size_t full_length, bool first_line) noexcept;

// A redacted preview of an invalid line for the report/stderr: never the whole text (it may be a
// pasted secret). The first min(6, full_length / 2) bytes, printable ASCII kept and anything else
// shown as '?', then "…(N chars)" with the full length: "sk-mg-…(73 chars)". Empty -> "(empty)".
std::string redact_preview(std::string_view text, std::size_t full_length);

}  // namespace keyrevoke::core
