// The key stays off the screen: previews of secret-looking values, and keys echoed back by a server.
#include "keyrevoke/core/redact.hpp"

#include <boost/test/unit_test.hpp>

using namespace keyrevoke::core;

BOOST_AUTO_TEST_SUITE(redact)

BOOST_AUTO_TEST_CASE(secret_looking_values_are_previewed_not_shown) {
  struct row { std::string_view text; bool secret; };
  const row rows[] = {
      {"hashes.txt", false},
      {"/var/incidents/2026-11-27/leaked-keys-from-the-ci-logs.txt", false},
      {"https://modelgates.ai/api/v1", false},
      {"sk-mg-v1-0123456789abcdef", true},
      {"0123456789abcdef0123456789abcdef", true},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.text) {
      BOOST_TEST(looks_like_secret(r.text) == r.secret);
      const std::string shown = safe_display(r.text);
      BOOST_TEST((shown == r.text) == !r.secret);
      if (r.secret) BOOST_TEST(shown.find(r.text.substr(6)) == std::string::npos);
    }
  }
}

// A key of any shape (here one with a domain's dots, which looks_like_secret lets through), once known,
// is never shown where a file name or a value goes.
BOOST_AUTO_TEST_CASE(the_known_key_is_never_shown_whatever_its_shape) {
  const std::string key = "mg.trial.4f2a9c0b";
  BOOST_TEST(!looks_like_secret(key));
  BOOST_TEST(safe_display(key) == key);  // not known yet: just a name
  set_known_secret(key);
  struct row { std::string text; bool hidden; };
  const row rows[] = {
      {key, true},
      {"./" + key, true},
      {"/tmp/" + key + ".txt", true},
      {"hashes.txt", false},
      {"mg.trial", false},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.text) {
      const std::string shown = safe_display(r.text);
      BOOST_TEST(shown.find(key) == std::string::npos);
      BOOST_TEST((shown == r.text) == !r.hidden);
    }
  }
  set_known_secret("short");  // under 8 bytes: not kept, ordinary names stay readable
  BOOST_TEST(safe_display(key) == key);
  BOOST_TEST(safe_display("short.txt") == "short.txt");
  set_known_secret("");
}

BOOST_AUTO_TEST_CASE(a_key_echoed_back_is_replaced) {
  const std::string key = "sk-mg-v1-5f2b9c0e7d1a4b3c8e6f";
  struct row { std::string text; std::string expected; };
  const row rows[] = {
      {"HTTP 401: invalid key " + key, "HTTP 401: invalid key [redacted]"},
      {"Bearer " + key + " rejected", "Bearer [redacted] rejected"},
      {"key " + key.substr(0, 16) + "... unknown", "key [redacted]... unknown"},  // a prefix
      {"key " + key.substr(10, 12) + " unknown", "key [redacted] unknown"},        // a middle run
      {"HTTP 500: Internal error", "HTTP 500: Internal error"},
      {"short run sk-mg-v1 only", "short run sk-mg-v1 only"},  // under 12 characters: kept
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.text) {
      std::string text = r.text;
      redact_secret(text, key);
      BOOST_TEST(text == r.expected);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
