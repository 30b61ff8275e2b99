#pragma once
// Shell-style glob matching for key names and labels (`keyrevoke list --label 'ci-*'`, `--protect`).
//
//   *       any sequence of characters, the empty one included
//   ?       exactly one character
//   [abc]   one of the listed characters; ranges `[a-z]`; `[!x]` or `[^x]` negates; a `]` right after
//           `[` (or `[!`) is literal; `\` escapes inside a class too
//   \c      the character c itself (`\*` is a literal star)
//
// The whole text must match (not a substring), case-sensitively. Characters are UTF-8 code points (an
// invalid byte is one character that only `?`, `*` or a negated class match). There is no special
// case for `/` or a leading `.`. Matching is O(|pattern| x |text|) at worst, never exponential
// (`*a*a*a*a*b` against a long run of `a`s).
//
// An unterminated `[` is a literal `[` and a trailing `\` a literal `\` (POSIX fnmatch does the same);
// glob_error() reports both so a command line can refuse such patterns as usage errors.

#include <optional>
#include <string>
#include <string_view>

namespace keyrevoke::core {

bool glob_match(std::string_view pattern, std::string_view text);

// nullopt if the pattern is well formed, else a short reason ("unterminated '['", "trailing '\'",
// "invalid range 'z-a'" ...). Never echoes the pattern.
std::optional<std::string> glob_error(std::string_view pattern);

}  // namespace keyrevoke::core
