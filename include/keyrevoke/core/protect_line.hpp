#pragma once
// One line of a --protect file. app/prepare.cpp reads the file and builds the list; this is the pure
// part (fuzzed by tests/fuzz/fuzz_protect_line.cpp).

#include "keyrevoke/core/key_hash.hpp"

#include <string>
#include <string_view>
#include <variant>

namespace keyrevoke::core {

struct protect_line {
  enum class kind { skip, hash, name_glob, label_glob, name_and_label_glob };
  kind what = kind::skip;
  key_hash hash{};        // kind::hash
  std::string_view glob;  // the glob kinds: a view into the line, trimmed, never empty, well formed
};

// Spaces, tabs and CRs around the line are ignored. A blank line or a '#' comment: skip. Exactly 64 hex
// digits: a hash. "name:GLOB" or "label:GLOB": a glob for that field only; any other line: a glob for
// both (see glob.hpp). An error is a short reason that never contains the line: a malformed or empty
// glob, or a line that looks like an API key (a key pasted by mistake must be refused loudly, unshown).
std::variant<protect_line, std::string> parse_protect_line(std::string_view line);

}  // namespace keyrevoke::core
