// The sending-rate estimator (core/rate_estimator): unbiased from the first event, decaying when events
// stop. Fake clock.
#include "keyrevoke/core/rate_estimator.hpp"

#include <boost/test/unit_test.hpp>

using namespace keyrevoke::core;
using namespace std::chrono_literals;

namespace {
const steady_time t0{std::chrono::hours{1}};
}

BOOST_AUTO_TEST_SUITE(rate_estimator_tests)

BOOST_AUTO_TEST_CASE(is_unbiased_from_the_first_events) {
  for (const double rate : {10.0, 500.0, 5000.0}) {
    rate_estimator e{0.5};
    for (const double horizon : {0.1, 0.3, 2.0}) {
      BOOST_TEST_CONTEXT("rate " << rate << " after " << horizon << " s") {
        rate_estimator fresh{0.5};
        const int n = static_cast<int>(horizon * rate);
        for (int i = 0; i < n; ++i) fresh.record(t0 + from_seconds(i / rate));
        BOOST_TEST(fresh.rate(t0 + from_seconds(horizon)) == rate, boost::test_tools::tolerance(0.15));
      }
    }
    BOOST_TEST(e.rate(t0) == 0.0);
  }
}

BOOST_AUTO_TEST_CASE(decays_when_events_stop) {
  // 1000 events/s for 1 s, then none. An estimator that always said 0 (or never decayed) must fail:
  // the rate is first measured, then falls by exp(-1 s / 0.5 s) (~0.12 after the window's correction)
  // one second later, and is near zero but not negative after four.
  rate_estimator e{0.5};
  for (int i = 0; i < 1000; ++i) e.record(t0 + from_seconds(i / 1000.0));
  const double at_end = e.rate(t0 + 1s);
  const double one_later = e.rate(t0 + 2s);
  const double four_later = e.rate(t0 + 5s);
  BOOST_TEST(at_end == 1000.0, boost::test_tools::tolerance(0.15));
  BOOST_TEST(one_later > 0.05 * at_end);
  BOOST_TEST(one_later < 0.25 * at_end);
  BOOST_TEST(four_later < 10.0);
  BOOST_TEST(four_later >= 0.0);
  BOOST_TEST(four_later < one_later);
}

BOOST_AUTO_TEST_SUITE_END()
