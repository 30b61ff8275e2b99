// The header row's operator: $USER, $LOGNAME, the uid's account name, "uid N"; never a secret.
#include "keyrevoke/app/operator_name.hpp"

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <string>

using namespace keyrevoke::app;

BOOST_AUTO_TEST_SUITE(operator_name)

BOOST_AUTO_TEST_CASE(the_first_usable_name_wins) {
  const std::string secret = "sk-mg-v1-0123456789abcdef0123456789abcdef0123456789abcdef";
  struct row {
    const char* name;
    const char* user;
    const char* logname;
    std::string account;
    std::string expected;
  };
  const row rows[] = {
      {"USER", "alice", "bob", "carol", "alice"},
      {"LOGNAME when USER is unset", nullptr, "bob", "carol", "bob"},
      {"LOGNAME when USER is empty", "", "bob", "carol", "bob"},
      {"the account when neither is set (cron, containers)", nullptr, nullptr, "carol", "carol"},
      {"the account when both are empty", "", "", "carol", "carol"},
      {"uid N when the uid has no account", nullptr, nullptr, "", "uid 1234"},
      {"a USER that looks like a key is skipped", secret.c_str(), "bob", "carol", "bob"},
      {"an account that looks like a key is skipped", nullptr, nullptr, secret, "uid 1234"},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      BOOST_TEST(choose_operator_name(r.user, r.logname, r.account, 1234) == r.expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(an_unknown_uid_has_no_account_name) {
  BOOST_TEST(account_name(static_cast<uid_t>(4000000000U)) == "");
  BOOST_TEST(account_name(0) == "root");  // every Debian system's uid 0
}

BOOST_AUTO_TEST_SUITE_END()
