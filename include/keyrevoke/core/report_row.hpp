#pragma once
// JSON Lines report rows, hand-encoded: one append into the caller's buffer, always valid JSON
// (quotes, backslashes and control characters escaped, invalid UTF-8 replaced with U+FFFD).

#include <cstdint>
#include <string>
#include <string_view>

#include "keyrevoke/core/key_hash.hpp"
#include "keyrevoke/core/outcome.hpp"

namespace keyrevoke::core {

struct hash_row {
  key_hash hash;
  outcome result;
  unsigned http_status;    // 0 => null
  unsigned attempts;
  double elapsed_ms;       // written with one decimal; NaN/inf/|x| >= 1e15 => null
  std::string_view error;  // empty => null
};
// {"hash":"<64 hex>","outcome":"deleted","http_status":200,"attempts":1,"elapsed_ms":12.4,"error":null}\n
void append_row(std::string& out, const hash_row& row);

struct invalid_row {
  std::uint64_t line;
  std::string_view file;           // empty => null
  std::string_view input_preview;  // from redact_preview
  std::string_view error;
};
// {"hash":null,"outcome":"invalid","line":17,"file":"leak.txt","input":"sk-mg-…(73 chars)","error":"not a 64-hex-digit hash"}\n
void append_row(std::string& out, const invalid_row& row);

// Appends text as a JSON string: quoted, escaped, invalid UTF-8 replaced with U+FFFD.
void append_json_string(std::string& out, std::string_view text);

}  // namespace keyrevoke::core
