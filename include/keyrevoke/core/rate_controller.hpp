#pragma once
// The adaptive send-rate and in-flight controller (pure; time is a parameter).
//
// Model: the AWS SDK "adaptive" retry mode, a client token bucket whose fill rate follows CUBIC
// (beta = 0.7, C = 0.4), with the pitfalls of THROTTLING.md designed out:
//  - one burst of 429s is one signal: a 429 only cuts if its request was sent after the last cut plus
//    a settle time (about two round trips), so requests in flight at the cut do not compound it;
//  - the send rate is measured when bytes are written, unbiased from the first request;
//  - the first W_max is seeded from what was observed: the lower of the measured send rate and the
//    rate at which the server accepted requests (a token-bucket server accepts about its rate R);
//    later ones are what it accepted, but at least 0.95 of the pace the 429 was met at (bounded by
//    what was sent): a 0.5 s average alone lags a climb and set W_max 11 % under R after a rate step;
//    cuts that follow one another while most requests are refused take what the server accepted since;
//  - the pacer never bursts to catch up after a late wake-up;
//  - C is an absolute constant, the same in every process, not scaled with the process's own W_max:
//    K = 1.0 s at 1000 req/s (AWS's C = 0.4 takes ~7 s to recover at 400 req/s, far slower than a
//    server whose limit changes mid-run), growing as cbrt(W_max), clamped to [0.5 s, 3 s]. Each cut
//    costs a dip to 0.7 W_max for about K/2: with K = 1.5 s a cut at R = 1000/s pulled a 0.5 s window
//    to 0.88 R, so the rate never held within 10 % of R for 2 s (the benchmark's rate step).
//    Several processes on one limit (`--shard K/N`) then converge to equal shares, as with classic
//    CUBIC: a bigger process takes longer to climb back after a cut, and the smaller ones, already
//    probing with the same absolute C, take what it leaves. A C scaled with the own W_max made the
//    whole curve proportional to the own rate (multiplicative increase and decrease), which keeps
//    whatever split the first 429s set. Below ~125 req/s (K = 0.5 s) and above ~27000 req/s (K = 3 s)
//    per process the curve is proportional again: a shorter K would cost a 429 per cut more often
//    at low rates, a longer one would recover too slowly at high rates. (A 0.7 s floor, proportional
//    below ~340 req/s, drew fewer 429s at low rates, but in the benchmark 4 processes sharing
//    1000 req/s reached Jain 0.92-0.94 against 0.92-1.00 with 0.5 s.)
// The in-flight ceiling follows the rate by Little's law (rate x RTT, with headroom), in
// [1, max_in_flight]. While the server advertises its quota (core/quota_pacer.hpp), the quota pacer
// sets the pace instead, within --rate; a 429 that contradicts it hands the pace back. A long
// Retry-After, or cuts that keep coming without any request accepted in between, pause every sender;
// once such a series ends, the pace is at least floor_share of the last good rate (issue 12).

#include "keyrevoke/core/clock.hpp"
#include "keyrevoke/core/quota_pacer.hpp"
#include "keyrevoke/core/rate_estimator.hpp"
#include "keyrevoke/core/verdict.hpp"

#include <cstdint>
#include <optional>

namespace keyrevoke::core {

struct rate_controller_config {
  unsigned max_in_flight = 16;  // --concurrency
  double max_rate = 0.0;        // --rate; 0: no ceiling
  double beta = 0.7;
  double cubic_c = 0.4;                // floor of C
  double reference_rate = 1000.0;      // req/s; C = (1 - beta) * reference_rate / reference_recovery_s^3
  double reference_recovery_s = 1.0;   // K at reference_rate (s)
  double min_recovery_s = 0.5;         // K never falls below this (s; each cut costs a 429)
  double max_recovery_s = 3.0;         // K never exceeds this
  double min_rate = 0.5;
  millis min_settle{20};
  millis max_settle{1000};
  double pacer_tolerance_s = 0.002;  // timer lateness absorbed; never a catch-up burst
  millis long_retry_after{5000};     // a hint at least this long pauses everyone
  unsigned pause_after_cuts = 3;     // cuts in a row with nothing accepted: pause everyone
  millis default_pause{700};         // pause length when the server gave no hint
  // A burst of 429s without hints (cuts in a row, nothing accepted: the pause above) may drive the
  // estimates near 0: this long after its last cut the rate is back at >= floor_share of the accepted
  // rate before the series (issue 12: never below 10 % of the last good rate for more than a second).
  millis floor_after{500};
  double floor_share = 0.125;
  // A series that starts this soon after the last floor, at an accepted rate under beta of the last
  // good rate, keeps that last good rate: storms a few seconds apart do not compound their floors.
  millis good_rate_memory{10000};
  // A cut this soon after the last one (s), when the server accepted less than this share (0-1) of the
  // answers to requests sent since, takes its rate from what was accepted since (see cut()).
  double descent_epoch_s = 2.0;
  double descent_accepted_share = 0.9;
  // A later cut's W_max is at least this share (0-1) of the pace its 429 was met at (see cut()).
  double pace_share_floor = 0.95;
};

enum class answer_kind {
  accepted,   // the server processed the request (any status but 429 and 5xx)
  throttled,  // 429 (or 503 with a rate-limit hint)
  // 503 without a hint: "temporary overload or scheduled maintenance" (RFC 9110 15.6.4); nginx's
  // limit_conn and limit_req answer their refusals so by default. A congestion signal, cut as for a
  // 429, while the server still accepts requests between such answers (overload); after a cut with
  // nothing accepted since (maintenance, an outage), no further cut: server_health owns an outage,
  // and the pace needs no climb back from near 0 once it ends.
  overloaded,
  failed,  // other 5xx, network error, timeout: no rate signal (the retry budget handles these)
};

// What the controller hears of a classified answer, for every sender (the revocation run, `keyrevoke
// list`): throttled as throttled; a 503 that does not throttle (no rate-limit hint) overloaded; other
// 5xx, a body that is not the API's, network failures, timeouts and TLS failures failed; any other
// answer accepted.
answer_kind answer_kind_of(const verdict& answer) noexcept;

class rate_controller {
 public:
  rate_controller(const rate_controller_config& config, steady_time now) noexcept;

