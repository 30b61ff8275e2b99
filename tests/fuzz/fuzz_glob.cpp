// Glob matching (`keyrevoke list --label`, the revoker's --protect): the input is "pattern\ntext".
// Never crashes, never goes exponential (libFuzzer's timeout), and obeys the algebra of globs.

#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "keyrevoke/core/glob.hpp"

namespace kc = keyrevoke::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t cut = input.find('\n');
  const std::string_view pattern = input.substr(0, cut);
  const std::string_view text = cut == std::string_view::npos ? input : input.substr(cut + 1);

  const bool matched = kc::glob_match(pattern, text);
  (void)kc::glob_error(pattern);
  FUZZ_CHECK(kc::glob_match("*", text));
  if (matched) {
    FUZZ_CHECK(kc::glob_match("*" + std::string{pattern}, text));
    if (!kc::glob_error(pattern)) FUZZ_CHECK(kc::glob_match(std::string{pattern} + "*", text));
  }
  // The text with its special characters escaped matches itself, and only itself.
  std::string escaped;
  for (const char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == '\\') escaped += '\\';
    escaped += c;
  }
  FUZZ_CHECK(!kc::glob_error(escaped));
  FUZZ_CHECK(kc::glob_match(escaped, text));
  FUZZ_CHECK(!kc::glob_match(escaped, std::string{text} + "x"));
  return 0;
}
