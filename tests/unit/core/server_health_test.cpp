// server_health: when the server is in an outage, when to probe it, how fast to ramp up after, when
// to give up. Fake clock, fixed draws.
#include "keyrevoke/core/server_health.hpp"

#include <boost/test/unit_test.hpp>
#include <string>
#include <vector>

namespace kc = keyrevoke::core;
using namespace std::chrono_literals;
using kc::millis;
using kc::steady_time;

namespace {

const steady_time t0{std::chrono::hours{1}};

// One piece of evidence: 's' a success, 'F' a job's first failure, 'f' a repeated failure of a job.
void feed(kc::server_health& h, std::string_view evidence, steady_time now) {
  for (const char c : evidence) {
    if (c == 's') h.on_success(now);
    if (c == 'F') h.on_failure(now, true, false, 0.0);
    if (c == 'f') h.on_failure(now, false, false, 0.0);
  }
}

std::string repeat(char c, std::size_t n) { return std::string(n, c); }

}  // namespace

BOOST_AUTO_TEST_SUITE(server_health)

BOOST_AUTO_TEST_CASE(outage_needs_enough_first_failures) {
  struct row {
    const char* name;
    std::string evidence;
    bool outage;
  };
  const std::vector<row> rows = {
      {"nothing", "", false},
      {"7 failures: fewer than min_samples", repeat('F', 7), false},
      {"8 failures", repeat('F', 8), true},
      {"1 success, 8 failures: 89 %", "s" + repeat('F', 8), false},
      {"1 success, 9 failures: 90 %", "s" + repeat('F', 9), true},
      {"failures, then one success at the end", repeat('F', 7) + "s", false},
      {"a poison job failing again and again", "F" + repeat('f', 50), false},
      {"poison jobs among successes", repeat('s', 5) + repeat('f', 40), false},
      {"20 successes, 9 failures in a row", repeat('s', 20) + repeat('F', 9), false},
      // A server that dies mid-run: 10 fresh hashes failing in a row, though the window still holds
      // successes (the share rule alone waited for 18).
      {"20 successes, 10 failures in a row", repeat('s', 20) + repeat('F', 10), true},
      {"repeated failures neither count nor break the run", repeat('s', 20) + repeat('F', 5) + repeat('f', 30) +
                                                                 repeat('F', 5), true},
      {"a success breaks the run", repeat('s', 20) + repeat('F', 8) + "s" + repeat('F', 8), false},
      {"30 % of first tries failing, never 10 in a row", repeat('s', 20) + "FsFFsFsFFsFsFsFFsFsFFs", false},
      {"alternating", "sFsFsFsFsFsFsFsFsFsF", false},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      kc::server_health h{{}, t0};
      feed(h, r.evidence, t0 + 1s);
      BOOST_TEST(h.in_outage() == r.outage);
      BOOST_TEST(h.outages() == (r.outage ? 1U : 0U));
      BOOST_TEST(h.in_flight_limit(16) == (r.outage ? 1U : 16U));
    }
  }
}

