// "Did you mean ...?" for an unknown option: the nearest known name, or none.
#include "keyrevoke/core/nearest_name.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace kc = keyrevoke::core;

BOOST_AUTO_TEST_SUITE(nearest_name)

BOOST_AUTO_TEST_CASE(edit_distances) {
  struct row {
    const char *a, *b;
    std::size_t d;
  };
  const std::vector<row> rows = {
      {"", "", 0},
      {"rate", "rate", 0},
      {"", "abc", 3},
      {"rate", "", 4},
      {"concurency", "concurrency", 1},
      {"dryrun", "dry-run", 1},
      {"verfiy", "verify", 1},  // swap
      {"kitten", "sitting", 3},
      {"timeout", "timeuot", 1},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.a << " -> " << r.b) {
      BOOST_TEST(kc::edit_distance(r.a, r.b) == r.d);
      BOOST_TEST(kc::edit_distance(r.b, r.a) == r.d);
    }
  }
}

BOOST_AUTO_TEST_CASE(suggestions) {
  const std::vector<std::string> known = {"help",        "version", "base-url", "cacert",  "key-file",
                                          "report",      "resume",  "force",    "rate",    "max-attempts",
                                          "concurrency", "timeout", "dry-run",  "verify",  "verbose",
                                          "trace",       "quiet",   "progress", "protect", "plan"};
  struct row {
    const char* typed;
    const char* suggestion;
  };
  const std::vector<row> rows = {
      {"concurency", "concurrency"},
      {"max-attempt", "max-attempts"},
      {"dryrun", "dry-run"},
      {"verfiy", "verify"},
      {"key", "key-file"},  // "--key=..." (never on the command line): the file option
      {"base_url", "base-url"},
      {"reprot", "report"},
      {"cacerts", "cacert"},
      {"pro", ""},         // progress, protect: no guess
      {"rate-limit", ""},  // too far from anything
      {"x", ""},
      {"", ""},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.typed) { BOOST_TEST(kc::nearest_name(r.typed, known) == r.suggestion); }
  }
}

BOOST_AUTO_TEST_SUITE_END()
