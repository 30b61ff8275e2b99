// One line of a --protect file: a hash, a glob for the name, the label or both, a skip, or an error that
// never shows the line.
#include "keyrevoke/core/protect_line.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

using namespace keyrevoke::core;

BOOST_AUTO_TEST_SUITE(protect_line_tests)

BOOST_AUTO_TEST_CASE(table) {
  using kind = protect_line::kind;
  constexpr std::string_view hex = "f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943";
  const std::string upper_hex = "F01D52606DC8F0A8303A7B5CC3FA07109C2E346CEC7C0A16B40DE462992CE943";
  struct row {
    std::string line;
    bool ok;
    kind what;
    std::string_view glob;  // for the glob kinds; for an error, a part of its reason
  };
  const row rows[] = {
      {"", true, kind::skip, ""},
      {" \t\r", true, kind::skip, ""},
      {"# a comment", true, kind::skip, ""},
      {"  # indented comment", true, kind::skip, ""},
      {std::string{hex}, true, kind::hash, ""},
      {"  " + upper_hex + "\r", true, kind::hash, ""},
      {"name:prod-*", true, kind::name_glob, "prod-*"},
      {"name:  prod-*  ", true, kind::name_glob, "prod-*"},
      {"label:sk-mg-v1-abc...", true, kind::label_glob, "sk-mg-v1-abc..."},
      {"ci-[0-9]?", true, kind::name_and_label_glob, "ci-[0-9]?"},
      {"  ci-*\r", true, kind::name_and_label_glob, "ci-*"},
      {"name:label:x", true, kind::name_glob, "x"},  // the second prefix is stripped too (as before)
      {"name:", false, kind::skip, "empty glob"},
      {"label:   ", false, kind::skip, "empty glob"},
      {"name:[z-a]", false, kind::skip, "not a hash or a valid glob"},
      {"trailing\\", false, kind::skip, "not a hash or a valid glob"},
      {"[unterminated", false, kind::skip, "not a hash or a valid glob"},
      {"sk-mg-v1-" + std::string(64, 'a'), false, kind::skip, "looks like an API key"},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT("line '" << r.line << "'") {
      const auto parsed = parse_protect_line(r.line);
      if (!r.ok) {
        const auto* error = std::get_if<std::string>(&parsed);
        BOOST_TEST_REQUIRE(error != nullptr);
        BOOST_TEST(error->find(r.glob) != std::string::npos);
        BOOST_TEST(error->find(r.line) == std::string::npos);  // never the line itself
        continue;
      }
      const auto* entry = std::get_if<protect_line>(&parsed);
      BOOST_TEST_REQUIRE(entry != nullptr);
      BOOST_TEST(static_cast<int>(entry->what) == static_cast<int>(r.what));
      BOOST_TEST(entry->glob == r.glob);
      if (r.what == kind::hash) BOOST_TEST(to_hex(entry->hash) == hex);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