  // Pacing: the earliest time the next request may be sent (<= now: send now).
  steady_time next_send_time(steady_time now) const noexcept;
  // The dispatcher hands one request to a worker at `now`.
  void take_send_slot(steady_time now) noexcept;
  // A request that never reached the server (its connection was found closed before it was read, or
  // it was never written) gives back the slot it took: its resend spends none of its own.
  void give_back_send_slot() noexcept;
  // How many requests may be in flight at once.
  unsigned in_flight_limit() const noexcept;

  // A request's bytes were written (measured send rate).
  void on_bytes_written(steady_time t) noexcept;
  // The answer to a request written at `sent_at`. Returns true if this answer cut the rate.
  bool on_answer(steady_time now, steady_time sent_at, answer_kind kind,
                 std::optional<millis> retry_after) noexcept;
  // The answer received at `now` to a request written at `sent_at` advertised the quota `seen`
  // (any answer, 2xx included; call before on_answer for the same answer).
  void on_quota(const quota_observation& seen, steady_time now, steady_time sent_at) noexcept;

  // Observability (progress line, benchmark, tests).
  bool limiting() const noexcept { return limiting_; }
  double fill_rate() const noexcept { return fill_rate_; }  // req/s when limiting()
  double ceiling() const noexcept;                           // effective pacer rate, 0 = unpaced
  double measured_send_rate(steady_time now) const noexcept { return sent_.rate(now); }
  double accepted_rate(steady_time now) const noexcept { return accepted_.rate(now); }
  double smoothed_rtt_s() const noexcept { return srtt_s_; }
  unsigned cuts() const noexcept { return cuts_; }
  steady_time paused_until() const noexcept { return paused_until_; }
  // While the advertised quota is spent (the pacer holds every send): until when; else steady_time{}.
  steady_time quota_hold_until(steady_time now) const noexcept {
    const auto pace = quota_.rate(now);
    return pace && *pace == 0.0 ? quota_.hold_until() : steady_time{};
  }
  double w_max() const noexcept { return w_max_; }
  const quota_pacer& quota() const noexcept { return quota_; }
  bool quota_pacing(steady_time now) const noexcept { return quota_.active(now); }

 private:
  void cut(steady_time now, std::optional<millis> retry_after) noexcept;
  void grow(steady_time now) noexcept;
  void pause(steady_time until) noexcept;
  double absolute_c() const noexcept;  // req/s^3, the same in every process (see above)
  std::chrono::steady_clock::duration settle() const noexcept;
  double pace(steady_time now) const noexcept;  // the pacer's rate at now, 0 = unpaced

  rate_controller_config config_;
  rate_estimator sent_{0.5};
  rate_estimator accepted_{0.5};
  rate_estimator recent_sent_{0.1};  // lags a climb less than sent_: bounds W_max at a cut
  bool limiting_ = false;
  double fill_rate_ = 0.0;
  double w_max_ = 0.0;
  double k_s_ = 0.0;
  double c_ = 0.4;
  steady_time last_cut_{};
  bool cut_yet_ = false;
  unsigned cuts_ = 0;
  unsigned cuts_in_a_row_ = 0;
  std::uint64_t epoch_accepted_ = 0;  // answers accepted since the last cut
  std::uint64_t epoch_refused_ = 0;   // 429s and 503 overloads to requests sent since the last cut
  double last_good_rate_ = 0.0;       // req/s accepted when a series of cuts began (see cut())
  std::optional<steady_time> floor_at_;  // when the floor was last applied after a series
  bool floor_armed_ = false;          // that series paused everyone: floor_share applies after it
  double floor_rate_ = 0.0;           // req/s the pace stays at or above for now (0: none; see grow())
  double srtt_s_ = 0.0;
  steady_time tat_{};  // GCRA theoretical arrival time of the next request
  steady_time paused_until_{};
  quota_pacer quota_;
  steady_time last_event_{};  // the latest time the controller was told of (ceiling() reads the pacer then)
  double last_slot_rate_ = 0.0;  // the pace the last slot was taken at (give_back_send_slot)
  steady_time last_slot_at_{};   // when the last slot was taken
};

}  // namespace keyrevoke::core
