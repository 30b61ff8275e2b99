// Shell globs for names and labels: whole-string, case-sensitive, classes and escapes, never exponential.
#include "keyrevoke/core/glob.hpp"

#include <boost/test/unit_test.hpp>
#include <chrono>
#include <string>

using namespace keyrevoke::core;

BOOST_AUTO_TEST_SUITE(glob)

BOOST_AUTO_TEST_CASE(table) {
  struct row {
    std::string_view pattern, text;
    bool match;
  };
  const row rows[] = {
      {"", "", true},
      {"", "a", false},
      {"*", "", true},
      {"*", "anything at all", true},
      {"**", "x", true},
      {"ci-*", "ci-42", true},
      {"ci-*", "ci-", true},
      {"ci-*", "CI-42", false},       // case-sensitive
      {"ci-*", "prod-ci-42", false},  // whole string, not a substring
      {"ci-*", "xci-42", false},
      {"*-42", "ci-42", true},
      {"*-42", "ci-421", false},
      {"?", "a", true},
      {"?", "", false},
      {"?", "ab", false},
      {"c?-*", "ci-1", true},
      {"key-00000?", "key-000007", true},
      {"[abc]", "b", true},
      {"[abc]", "d", false},
      {"[a-z]x", "qx", true},
      {"[a-z]x", "Qx", false},
      {"[!a-z]x", "Qx", true},
      {"[!a-z]x", "qx", false},
      {"[^a-z]x", "Qx", true},
      {"[]]", "]", true},
      {"[!]]", "]", false},
      {"[!]]", "a", true},
      {"[a-]", "-", true},
      {"[a-]", "a", true},
      {"[a-]", "b", false},
      {"[\\]]", "]", true},
      {"[\\!]", "!", true},
      {"[0-9][0-9]", "42", true},
      {"[0-9][0-9]", "4x", false},
      {"\\*", "*", true},
      {"\\*", "a", false},
      {"\\?", "?", true},
      {"\\?", "a", false},
      {"a\\[b", "a[b", true},
      {"\\\\", "\\", true},
      {"[", "[", true},  // unterminated: a literal '['
      {"a[b", "a[b", true},
      {"[ab", "a", false},
      {"a\\", "a\\", true},  // trailing backslash: literal
      {"*a*a*b", "aaab", true},
      {"*a*a*b", "aab", true},
      {"*a*a*b", "ab", false},
      {"a*b*c", "abc", true},
      {"a*b*c", "aXXbYYc", true},
      {"a*b*c", "aXXbYY", false},
      {"*.txt", "notes.txt", true},
      {"*/*", "a/b", true},    // no special '/'
      {"*", ".hidden", true},  // no special leading '.'
      {"?", "é", true},        // one code point, two bytes
      {"??", "é", false},
      {"[é]", "é", true},
      {"[à-ê]", "é", true},
      {"[!é]", "e", true},
      {"caf?", "café", true},
      {"?", "\xff", true},  // an invalid byte is one character
      {"\xff", "\xff", true},
      {"[!a]", "\xff", true},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT("pattern '" << r.pattern << "' text '" << r.text << "'") {
      BOOST_TEST(glob_match(r.pattern, r.text) == r.match);
    }
  }
}

BOOST_AUTO_TEST_CASE(errors_for_the_command_line) {
  struct row {
    std::string_view pattern;
    bool bad;
  };
  const row rows[] = {
      {"ci-*", false}, {"[a-z]*", false}, {"\\[", false}, {"\\\\", false}, {"[]]", false},
      {"[", true},     {"ci-[", true},    {"[a-z", true}, {"a\\", true},   {"a\\\\\\", true},
      {"[z-a]", true}, {"[!", true},      {"[\\", true},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT("pattern '" << r.pattern << "'") {
      const auto error = glob_error(r.pattern);
      BOOST_TEST(error.has_value() == r.bad);
      if (error && r.pattern.size() > 3) BOOST_TEST(error->find(std::string{r.pattern}) == std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(pathological_patterns_are_not_exponential) {
  const std::string many_a(100000, 'a');
  const auto started = std::chrono::steady_clock::now();
  BOOST_TEST(!glob_match("*a*a*a*a*a*a*a*a*a*a*b", many_a));
  BOOST_TEST(glob_match("*a*a*a*a*a*a*a*a*a*a*", many_a));
  BOOST_TEST(!glob_match("*?*?*?*?*?*?*?*?*?*?*?*b", many_a));
  BOOST_TEST(glob_match(std::string(50, '*') + "a", many_a));
  BOOST_TEST(!glob_match("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*c*", std::string(5000, 'a') + "b"));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  BOOST_TEST(seconds < 2.0);  // exponential backtracking would take longer than the universe
}

BOOST_AUTO_TEST_SUITE_END()
