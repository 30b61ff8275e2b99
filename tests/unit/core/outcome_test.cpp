// A report row's outcome (core/outcome): its name in the report, and which outcomes make a hash done
// (a resumed run never sends a done hash again).
#include "keyrevoke/core/outcome.hpp"

#include <boost/test/unit_test.hpp>
#include <set>
#include <string>

namespace kc = keyrevoke::core;

BOOST_AUTO_TEST_SUITE(outcome)

BOOST_AUTO_TEST_CASE(outcomes_have_stable_names) {
  BOOST_TEST(kc::to_string(kc::outcome::protected_key) == "protected");
  BOOST_TEST((kc::outcome_from_string("disabled") == kc::outcome::disabled));
  BOOST_TEST(kc::is_done(kc::outcome::disabled));
  BOOST_TEST(kc::is_done(kc::outcome::enabled));
  BOOST_TEST(!kc::is_done(kc::outcome::protected_key));
}

BOOST_AUTO_TEST_CASE(every_outcome_round_trips_and_says_whether_it_is_done) {
  // Done means the server showed the action complete for this hash (outcome.hpp); everything else is
  // sent again by --resume. Calling a failure done would silently skip a live key.
  struct row {
    kc::outcome value;
    std::string name;
    bool done;
  };
  const row rows[] = {
      {kc::outcome::deleted, "deleted", true},
      {kc::outcome::not_found, "not_found", true},
      {kc::outcome::failed, "failed", false},
      {kc::outcome::unauthorized, "unauthorized", false},
      {kc::outcome::not_attempted, "not_attempted", false},
      {kc::outcome::invalid, "invalid", false},
      {kc::outcome::disabled, "disabled", true},
      {kc::outcome::enabled, "enabled", true},
      {kc::outcome::protected_key, "protected", false},
      {kc::outcome::not_found_after_retry, "not_found_after_retry", true},
  };
  BOOST_TEST(std::size(rows) == kc::outcome_count);
  std::set<std::string> names;
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      BOOST_TEST(kc::to_string(r.value) == r.name);
      const auto parsed = kc::outcome_from_string(r.name);
      BOOST_TEST_REQUIRE(parsed.has_value());
      BOOST_TEST((*parsed == r.value));
      BOOST_TEST(kc::is_done(r.value) == r.done);
      names.insert(std::string{kc::to_string(r.value)});
    }
  }
  BOOST_TEST(names.size() == kc::outcome_count);  // no two outcomes share a name
}

BOOST_AUTO_TEST_CASE(unknown_names_do_not_parse) {
  for (const char* text :
       {"", "Deleted", "protected_key", "not found", "deleted ", "unknown", "ok", "gone"}) {
    BOOST_TEST_CONTEXT('"' << text << '"') { BOOST_TEST(!kc::outcome_from_string(text).has_value()); }
  }
}

BOOST_AUTO_TEST_SUITE_END()
