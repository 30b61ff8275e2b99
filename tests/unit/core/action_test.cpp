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

BOOST_AUTO_TEST_CASE(names_and_requests_follow_the_table) {
  // A report header names its action; --resume and --confirm compare these strings, so each one is
  // pinned, and each action sends its own request (a DELETE for a --disable run would be irreversible).
  struct row {
    kc::action value;
    std::string name;
    kc::request_kind request;
  };
  const row rows[] = {
      {kc::action::delete_key, "delete", kc::request_kind::delete_key},
      {kc::action::disable, "disable", kc::request_kind::disable},
      {kc::action::enable, "enable", kc::request_kind::enable},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      BOOST_TEST(kc::to_string(r.value) == r.name);
      const auto parsed = kc::action_from_string(r.name);
      BOOST_TEST_REQUIRE(parsed.has_value());
      BOOST_TEST((*parsed == r.value));
      BOOST_TEST((kc::request_for(r.value) == r.request));
    }
  }
}

BOOST_AUTO_TEST_CASE(only_the_exact_names_parse) {
  for (const char* text : {"DELETE", "Disable", " delete", "delete ", "delete_key", "del", "revoke", "get",
                           "enabled", "disabled", "delete\n", "dis able"}) {
    BOOST_TEST_CONTEXT('"' << text << '"') { BOOST_TEST(!kc::action_from_string(text).has_value()); }
  }
  BOOST_TEST(!kc::action_from_string(std::string_view{"delete\0", 7}).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
