// The adaptive rate controller, driven by a fake clock: unit rules first, then whole runs against a
// simulated token-bucket server (no sockets, no sleeps).
#include "keyrevoke/core/rate_controller.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <deque>
#include <functional>
#include <sstream>

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
  // Two processes cut at 200 and at 800 req/s. With one absolute C the bigger one takes longer to
  // climb back (K grows with cbrt(W_max): ~0.88 s and ~1.39 s), and past its W_max each probes by the
  // same absolute amount. (A C scaled with the own W_max gave both K = 1.5 s and a 4x bigger probe to
  // the bigger one: the split the first 429s set was kept.)
  double recovered_after[2] = {0.0, 0.0};
  double gain_1s_later[2] = {0.0, 0.0};
  const double rates[2] = {200.0, 800.0};
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
};

// A client with max_in_flight workers; each request takes `rtt` (the server decides at half-way).
sim_result simulate(simulated_server server, double duration, double rtt, unsigned workers) {
  rate_controller c{{.max_in_flight = workers}, t0};
  struct pending { double answer_at; double sent_at; bool ok; };
  std::deque<pending> in_flight;  // answers arrive in send order (fixed RTT)
  sim_result r;
  r.accepted_per_second.assign(static_cast<std::size_t>(duration) + 1, 0.0);
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
  // 1000/s, then 250/s from t=10, then 1000/s from t=20.
  simulated_server server{[](double t) { return t < 10.0 || t >= 20.0 ? 1000.0 : 250.0; }, 50.0, 50.0};
  const sim_result r = simulate(server, 30.0, 0.002, 128);
  std::ostringstream per_second;
  for (std::size_t s = 18; s < 30; ++s) per_second << ' ' << r.accepted_per_second[s];
  BOOST_TEST_MESSAGE("rate step: accepted per second from 18 s:" << per_second.str() << "; 429 share "
                                                                  << static_cast<double>(r.throttled) /
                                                                         static_cast<double>(r.sent));
  // Within 5 s of each step the client uses at least 80% of the new rate, and never for long above it.
  for (std::size_t s = 15; s < 20; ++s) {
    BOOST_TEST_CONTEXT("second " << s) { BOOST_TEST(r.accepted_per_second[s] >= 0.8 * 250.0); }
  }
  for (std::size_t s = 25; s < 30; ++s) {
    BOOST_TEST_CONTEXT("second " << s) { BOOST_TEST(r.accepted_per_second[s] >= 0.8 * 1000.0); }
  }
  BOOST_TEST(static_cast<double>(r.throttled) / static_cast<double>(r.sent) < 0.08);
}

BOOST_AUTO_TEST_SUITE_END()
