// The adaptive rate controller (core/rate_controller), driven by a fake clock: unit rules first, then
// whole runs of one client against a simulated token-bucket server, then several clients sharing one
// (fairness). No sockets, no sleeps.
#include "keyrevoke/core/rate_controller.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <queue>
#include <random>
#include <sstream>
#include <vector>

#include "test_scale.hpp"

using namespace keyrevoke::core;
using namespace std::chrono_literals;

namespace {

const steady_time t0{std::chrono::hours{1}};

steady_time at(double seconds) { return t0 + from_seconds(seconds); }

// Sends at `rate` for `duration` seconds from `start`, every request accepted after `rtt`.
void steady_traffic(rate_controller& c, double start, double duration, double rate, double rtt) {
  const int n = static_cast<int>(duration * rate);
  for (int i = 0; i < n; ++i) {
    const double t = start + i / rate;
    c.on_bytes_written(at(t));
    c.on_answer(at(t + rtt), at(t), answer_kind::accepted, std::nullopt);
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(rate_controller_rules)

BOOST_AUTO_TEST_CASE(starts_unthrottled_at_the_concurrency_ceiling) {
  rate_controller c{{.max_in_flight = 16}, t0};
  BOOST_TEST(!c.limiting());
  BOOST_TEST(c.in_flight_limit() == 16U);
  BOOST_TEST((c.next_send_time(t0) == t0));
  c.take_send_slot(t0);
  BOOST_TEST((c.next_send_time(t0) == t0));  // no pacing without a limit
}

BOOST_AUTO_TEST_CASE(user_ceiling_paces_without_catch_up_bursts) {
  rate_controller c{{.max_in_flight = 16, .max_rate = 100.0}, t0};
  c.take_send_slot(t0);
  // The next slot is 10 ms later (minus the small timer tolerance).
  BOOST_TEST(to_seconds(c.next_send_time(t0) - t0) == 0.008, boost::test_tools::tolerance(1e-6));
  // After a long idle gap, exactly one request may go at once, then the pace resumes.
  const steady_time late = at(5.0);
  BOOST_TEST((c.next_send_time(late) == late));
  c.take_send_slot(late);
  BOOST_TEST((c.next_send_time(late) > late));
}

BOOST_AUTO_TEST_CASE(first_cut_is_seeded_from_the_measured_rate) {
  rate_controller c{{.max_in_flight = 64}, t0};
  steady_traffic(c, 0.0, 1.0, 1000.0, 0.005);
  BOOST_TEST(c.on_answer(at(1.0), at(0.999), answer_kind::throttled, std::nullopt));
  BOOST_TEST(c.limiting());
  BOOST_TEST(c.w_max() == 1000.0, boost::test_tools::tolerance(0.05));
  BOOST_TEST(c.fill_rate() == 700.0, boost::test_tools::tolerance(0.05));
}

BOOST_AUTO_TEST_CASE(first_cut_uses_the_accepted_rate_when_lower) {
  // 2000 req/s sent, the server accepted only 500/s: W_max is what the server took.
  rate_controller c{{.max_in_flight = 64}, t0};
  for (int i = 0; i < 2000; ++i) {
    const double t = i / 2000.0;
    c.on_bytes_written(at(t));
    if (i % 4 == 0) c.on_answer(at(t + 0.002), at(t), answer_kind::accepted, std::nullopt);
  }
  c.on_answer(at(1.0), at(0.999), answer_kind::throttled, std::nullopt);
  BOOST_TEST(c.w_max() == 500.0, boost::test_tools::tolerance(0.06));
}

namespace {

// A later cut's W_max: the pace the 429 was met at, or, while most requests since the last cut were
// refused, what the server accepted since. One cut at 1000 req/s at t = 1 s, then requests sent at the
// pace the controller sets, the server accepting one in `accept_one_in` (its refusals to requests sent
// within the settle time of the cut are the same burst), until a refusal cuts or `until_s`, where a
// 429 is answered. W_max must land in [low, high] x the pace the cutting 429 was met at.
struct later_cut_row {
  const char* name;
  double until_s;
  int accept_one_in;
  double low;
  double high;
};

const later_cut_row later_cut_rows[] = {
    // Climbed past the old W_max (K = 1 s at 1000 req/s) with nothing refused: the 429 is met at
    // ~1150/s. What was accepted (~950/s over the last 0.5 s) lags the climb; W_max is 0.95 of the pace
    // as far as the 0.1 s send estimate saw it (~1080/s): ~1030/s.
    {"climbed past W_max, all accepted", 2.8, 1, 0.88, 1.001},
    // Still climbing back (before K), all accepted: the 429 is met at ~980/s and W_max is ~930/s. The
    // old rule took the average since the cut: 0.9 of the pace.
    {"climbing back, all accepted", 1.6, 1, 0.93, 1.001},
    // The server took one request in four since the cut: it is far below the pace. W_max is what it
    // accepted in the ~20 ms until the first refusal after the settle time (~25 % of the pace, plus
    // the one request the estimate adds).
    {"most refused since the last cut", 2.8, 4, 0.2, 0.4},
};

void check_later_cut(const later_cut_row& row) {
  rate_controller c{{.max_in_flight = 1000}, t0};
  steady_traffic(c, 0.0, 1.0, 1000.0, 0.002);
  BOOST_TEST(c.on_answer(at(1.0), at(0.999), answer_kind::throttled, std::nullopt));
  double t = 1.0;
  double pace = c.fill_rate();
  for (int n = 0; t < row.until_s && c.cuts() == 1U; ++n) {
    c.take_send_slot(at(t));
    c.on_bytes_written(at(t));
    pace = c.fill_rate();
    const bool accepted = n % row.accept_one_in == 0;
    c.on_answer(at(t + 0.002), at(t), accepted ? answer_kind::accepted : answer_kind::throttled, std::nullopt);
    t = std::max(t + 0.0001, to_seconds(c.next_send_time(at(t)) - t0));
  }
  if (c.cuts() == 1U) BOOST_TEST(c.on_answer(at(t + 0.002), at(t), answer_kind::throttled, std::nullopt));
  BOOST_TEST_MESSAGE(row.name << ": 429 met at " << pace << "/s, " << t - 1.0 << " s after the first cut; W_max "
                              << c.w_max() << "/s");
  BOOST_TEST(c.cuts() == 2U);
  BOOST_TEST(c.w_max() >= row.low * pace);
  BOOST_TEST(c.w_max() <= row.high * pace);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_later_cut_is_set_at_the_pace_unless_most_were_refused) {
  for (const later_cut_row& row : later_cut_rows) {
    BOOST_TEST_CONTEXT(row.name) { check_later_cut(row); }
  }
}

BOOST_AUTO_TEST_CASE(one_burst_of_429s_is_one_cut) {
  rate_controller c{{.max_in_flight = 64}, t0};
  steady_traffic(c, 0.0, 1.0, 1000.0, 0.005);
  BOOST_TEST(c.on_answer(at(1.0), at(0.995), answer_kind::throttled, std::nullopt));
  // Everything in flight at the cut (and sent within the settle time) answers 429 too: ignored.
  for (int i = 1; i <= 30; ++i) {
    BOOST_TEST_CONTEXT("429 #" << i) {
      BOOST_TEST(!c.on_answer(at(1.0 + i * 0.001), at(0.995 + i * 0.0005), answer_kind::throttled, std::nullopt));
    }
  }
  BOOST_TEST(c.cuts() == 1U);
  // A 429 to a request sent well after the cut is a new signal.
  BOOST_TEST(c.on_answer(at(1.5), at(1.4), answer_kind::throttled, std::nullopt));
  BOOST_TEST(c.cuts() == 2U);
}

BOOST_AUTO_TEST_CASE(cubic_recovers_to_w_max_within_the_bound_then_probes_above) {
  rate_controller_config config{.max_in_flight = 1000};
  rate_controller c{config, t0};
  steady_traffic(c, 0.0, 1.0, 400.0, 0.002);
  c.on_answer(at(1.0), at(0.999), answer_kind::throttled, std::nullopt);
  const double w_max = c.w_max();
  // Keep sending at what the controller allows, all accepted.
  double t = 1.0;
  double rate_at_k = 0.0;
  // K is at most reference_recovery_s (1.5 s) for W_max up to reference_rate.
  while (t < 1.0 + config.reference_recovery_s + 1.0) {
    const double rate = c.fill_rate();
    c.on_bytes_written(at(t));
    c.on_answer(at(t + 0.002), at(t), answer_kind::accepted, std::nullopt);
    if (rate_at_k == 0.0 && t >= 1.0 + config.reference_recovery_s + 0.002) rate_at_k = c.fill_rate();
    t += 1.0 / rate;
  }
  BOOST_TEST(rate_at_k >= 0.97 * w_max);
  BOOST_TEST(c.fill_rate() > w_max);  // probing above the old limit
}

BOOST_AUTO_TEST_CASE(growth_does_not_scale_with_the_own_rate) {
  // Two processes cut at 400 and at 1600 req/s. With one absolute C the bigger one takes longer to
  // climb back (K grows with cbrt(W_max): ~0.74 s and ~1.17 s), and past its W_max each probes by the
  // same absolute amount. (A C scaled with the own W_max gave both the same K and a 4x bigger probe to
  // the bigger one: the split the first 429s set was kept.)
  double recovered_after[2] = {0.0, 0.0};
  double gain_1s_later[2] = {0.0, 0.0};
  const double rates[2] = {400.0, 1600.0};
  for (int i = 0; i < 2; ++i) {
    rate_controller c{{.max_in_flight = 1000}, t0};
    steady_traffic(c, 0.0, 1.0, rates[i], 0.002);
    c.on_answer(at(1.0), at(0.999), answer_kind::throttled, std::nullopt);
    const double w_max = c.w_max();
    double t = 1.0;
    while (t < 5.0) {
      const double rate = c.fill_rate();
      c.on_bytes_written(at(t));
      c.on_answer(at(t + 0.002), at(t), answer_kind::accepted, std::nullopt);
      if (recovered_after[i] == 0.0 && c.fill_rate() >= w_max) recovered_after[i] = t + 0.002 - 1.0;
      if (recovered_after[i] > 0.0 && gain_1s_later[i] == 0.0 && t + 0.002 - 1.0 >= recovered_after[i] + 1.0) {
        gain_1s_later[i] = c.fill_rate() - w_max;
      }
      t += 1.0 / rate;
    }
    BOOST_TEST_MESSAGE("cut at " << rates[i] << "/s: back at W_max after " << recovered_after[i] << " s, +"
                                 << gain_1s_later[i] << "/s one second later");
  }
  BOOST_TEST(recovered_after[0] > 0.0);
  BOOST_TEST(recovered_after[1] > recovered_after[0] + 0.3);
  BOOST_TEST(gain_1s_later[0] > 0.0);
  BOOST_TEST(gain_1s_later[1] == gain_1s_later[0], boost::test_tools::tolerance(0.2));
}

BOOST_AUTO_TEST_CASE(growth_is_capped_at_twice_the_measured_send_rate) {
  rate_controller c{{.max_in_flight = 1000}, t0};
  steady_traffic(c, 0.0, 1.0, 100.0, 0.002);
  c.on_answer(at(1.0), at(0.999), answer_kind::throttled, std::nullopt);
  // Now the client sends only 10/s (the input is slow): the limit must not run away.
  steady_traffic(c, 1.0, 20.0, 10.0, 0.002);
  // Without the cap, CUBIC would be in the thousands after 20 s; with it, about twice 10/s.
  BOOST_TEST(c.fill_rate() <= 25.0);
}

BOOST_AUTO_TEST_CASE(user_ceiling_bounds_the_adaptive_rate) {
  rate_controller c{{.max_in_flight = 1000, .max_rate = 50.0}, t0};
  steady_traffic(c, 0.0, 2.0, 50.0, 0.002);
  c.on_answer(at(2.0), at(1.99), answer_kind::throttled, std::nullopt);
  steady_traffic(c, 2.0, 30.0, 50.0, 0.002);
  BOOST_TEST(c.fill_rate() <= 50.0);
  BOOST_TEST(c.ceiling() <= 50.0);
}

BOOST_AUTO_TEST_CASE(long_retry_after_pauses_every_sender) {
  rate_controller c{{.max_in_flight = 16}, t0};
  c.on_answer(at(1.0), at(0.99), answer_kind::throttled, millis{30000});
  BOOST_TEST(to_seconds(c.next_send_time(at(1.0)) - t0) == 31.0, boost::test_tools::tolerance(1e-6));
}

BOOST_AUTO_TEST_CASE(short_retry_after_is_not_a_global_stop) {
  rate_controller c{{.max_in_flight = 16}, t0};
  steady_traffic(c, 0.0, 1.0, 100.0, 0.002);
  c.on_answer(at(1.0), at(0.99), answer_kind::throttled, millis{1000});
  BOOST_TEST(to_seconds(c.next_send_time(at(1.0)) - at(1.0)) < 0.02);
}

BOOST_AUTO_TEST_CASE(cuts_in_a_row_without_any_acceptance_pause_everyone) {
  rate_controller_config config{.max_in_flight = 16};
  rate_controller c{config, t0};
  steady_traffic(c, 0.0, 1.0, 100.0, 0.002);
  double t = 1.0;
  for (unsigned i = 0; i < config.pause_after_cuts; ++i) {
    c.on_answer(at(t), at(t - 0.001), answer_kind::throttled, std::nullopt);
    t += 2.0;  // well past each settle time
  }
  BOOST_TEST(c.cuts() == config.pause_after_cuts);
  BOOST_TEST((c.paused_until() > at(t - 2.0)));
}

BOOST_AUTO_TEST_CASE(failures_are_not_rate_signals) {
  rate_controller c{{.max_in_flight = 16}, t0};
  steady_traffic(c, 0.0, 1.0, 100.0, 0.002);
  for (int i = 0; i < 50; ++i) c.on_answer(at(1.0 + i * 0.01), at(1.0 + i * 0.01), answer_kind::failed, std::nullopt);
  BOOST_TEST(!c.limiting());
  BOOST_TEST(c.cuts() == 0U);
}

// A 503 without a hint (answer_kind::overloaded): nginx's limit_conn and limit_req refuse with it by
// default. Interleaved with accepted answers it is overload and cuts like a 429 (once per settle time);
// alone (maintenance, an outage) it cuts once and no more, so the pace has no climb from near 0 after.
BOOST_AUTO_TEST_CASE(a_503_without_a_hint_cuts_only_while_the_server_accepts_others) {
  struct row {
    const char* name;
    int accepted_between;  // accepted answers between two 503s (every 10 ms for 5 s)
    answer_kind kind;
    unsigned min_cuts, max_cuts;
  };
  const row rows[] = {
      {"limit_conn: 503s among 200s", 3, answer_kind::overloaded, 3, 1000},
      {"maintenance: nothing but 503s", 0, answer_kind::overloaded, 1, 1},
      {"502s among 200s: no rate signal", 3, answer_kind::failed, 0, 0},
      {"429s among 200s: as for the 503s", 3, answer_kind::throttled, 3, 1000},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      rate_controller c{{.max_in_flight = 16}, t0};
      steady_traffic(c, 0.0, 1.0, 400.0, 0.002);
      double t = 1.0;
      for (int i = 0; i < 500; ++i) {
        c.on_bytes_written(at(t));
        c.on_answer(at(t + 0.002), at(t), r.kind, std::nullopt);
        t += 0.0025;
        for (int k = 0; k < r.accepted_between; ++k) {
          c.on_bytes_written(at(t));
          c.on_answer(at(t + 0.002), at(t), answer_kind::accepted, std::nullopt);
          t += 0.0025;
        }
      }
      BOOST_TEST(c.cuts() >= r.min_cuts);
      BOOST_TEST(c.cuts() <= r.max_cuts);
      BOOST_TEST(c.limiting() == (r.max_cuts > 0));
      if (r.max_cuts == 1) {
        // One cut from the rate before the 503s: beta x 400/s, not a rate near 0.
        BOOST_TEST(c.fill_rate() >= 0.6 * 400.0);
      }
    }
  }
}

// One mapping from a classified answer to what the controller hears, for the run and for `list`.
BOOST_AUTO_TEST_CASE(what_the_controller_hears_of_each_answer) {
  struct row {
    const char* name;
    verdict_kind kind;
    unsigned status;
    answer_kind heard;
  };
  const row rows[] = {
      {"429", verdict_kind::throttled, 429, answer_kind::throttled},
      {"503 with a hint (throttled)", verdict_kind::throttled, 503, answer_kind::throttled},
      {"503 without a hint", verdict_kind::server_error, 503, answer_kind::overloaded},
      {"502", verdict_kind::server_error, 502, answer_kind::failed},
      {"200 whose body is not the result", verdict_kind::server_error, 200, answer_kind::failed},
      {"a route 404 page", verdict_kind::not_api, 404, answer_kind::failed},
      {"timeout", verdict_kind::timeout, 0, answer_kind::failed},
      {"TLS", verdict_kind::tls_error, 0, answer_kind::failed},
      {"deleted", verdict_kind::deleted, 200, answer_kind::accepted},
      {"the API's 404", verdict_kind::not_found, 404, answer_kind::accepted},
      {"400", verdict_kind::client_error, 400, answer_kind::accepted},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      verdict v{r.kind, r.status, {}, std::nullopt};
      BOOST_TEST((answer_kind_of(v) == r.heard));
    }
  }
}

BOOST_AUTO_TEST_CASE(in_flight_limit_follows_littles_law) {
  rate_controller c{{.max_in_flight = 64}, t0};
  steady_traffic(c, 0.0, 1.0, 100.0, 0.050);  // RTT 50 ms
  c.on_answer(at(1.05), at(1.0), answer_kind::throttled, std::nullopt);
  // fill = 70/s, RTT 50 ms: 70 * 0.05 * 2 + 1 = 8
  BOOST_TEST(c.in_flight_limit() == 8U);
  BOOST_TEST(c.in_flight_limit() >= 1U);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
// Whole runs against a simulated token-bucket server: the controller must converge on the
// server's rate with few 429s, and follow it when it changes.

namespace {

struct simulated_server {
  std::function<double(double)> rate_at;  // R(t)
  double burst;
  double tokens;
  double last = 0.0;

  bool admit(double t) {
    tokens = std::min(burst, tokens + (t - last) * rate_at(t));
    last = t;
    if (tokens >= 1.0) {
      tokens -= 1.0;
      return true;
    }
    return false;
  }
};

struct sim_result {
  std::uint64_t sent = 0;
  std::uint64_t accepted = 0;
  std::uint64_t throttled = 0;
  std::vector<double> accepted_per_second;  // by whole second
  std::vector<double> accepted_per_bin;     // by 0.5 s, as the benchmark bins the mock's counters
};

// The benchmark's convergence measure (bench/krbench/stats.py): seconds from `step_at` to the first
// 0.5 s bin from which the accepted rate stays within 10 % of `rate` for 2 s; 99 if it never does
// before `end`.
double convergence_s(const sim_result& r, double step_at, double end, double rate) {
  const auto first_bin = static_cast<std::size_t>(step_at * 2.0 + 1e-6);
  const auto end_bin = static_cast<std::size_t>(end * 2.0 + 1e-6);
  for (std::size_t from = first_bin; from + 4 <= end_bin; ++from) {
    bool held = true;
    for (std::size_t bin = from; bin < from + 4; ++bin) {
      held = held && std::abs(r.accepted_per_bin[bin] * 2.0 - rate) <= 0.1 * rate;
    }
    if (held) return static_cast<double>(from - first_bin) / 2.0;
  }
  return 99.0;
}

// A client with max_in_flight workers; each request takes `rtt` (the server decides at half-way).
sim_result simulate(simulated_server server, double duration, double rtt, unsigned workers) {
  rate_controller c{{.max_in_flight = workers}, t0};
  struct pending { double answer_at; double sent_at; bool ok; };
  std::deque<pending> in_flight;  // answers arrive in send order (fixed RTT)
  sim_result r;
  r.accepted_per_second.assign(static_cast<std::size_t>(duration) + 1, 0.0);
  r.accepted_per_bin.assign(static_cast<std::size_t>(duration * 2.0) + 1, 0.0);
  double t = 0.0;
  const double step = 0.0002;
  while (t < duration) {
    while (!in_flight.empty() && in_flight.front().answer_at <= t) {
      const pending p = in_flight.front();
      in_flight.pop_front();
      c.on_answer(at(p.answer_at), at(p.sent_at), p.ok ? answer_kind::accepted : answer_kind::throttled,
                  p.ok ? std::nullopt : std::optional<millis>{1000ms});
    }
    while (in_flight.size() < c.in_flight_limit() && c.next_send_time(at(t)) <= at(t)) {
      c.take_send_slot(at(t));
      c.on_bytes_written(at(t));
      const bool ok = server.admit(t + rtt / 2);
      ++r.sent;
      if (ok) {
        ++r.accepted;
        r.accepted_per_second[static_cast<std::size_t>(t)] += 1.0;
        r.accepted_per_bin[static_cast<std::size_t>(t * 2.0)] += 1.0;
      } else {
        ++r.throttled;
      }
      in_flight.push_back({t + rtt, t, ok});
    }
    t += step;
  }
  return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(rate_controller_against_a_token_bucket)

BOOST_AUTO_TEST_CASE(converges_on_a_fixed_rate_with_few_429s) {
  for (const double rate : {100.0, 400.0, 1000.0}) {
    BOOST_TEST_CONTEXT("server rate " << rate << "/s") {
      simulated_server server{[rate](double) { return rate; }, 40.0, 40.0};
      const double duration = 30.0;
      const sim_result r = simulate(server, duration, 0.002, 64);
      const double goodput = static_cast<double>(r.accepted) / duration;
      const double share_429 = static_cast<double>(r.throttled) / static_cast<double>(r.sent);
      BOOST_TEST_MESSAGE("rate " << rate << ": goodput " << goodput << "/s, 429 share " << share_429);
      BOOST_TEST(goodput >= 0.88 * rate);
      BOOST_TEST(share_429 < 0.05);
    }
  }
}

BOOST_AUTO_TEST_CASE(follows_a_rate_step_down_and_back_up) {
  // 1000/s, then 250/s from t=10, then 1000/s from t=20 (the benchmark's rate step).
  simulated_server server{[](double t) { return t < 10.0 || t >= 20.0 ? 1000.0 : 250.0; }, 50.0, 50.0};
  const sim_result r = simulate(server, 30.0, 0.002, 128);
  std::ostringstream per_second;
  for (std::size_t s = 18; s < 30; ++s) per_second << ' ' << r.accepted_per_second[s];
  const double down_s = convergence_s(r, 10.0, 20.0, 250.0);
  const double up_s = convergence_s(r, 20.0, 30.0, 1000.0);
  BOOST_TEST_MESSAGE("rate step: accepted per second from 18 s:" << per_second.str() << "; 429 share "
                                                                  << static_cast<double>(r.throttled) /
                                                                         static_cast<double>(r.sent)
                                                                  << "; converged " << down_s << " s after the step down, "
                                                                  << up_s << " s after the step up");
  // Issue 12: back at >= 0.9 R within 3 s of each step without quota fields, measured as the benchmark
  // does (within 10 % for 2 s, 0.5 s bins). A W_max taken from a 0.5 s average that lagged the climb
  // after the step up set the rate 11 % under R, and cuts with K = 1.5 s dipped a bin under 0.9 R:
  // 5.0-7.0 s in the benchmark.
  BOOST_TEST(down_s <= 3.0);
  BOOST_TEST(up_s <= 3.0);
  for (std::size_t s = 23; s < 30; ++s) {
    BOOST_TEST_CONTEXT("second " << s) { BOOST_TEST(r.accepted_per_second[s] >= 0.9 * 1000.0); }
  }
  BOOST_TEST(static_cast<double>(r.throttled) / static_cast<double>(r.sent) < 0.02);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------------------------
// Several rate controllers (one per keyrevoke process, e.g. `--shard K/N` runners) against one simulated
// token-bucket server: they must share its rate fairly, use all of it, and draw few 429s. Fixed seeds.
// (Formerly throttle_fairness_test.cpp.)

namespace {

struct token_bucket {
  double rate;
  double burst;
  double tokens;
  double last = 0.0;

  bool admit(double t) {
    tokens = std::min(burst, tokens + (t - last) * rate);
    last = t;
    if (tokens < 1.0) return false;
    tokens -= 1.0;
    return true;
  }
};

struct client_spec {
  double rtt_s;    // mean round trip (the server decides half-way)
  double start_s;  // when the process starts sending
};

struct shared_run {
  double rate = 0.0;
  double burst = 0.0;
  std::vector<client_spec> clients;
  double duration_s = 60.0;
  double settled_from_s = 30.0;  // goodput, fairness and 429 share are judged from here to the end
  unsigned max_in_flight = 64;
  std::uint32_t seed = 1;
};

struct shared_result {
  std::vector<std::vector<double>> accepted_per_second;  // [client][second], by send time
  std::vector<unsigned> cuts;
  std::uint64_t sent = 0;       // from settled_from_s on, all clients
  std::uint64_t throttled = 0;  // from settled_from_s on, all clients
};

double jain_index(const std::vector<double>& x) {
  double sum = 0.0;
  double squares = 0.0;
  for (const double v : x) {
    sum += v;
    squares += v * v;
  }
  return squares > 0.0 ? sum * sum / (static_cast<double>(x.size()) * squares) : 0.0;
}

// Each client's accepted requests per second over [from, to).
std::vector<double> goodput(const shared_result& r, double from, double to) {
  std::vector<double> out;
  for (const std::vector<double>& per_second : r.accepted_per_second) {
    double sum = 0.0;
    for (auto s = static_cast<std::size_t>(from); s < static_cast<std::size_t>(to); ++s) sum += per_second[s];
    out.push_back(sum / (to - from));
  }
  return out;
}

// Each client paces its own requests with its own controller and sees only its own answers; their
// requests meet at the one bucket in time order. Each request's latency is its client's RTT +-25 %
// (uniform, seeded), so answers come back out of order, as over a pool of connections, and which
// client's request finds the bucket empty first varies from one overshoot to the next.
shared_result simulate_shared(const shared_run& run) {
  struct event {
    double time;
    bool at_server;  // arrival at the server (decided there), else the answer reaching the client
    std::size_t client;
    double sent_at;
    double answer_at;
    bool ok;
    bool operator>(const event& o) const { return time > o.time; }
  };
  struct client_state {
    rate_controller controller;
    unsigned in_flight = 0;
  };

  token_bucket server{run.rate, run.burst, run.burst};
  std::mt19937 rng{run.seed};
  std::uniform_real_distribution<double> jitter{0.75, 1.25};
  std::vector<client_state> clients;
  clients.reserve(run.clients.size());
  for (const client_spec& spec : run.clients) {
    clients.push_back({rate_controller{{.max_in_flight = run.max_in_flight}, at(spec.start_s)}});
  }
  shared_result r;
  r.accepted_per_second.assign(run.clients.size(),
                               std::vector<double>(static_cast<std::size_t>(run.duration_s) + 1, 0.0));
  std::priority_queue<event, std::vector<event>, std::greater<>> events;

  const double step = 0.0001;
  std::size_t first = 0;  // who sends first in this step (rotates: no client is favoured)
  for (double t = 0.0; t < run.duration_s; t += step) {
    while (!events.empty() && events.top().time <= t) {
      event e = events.top();
      events.pop();
      client_state& c = clients[e.client];
      if (e.at_server) {
        e.ok = server.admit(e.time);
        if (e.ok) r.accepted_per_second[e.client][static_cast<std::size_t>(e.sent_at)] += 1.0;
        if (e.sent_at >= run.settled_from_s) {
          ++r.sent;
          if (!e.ok) ++r.throttled;
        }
        e.at_server = false;
        e.time = e.answer_at;
        events.push(e);
        continue;
      }
      --c.in_flight;
      c.controller.on_answer(at(e.time), at(e.sent_at), e.ok ? answer_kind::accepted : answer_kind::throttled,
                             e.ok ? std::nullopt : std::optional<millis>{1000ms});
    }
    for (std::size_t n = 0; n < clients.size(); ++n) {
      const std::size_t i = (first + n) % clients.size();
      if (t < run.clients[i].start_s) continue;
      client_state& c = clients[i];
      while (c.in_flight < c.controller.in_flight_limit() && c.controller.next_send_time(at(t)) <= at(t)) {
        c.controller.take_send_slot(at(t));
        c.controller.on_bytes_written(at(t));
        ++c.in_flight;
        const double rtt = run.clients[i].rtt_s * jitter(rng);
        events.push({t + rtt / 2.0, true, i, t, t + rtt, false});
      }
    }
    first = (first + 1) % clients.size();
  }
  for (const client_state& c : clients) r.cuts.push_back(c.controller.cuts());
  return r;
}

// Round trips of 2-10 ms, different per client.
const double rtts[] = {0.002, 0.006, 0.004, 0.010};

// Seeded runs per case (3, or 30 at R = 100): the split between clients wanders from run to run (which
// client's request finds the bucket empty first is a matter of jitter), and one run can be lucky or
// unlucky.
void check_shared(unsigned k, double stagger_s) {
  // The 5,000/s runs cost the most events: an instrumented build (test_scale.hpp) keeps the other two.
  const std::vector<double> rates = keyrevoke::test::sample_one_in == 1 ? std::vector<double>{100.0, 1000.0, 5000.0}
                                                                        : std::vector<double>{100.0, 1000.0};
  for (const double rate : rates) {
    BOOST_TEST_CONTEXT("k=" << k << " R=" << rate << "/s, starts " << stagger_s << " s apart") {
      double settled_jain = 0.0;
      double converging_jain = 0.0;
      double worst_total = rate * 10.0;
      double worst_429 = 0.0;
      // At R = 100 a run costs little, and one seed's converging Jain ranges 0.73-0.99 with 4 clients
      // (K at its floor: CUBIC's curve is proportional there, and only jitter moves the split): 3 seeds
      // moved the mean by +-0.04 with any change to the trajectories; 30 by about +-0.01.
      // An instrumented build (test_scale.hpp) runs every sample_one_in-th of the 30.
      const std::uint32_t seed_count = rate <= 100.0 ? 30U : 3U;
      const std::uint32_t seed_step = rate <= 100.0 ? static_cast<std::uint32_t>(keyrevoke::test::sample_one_in) : 1U;
      std::vector<std::uint32_t> seeds;
      for (std::uint32_t seed = 1; seed <= seed_count; seed += seed_step) seeds.push_back(seed);
      for (const std::uint32_t seed : seeds) {
        shared_run run;
        run.rate = rate;
        run.burst = std::max(10.0, rate / 50.0);  // 20 ms of the rate: small
        run.seed = seed;
        for (unsigned i = 0; i < k; ++i) run.clients.push_back({rtts[i], stagger_s * i});
        const shared_result r = simulate_shared(run);
        // Converging: the 10 s from 3 s after the last client started (its first cuts are over).
        const double last_start = run.clients.back().start_s;
        const std::vector<double> early = goodput(r, last_start + 3.0, last_start + 13.0);
        const std::vector<double> settled = goodput(r, run.settled_from_s, run.duration_s);
        double total = 0.0;
        std::ostringstream per_client;
        for (std::size_t i = 0; i < settled.size(); ++i) {
          total += settled[i];
          per_client << ' ' << settled[i] << " (" << r.cuts[i] << " cuts)";
        }
        const double share_429 = static_cast<double>(r.throttled) / static_cast<double>(std::max<std::uint64_t>(1, r.sent));
        BOOST_TEST_MESSAGE("k=" << k << " R=" << rate << " stagger " << stagger_s << " seed " << seed
                                << ": Jain 3-13 s after the last start " << jain_index(early) << ", last 30 s "
                                << jain_index(settled) << ", total/R " << total / rate << ", 429 share "
                                << share_429 << ", per client/s:" << per_client.str());
        settled_jain += jain_index(settled) / static_cast<double>(seeds.size());
        converging_jain += jain_index(early) / static_cast<double>(seeds.size());
        worst_total = std::min(worst_total, total);
        worst_429 = std::max(worst_429, share_429);
      }
      BOOST_TEST_MESSAGE("k=" << k << " R=" << rate << " stagger " << stagger_s << ": mean Jain converging "
                              << converging_jain << ", settled " << settled_jain << "; worst total/R "
                              << worst_total / rate << ", worst 429 share " << worst_429);
      // Converged within ~10 s of the last start (Jain 0.9: no worse than a 1:2 split for k=2), and
      // fair from then on. Four clients starting together at R = 100 sit at that bound on average
      // (200 seeds: 0.911 on e86a898, 0.914 with the floor held after every series of 429s that paused
      // everyone; 0.902 on 8128b16, within 1.3 standard errors; one seed 0.73-0.99): 0.88 there.
      BOOST_TEST(converging_jain >= (k == 4 && rate <= 100.0 && stagger_s == 0.0 ? 0.88 : 0.90));
      BOOST_TEST(settled_jain >= (k == 2 ? 0.95 : 0.90));
      // A later cut's W_max is never far under the pace its 429 was met at: the clients use all of R.
      // With a W_max that lagged the climbs they left 3-7 % of it unused (10 seeds: worst 0.93-0.97 R).
      BOOST_TEST(worst_total >= 0.97 * rate);
      // Each cut costs each client at least the one 429 that caused it. At R >= 1000 a client sends
      // >= 250/s and cuts every second or two: well under 1 %. At R = 100 shared by 4, a client sends
      // 25/s and K is at its 0.5 s floor: a 429 about every 0.6 s, ~7 % of its requests (3.6-4.9 %
      // with the lagging W_max, which left that much of R unused).
      BOOST_TEST(worst_429 <= (rate >= 1000.0 ? 0.01 : 0.08));
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(rate_controllers_sharing_a_token_bucket)

BOOST_AUTO_TEST_CASE(two_clients_starting_together) { check_shared(2, 0.0); }
BOOST_AUTO_TEST_CASE(two_clients_the_second_starting_5s_later) { check_shared(2, 5.0); }
BOOST_AUTO_TEST_CASE(four_clients_starting_together) { check_shared(4, 0.0); }
BOOST_AUTO_TEST_CASE(four_clients_starting_5s_apart) { check_shared(4, 5.0); }

BOOST_AUTO_TEST_SUITE_END()
