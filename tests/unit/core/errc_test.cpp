// The transfer taxonomy (core/errc.hpp): every failure the pool reports is a std::error_code of one
// category, never a success, and its message is the phrase a report row starts with.
#include "keyrevoke/core/errc.hpp"

#include "keyrevoke/core/verdict.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace kc = keyrevoke::core;

BOOST_AUTO_TEST_SUITE(errc)

BOOST_AUTO_TEST_CASE(each_value_is_a_failure_with_its_phrase) {
  struct row {
    kc::errc value;
    std::string message;
    kc::verdict_kind kind;
  };
  using vk = kc::verdict_kind;
  const std::vector<row> rows = {
      {kc::errc::connect_failed, "connect failed", vk::network_error},
      {kc::errc::connection_reset, "connection reset", vk::network_error},
      {kc::errc::eof_before_response, "connection closed before the response", vk::network_error},
      {kc::errc::torn_response, "response cut off", vk::network_error},
      {kc::errc::timeout, "timed out", vk::timeout},
      {kc::errc::tls_untrusted, "TLS certificate not trusted", vk::tls_error},
      {kc::errc::tls_handshake_failed, "TLS handshake failed", vk::tls_error},
      {kc::errc::cancelled, "cancelled", vk::network_error},
      {kc::errc::other, "network error", vk::network_error},
      {kc::errc::unrequested_answer, "an answer to no request", vk::network_error},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.message) {
      const std::error_code code = r.value;  // implicit: errc is an error-code enum
      BOOST_TEST(static_cast<bool>(code));   // never "no error"
      BOOST_TEST(&code.category() == &kc::transfer_category());
      BOOST_TEST(std::string{code.category().name()} == "keyrevoke.transfer");
      BOOST_TEST(code.message() == r.message);
      BOOST_TEST(code == r.value);
      BOOST_TEST(kc::to_string(kc::classify_transport_failure(code, {}).kind) == kc::to_string(r.kind));
      // Only an answer to no request stops the run (run_scheduler): the verdict says which it was.
      BOOST_TEST(kc::classify_transport_failure(code, {}).unrequested_answer ==
                 (r.value == kc::errc::unrequested_answer));
    }
  }
}

BOOST_AUTO_TEST_CASE(an_error_code_of_the_system_category_is_not_a_transfer_error) {
  const std::error_code refused = std::make_error_code(std::errc::connection_refused);
  BOOST_TEST(refused != kc::errc::connect_failed);
  BOOST_TEST(kc::transfer_category().message(0) == "unknown transfer error");
  BOOST_TEST(kc::transfer_category().message(999) == "unknown transfer error");
}

BOOST_AUTO_TEST_SUITE_END()
