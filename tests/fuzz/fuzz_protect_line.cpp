// A --protect file, from the user: every line of any input parses without crashing; what it yields
// is what the line says (a hash is the line's 64 hex digits; a glob is a well-formed, trimmed, non-empty
// part of the line) and an error never shows a line that looks like an API key.

#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "keyrevoke/core/glob.hpp"
#include "keyrevoke/core/key_hash.hpp"
#include "keyrevoke/core/protect_line.hpp"
#include "keyrevoke/core/redact.hpp"

namespace kc = keyrevoke::core;

namespace {

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

void check_line(std::string_view line) {
  const std::string_view text = trim(line);
  const auto parsed = kc::parse_protect_line(line);
  if (const auto* error = std::get_if<std::string>(&parsed)) {
    FUZZ_CHECK(!error->empty());
    FUZZ_CHECK(!text.empty() && text.front() != '#');
    // An error is one of a fixed set of reasons: it never quotes the line, so a key pasted by mistake is
    // never shown (an earlier oracle searched the error for the line and was fooled by a line that was
    // itself a piece of a reason).
    static const std::string reasons[] = {
        "not a hash or a valid glob (unterminated '[')",
        "not a hash or a valid glob (invalid range in '[...]' (its end comes before its start))",
        "not a hash or a valid glob (trailing '\\' escapes nothing)",
        "an empty glob",
        "looks like an API key, not a hash or a glob (not shown)",
    };
    bool known = false;
    for (const auto& reason : reasons) known = known || *error == reason;
    FUZZ_CHECK(known);
    return;
  }
  const auto& entry = std::get<kc::protect_line>(parsed);
  using kind = kc::protect_line::kind;
  switch (entry.what) {
    case kind::skip:
      FUZZ_CHECK(text.empty() || text.front() == '#');
      return;
    case kind::hash: {
      const auto hash = kc::parse_key_hash(text);
      FUZZ_CHECK(hash && *hash == entry.hash);
      return;
    }
    case kind::name_glob:
    case kind::label_glob:
    case kind::name_and_label_glob:
      FUZZ_CHECK(!entry.glob.empty());
      FUZZ_CHECK(trim(entry.glob) == entry.glob);
      FUZZ_CHECK(!kc::glob_error(entry.glob));
      FUZZ_CHECK(!kc::parse_key_hash(text));
      // A view into the line itself, at its end (after an optional "name:" or "label:").
      FUZZ_CHECK(entry.glob.data() >= line.data() &&
                 entry.glob.data() + entry.glob.size() == text.data() + text.size());
      if (entry.what == kind::name_glob) FUZZ_CHECK(text.starts_with("name:"));
      if (entry.what == kind::label_glob) FUZZ_CHECK(text.starts_with("label:"));
      if (entry.what == kind::name_and_label_glob) {
        FUZZ_CHECK(entry.glob == text);
        FUZZ_CHECK(!kc::looks_like_secret(text));
      }
      return;
  }
  FUZZ_CHECK(false);  // an unknown kind
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // The file is read with std::getline: lines end at '\n' (a '\r' before it is trimmed).
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  while (!rest.empty()) {
    const auto end = rest.find('\n');
    check_line(rest.substr(0, end));
    if (end == std::string_view::npos) break;
    rest.remove_prefix(end + 1);
  }
  return 0;
}
