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

BOOST_AUTO_TEST_CASE(sustained_rate_claims_no_more_than_was_seen) {
  // {events, spread over (s), read after (s), sustained rate at least, at most}: 16 answers in the
  // first millisecond read as 1,600/s with the start correction, 32/s sustained; a rate held longer
  // than the time constant reads as itself either way.
  struct row {
    int events;
    double over_s;
    double read_after_s;
    double at_least;
    double at_most;
  };
  const row rows[] = {
      {16, 0.001, 0.001, 31.0, 33.0},
      {100, 0.1, 0.1, 0.8 * 0.18 * 1000.0, 1.2 * 0.18 * 1000.0},  // 1 - exp(-0.2) of 1000/s
      {2000, 2.0, 2.0, 0.9 * 1000.0, 1.1 * 1000.0},
      {0, 0.0, 1.0, 0.0, 0.0},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.events << " events over " << r.over_s << " s") {
      rate_estimator e{0.5};
      for (int i = 0; i < r.events; ++i) e.record(t0 + from_seconds(r.over_s * i / r.events));
      const double sustained = e.sustained_rate(t0 + from_seconds(r.read_after_s));
      BOOST_TEST(sustained >= r.at_least);
      BOOST_TEST(sustained <= r.at_most);
      BOOST_TEST(sustained <= e.rate(t0 + from_seconds(r.read_after_s)) + 1e-9);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
