// The key lister's configuration errors (app/key_lister): exit 2 before any request is sent, naming the
// problem and never echoing the key.
#include "keyrevoke/app/key_lister.hpp"

#include <boost/test/unit_test.hpp>

#include <optional>
#include <string>

using namespace keyrevoke::app;

namespace {

const char* const pasted_key = "sk-mg-v1-5f2b9c0e7d1a4b3c8e6f5f2b9c0e7d1a";

}  // namespace

BOOST_AUTO_TEST_SUITE(key_lister_configuration)

BOOST_AUTO_TEST_CASE(configuration_errors_are_exit_2_before_any_request) {
  const std::string key = pasted_key;
  int calls = 0;
  const auto on_key = [&](const listed_key&) { ++calls; };
  struct row {
    key_lister_config config;
    const char* mentions;
  };
  const auto config = [](std::string url, std::optional<std::string> cacert = std::nullopt) {
    key_lister_config c;
    c.base_url = std::move(url);
    c.cacert = std::move(cacert);
    return c;
  };
  const row rows[] = {
      {config("ftp://example.test"), "base URL"},
      {config("https://user@example.test"), "base URL"},
      {config(key), "looks like a key"},
      {config("http://127.0.0.1:9/api/v1"), "http://"},
      {config("https://127.0.0.1:9/api/v1", "/nonexistent/ca.pem"), "ca.pem"},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.mentions) {
      const list_result result = list_keys(r.config, key, on_key, false);
      BOOST_TEST(result.exit_code == 2);
      BOOST_TEST(result.error.find(r.mentions) != std::string::npos, result.error);
      BOOST_TEST(result.error.find("5f2b9c0e7d1a") == std::string::npos);
      BOOST_TEST(result.requests == 0u);
    }
  }
  BOOST_TEST(calls == 0);
}

BOOST_AUTO_TEST_SUITE_END()
