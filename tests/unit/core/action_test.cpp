// What a run does to each key (core/action): the names written in report headers and plans, and the
// request each action sends.
#include "keyrevoke/core/action.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

namespace kc = keyrevoke::core;

BOOST_AUTO_TEST_SUITE(action)

BOOST_AUTO_TEST_CASE(actions_have_stable_names) {
  for (const kc::action a : {kc::action::delete_key, kc::action::disable, kc::action::enable}) {
    BOOST_TEST((kc::action_from_string(kc::to_string(a)) == a));
  }
  BOOST_TEST(kc::to_string(kc::action::delete_key) == "delete");
  BOOST_TEST(!kc::action_from_string("Delete"));
  BOOST_TEST(!kc::action_from_string(""));
}

BOOST_AUTO_TEST_SUITE_END()