BOOST_AUTO_TEST_CASE(probes_follow_equal_jitter_backoff) {
  // d = min(cap, base * 2^k); the k-th probe goes d/2 + U(0, d/2) after the failure before it.
  struct row {
    double u01;
    std::vector<millis> delays;  // k = 0, 1, ...
  };
  const std::vector<row> rows = {
      {0.0, {125ms, 250ms, 500ms, 1000ms, 2000ms, 2500ms, 2500ms}},
      {0.5, {187ms, 375ms, 750ms, 1500ms, 3000ms, 3750ms, 3750ms}},
      {0.999999, {249ms, 499ms, 999ms, 1999ms, 3999ms, 4999ms, 4999ms}},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT("u01 " << r.u01) {
      kc::server_health h{{}, t0};
      steady_time now = t0 + 1s;
      for (int i = 0; i < 8; ++i) h.on_failure(now, true, false, r.u01);
      BOOST_REQUIRE(h.in_outage());
      for (std::size_t k = 0; k < r.delays.size(); ++k) {
        BOOST_TEST_CONTEXT("probe " << k) {
          BOOST_TEST(
              (h.next_probe_at() - now == r.delays[k]),
              "delay " << std::chrono::duration_cast<millis>(h.next_probe_at() - now).count() << " ms");
          BOOST_TEST(!h.probe_in_flight());
          now = h.next_probe_at();
          h.on_probe_sent();
          BOOST_TEST(h.probe_in_flight());
          now += 100ms;  // the probe's round trip
          h.on_failure(now, true, true, r.u01);
          BOOST_TEST(h.in_outage());
          BOOST_TEST(h.probes() == k + 1);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(other_failures_in_an_outage_do_not_move_the_probe) {
  kc::server_health h{{}, t0};
  for (int i = 0; i < 8; ++i) h.on_failure(t0, true, false, 0.0);
  const steady_time due = h.next_probe_at();
  h.on_probe_sent();
  h.on_failure(t0 + 50ms, true, false, 0.9);  // a late answer to a request sent before the outage
  BOOST_TEST((h.next_probe_at() == due));
  BOOST_TEST(h.probe_in_flight());
  h.on_probe_abandoned();
  BOOST_TEST(!h.probe_in_flight());
  BOOST_TEST((h.next_probe_at() == due));
  BOOST_TEST(h.probes() == 0U);
}

BOOST_AUTO_TEST_CASE(a_success_ends_the_outage_with_a_slow_start) {
  struct row {
    const char* name;
    bool from_probe;
    unsigned ceiling;
    std::vector<unsigned> limits;  // after 0, 1, 2 ... further successes
  };
  const std::vector<row> rows = {
      {"a probe's success, ceiling 16",
       true,
       16,
       {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 16, 16}},
      {"a late answer's success, ceiling 4", false, 4, {2, 3, 4, 4, 4}},
      {"ceiling 1", true, 1, {1, 1, 1}},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      kc::server_health h{{}, t0};
      for (int i = 0; i < 8; ++i) h.on_failure(t0, true, false, 0.0);
      BOOST_REQUIRE(h.in_outage());
      if (r.from_probe) h.on_probe_sent();
      h.on_success(t0 + 10s);
      BOOST_TEST(!h.in_outage());
      BOOST_TEST(!h.probe_in_flight());
      BOOST_TEST((h.last_success() == t0 + 10s));
      for (std::size_t i = 0; i < r.limits.size(); ++i) {
        BOOST_TEST_CONTEXT("after " << i << " more successes") {
          BOOST_TEST(h.in_flight_limit(r.ceiling) == r.limits[i]);
        }
        h.on_success(t0 + 10s);
      }
      // The window was cleared: seven fresh failures after the outage are not yet another.
      feed(h, repeat('F', 7), t0 + 11s);
      BOOST_TEST(!h.in_outage());
    }
  }
}

BOOST_AUTO_TEST_CASE(gives_up_after_give_up_after_since_the_last_success) {
  struct row {
    const char* name;
    millis outage_at;  // from t0; the last success is at t0
    millis asked_at;   // from t0
    unsigned failed_probes;
    bool give_up;
  };
  const std::vector<row> rows = {
      {"healthy never gives up", -1ms, 1000s, 9, false},
      {"just before", 10s, 59999ms, 5, false},
      {"exactly give_up_after since the last success", 10s, 60s, 5, true},
      {"long after", 10s, 200s, 5, true},
      // Probes take fresh hashes first: a list that starts with keys the server always fails for must
      // reach a healthy one before the run gives up (the poison test under ASan gave up after 4).
      {"long after, but only 4 probes failed", 10s, 200s, 4, false},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      kc::health_config config;
      config.give_up_after = 60s;
      kc::server_health h{config, t0};
      if (r.outage_at >= 0ms) feed(h, repeat('F', 8), t0 + r.outage_at);
      for (unsigned i = 0; i < r.failed_probes && h.in_outage(); ++i) {
        h.on_probe_sent();
        h.on_failure(t0 + r.outage_at + 1ms, false, true, 0.5);
      }
      BOOST_TEST(h.should_give_up(t0 + r.asked_at) == r.give_up);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_late_success_resets_the_give_up_clock) {
  kc::health_config config;
  config.give_up_after = 60s;
  kc::server_health h{config, t0};
  feed(h, "s", t0 + 50s);
  feed(h, repeat('F', 9), t0 + 51s);  // 9 of 10 after the success
  BOOST_REQUIRE(h.in_outage());
  for (int i = 0; i < 5; ++i) {
    h.on_probe_sent();
    h.on_failure(t0 + 52s, false, true, 0.5);
  }
  BOOST_TEST(!h.should_give_up(t0 + 100s));
  BOOST_TEST(h.should_give_up(t0 + 110s));
  // An older time does not move the last success back.
  h.on_success(t0 + 40s);
  BOOST_TEST((h.last_success() == t0 + 50s));
}

BOOST_AUTO_TEST_SUITE_END()
