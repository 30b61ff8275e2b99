// What the mock's gateway answers instead of the API (mock/gateway): nginx's HTML pages, the throttle
// body variants, and the --outage window syntax. Pure.
#include "keyrevoke/mock/gateway.hpp"

#include <boost/test/unit_test.hpp>

#include <chrono>
#include <cstdint>
#include <string>

using namespace keyrevoke::mock;

BOOST_AUTO_TEST_SUITE(gateway_suite)

BOOST_AUTO_TEST_CASE(outage_window_syntax) {
  struct row {
    const char* text;
    bool ok;
    std::int64_t start_ms, duration_ms;
    outage_kind kind;
  };
  const row rows[] = {
      {"0:30", true, 0, 30'000, outage_kind::bad_gateway},
      {"2.5:0.25:503", true, 2'500, 250, outage_kind::unavailable},
      {"10:5:504", true, 10'000, 5'000, outage_kind::gateway_timeout},
      {"1:1:reset", true, 1'000, 1'000, outage_kind::reset},
      {"1:1:429", true, 1'000, 1'000, outage_kind::throttle},
      {"1:1:502", true, 1'000, 1'000, outage_kind::bad_gateway},
      {"1:0", false, 0, 0, {}},
      {"1", false, 0, 0, {}},
      {"-1:5", false, 0, 0, {}},
      {"1:5:500", false, 0, 0, {}},
      {"1:5:", false, 0, 0, {}},
      {":5", false, 0, 0, {}},
      {"1:x", false, 0, 0, {}},
      {"1:86401", false, 0, 0, {}},
      {"1:5:502:3", false, 0, 0, {}},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.text) {
      const auto w = parse_outage(r.text);
      BOOST_TEST(w.has_value() == r.ok);
      if (w && r.ok) {
        BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(w->start).count() == r.start_ms);
        BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(w->duration).count() ==
                   r.duration_ms);
        BOOST_TEST((w->kind == r.kind));
        BOOST_TEST((parse_outage_kind(to_string(w->kind)) == w->kind));
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(gateway_pages) {
  for (const unsigned status : {403u, 404u, 429u, 502u, 503u, 504u}) {
    BOOST_TEST_CONTEXT(status) {
      std::string page;
      write_html_page(page, status);
      const std::string line = std::to_string(status) + " " + std::string(gateway_reason(status));
      BOOST_TEST(page.find("<title>" + line + "</title>") != std::string::npos);
      BOOST_TEST(page.find("<h1>" + line + "</h1>") != std::string::npos);
      BOOST_TEST(page.find('{') == std::string::npos);  // nothing a JSON parser would take
      std::string big;
      write_big_html_page(big, status);
      BOOST_TEST(big.size() == big_page_size);
      BOOST_TEST(big.find("<title>" + line + "</title>") != std::string::npos);
    }
  }
  BOOST_TEST(gateway_reason(502) == "Bad Gateway");
  BOOST_TEST(gateway_reason(504) == "Gateway Time-out");
  for (const auto b : {throttle_body::api, throttle_body::html, throttle_body::big})
    BOOST_TEST_CONTEXT(to_string(b)) { BOOST_TEST((parse_throttle_body(to_string(b)) == b)); }
  BOOST_TEST(!parse_throttle_body("json").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
