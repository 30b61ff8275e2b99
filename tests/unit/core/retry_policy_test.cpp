// Backoff and the retry plan after each attempt (core/retry_policy). Pure; fixed uniform draws.
#include "keyrevoke/core/retry_policy.hpp"

#include <boost/test/unit_test.hpp>

#include <optional>
#include <vector>

using namespace keyrevoke::core;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_SUITE(retry_policy)

BOOST_AUTO_TEST_CASE(full_jitter_stays_within_the_exponential_envelope) {
  const backoff_policy policy{250ms, 30000ms};
  struct row { unsigned failures; double u; millis expected; };
  const row rows[] = {
      {1, 0.0, 0ms},      {1, 0.999, 249ms},   {2, 0.5, 250ms},  {3, 0.5, 500ms},
      {8, 0.999, 29970ms}, {30, 0.5, 15000ms}, {1000, 0.5, 15000ms},  // capped
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT("failures " << r.failures << " u " << r.u) {
      BOOST_TEST(full_jitter_delay(policy, r.failures, r.u).count() == r.expected.count());
    }
  }
}

BOOST_AUTO_TEST_CASE(final_answers_end_the_hash) {
  const backoff_policy policy;
  struct row { verdict_kind kind; outcome expected; };
  const row rows[] = {
      {verdict_kind::deleted, outcome::deleted},           {verdict_kind::not_found, outcome::not_found},
      {verdict_kind::unauthorized, outcome::unauthorized}, {verdict_kind::client_error, outcome::failed},
      {verdict_kind::tls_error, outcome::failed},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT("kind " << static_cast<int>(r.kind)) {
      const retry_plan plan = plan_after_attempt({r.kind, std::nullopt, false}, 1, 8, policy, 0.5);
      BOOST_TEST(!plan.retry);
      BOOST_TEST((plan.final_outcome == r.expected));
    }
  }
}

BOOST_AUTO_TEST_CASE(retryable_answers_retry_until_attempts_are_exhausted) {
  const backoff_policy policy;
  for (const verdict_kind kind : {verdict_kind::throttled, verdict_kind::server_error, verdict_kind::network_error,
                                  verdict_kind::timeout}) {
    BOOST_TEST_CONTEXT("kind " << static_cast<int>(kind)) {
      for (unsigned attempt = 1; attempt < 8; ++attempt) {
        BOOST_TEST(plan_after_attempt({kind, std::nullopt, false}, attempt, 8, policy, 0.5).retry);
      }
      const retry_plan last = plan_after_attempt({kind, std::nullopt, false}, 8, 8, policy, 0.5);
      BOOST_TEST(!last.retry);
      BOOST_TEST((last.final_outcome == outcome::failed));
    }
  }
}

BOOST_AUTO_TEST_CASE(retry_after_is_honoured_for_the_hash_with_a_little_jitter) {
  const retry_plan exact = plan_after_attempt({verdict_kind::throttled, millis{7000}, false}, 1, 8, {}, 0.0);
  BOOST_TEST(exact.retry);
  BOOST_TEST(exact.delay.count() == 7000);
  // Never before the hint, at most a second (or a quarter of the hint, plus 10 ms) after it.
  const retry_plan late = plan_after_attempt({verdict_kind::throttled, millis{7000}, false}, 1, 8, {}, 0.999);
  BOOST_TEST(late.delay.count() >= 7000);
  BOOST_TEST(late.delay.count() <= 8000);
}

// THROTTLING.md pitfall 7: a hint never shortens the wait the client would have chosen. Before this
// rule, `Retry-After: 0`, a date already past (parsed as 0) or a reset sent as a small delta replaced
// the backoff, and a throttle window outlasted --max-attempts.
BOOST_AUTO_TEST_CASE(a_useless_hint_does_not_shorten_the_backoff) {
  struct row {
    std::optional<millis> hint;
    unsigned attempts;
    double u;
    millis at_least;
  };
  const backoff_policy policy{};  // 250 ms base, 30 s cap
  const std::vector<row> table = {
      {millis{0}, 1, 0.999, full_jitter_delay(policy, 1, 0.999)},    // Retry-After: 0
      {millis{0}, 5, 0.5, full_jitter_delay(policy, 5, 0.5)},        // a past date
      {millis{2}, 7, 0.9, full_jitter_delay(policy, 7, 0.9)},        // a tiny reset delta
      {millis{20000}, 2, 0.5, millis{20000}},                        // a long hint still wins
      {std::nullopt, 6, 0.7, full_jitter_delay(policy, 6, 0.7)},     // no hint at all
  };
  for (const row& r : table) {
    BOOST_TEST_CONTEXT("hint " << (r.hint ? r.hint->count() : -1) << " ms, attempt " << r.attempts) {
      const retry_plan plan = plan_after_attempt({verdict_kind::throttled, r.hint, false}, r.attempts, 8, policy, r.u);
      BOOST_TEST(plan.retry);
      BOOST_TEST(plan.delay.count() >= r.at_least.count());
      BOOST_TEST(plan.delay.count() >= full_jitter_delay(policy, r.attempts, r.u).count());
    }
  }
}

BOOST_AUTO_TEST_CASE(a_stale_keep_alive_connection_is_retried_at_once_but_still_counts) {
  const retry_plan plan = plan_after_attempt({verdict_kind::network_error, std::nullopt, true}, 1, 8, {}, 0.9);
  BOOST_TEST(plan.retry);
  BOOST_TEST(plan.delay.count() == 0);
  // Only once: a second network error backs off.
  BOOST_TEST(plan_after_attempt({verdict_kind::network_error, std::nullopt, true}, 2, 8, {}, 0.9).delay.count() > 0);
  // And with one attempt allowed, there is no retry at all.
  BOOST_TEST(!plan_after_attempt({verdict_kind::network_error, std::nullopt, true}, 1, 1, {}, 0.9).retry);
}

BOOST_AUTO_TEST_SUITE_END()
