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

BOOST_AUTO_TEST_SUITE_END()
