#pragma once
// Is the server failing nearly everything (an outage), and when to probe it: a circuit breaker. Pure:
// time and randomness are parameters.
//
// Why (THROTTLING.md pitfall 9, "an outage is not a rate limit"): when a gateway answers 502 to
// everything, retrying every hash with its own backoff multiplies the load on a server that cannot
// answer, and burns each hash's --max-attempts on a fault that has nothing to do with the hash.
//
// The rules:
//  - Evidence: each answer is a success (the server processed it: anything but a failure, 429s
//    included) or a failure (5xx, an answer that is not the API's, reset, refused, timeout). Only a
//    job's FIRST failure is evidence: a hash that fails again and again (a poison key the server
//    always answers 500 for) says nothing about the server, and must end `failed`, not stall the run.
//  - healthy -> outage when, of the last `window` pieces of evidence, at least `min_samples` are
//    there and at least `failure_share` of them are failures; or when the last `consecutive_failures`
//    pieces of evidence are all failures (Envoy's outlier detection, "consecutive_5xx"): a server that
//    dies mid-run has a window full of successes, and the share rule alone waited for 18 fresh hashes
//    to fail while the retries of the first ones piled onto the dead server.
//  - In an outage nothing new is sent; one probe at a time, the k-th (k = 0, 1, ...) not before the
//    previous one failed plus d/2 + U(0, d/2), d = min(probe_cap, probe_base * 2^k) ("equal jitter",
//    AWS Architecture Blog, "Exponential Backoff and Jitter").
//  - outage -> healthy at the first success (a probe's, or a late answer to a request in flight).
//    The window is cleared, and a slow start allows ramp_start + (successes since) requests in flight,
//    which about doubles each round trip, up to the caller's ceiling.
//  - Give up when the outage has lasted give_up_after since the last success (--give-up-after) and at
//    least min_failed_probes probes of it failed: probes take fresh hashes first, and a list that starts
//    with a few keys the server always fails for must reach a healthy one before the run gives up.
// Failures seen in an outage do not count toward a hash's --max-attempts (the scheduler's rule).

#include "keyrevoke/core/clock.hpp"

#include <cstddef>
#include <deque>

namespace keyrevoke::core {

struct health_config {
  std::size_t window = 20;       // pieces of evidence kept (answers)
  std::size_t min_samples = 8;   // fewer than this never make an outage
  double failure_share = 0.9;    // (0, 1]
  std::size_t consecutive_failures = 10;  // first failures in a row, no success between (>= 1)
  millis probe_base{250};        // first probe delay, ms
  millis probe_cap{5000};        // probe delays never exceed this, ms
  millis give_up_after{300000};  // --give-up-after, ms
  unsigned min_failed_probes = 5;  // and at least this many probes of the outage failed first
  unsigned ramp_start = 2;       // requests in flight allowed right after an outage
};

enum class health_state { healthy, outage };

class server_health {
 public:
  server_health(const health_config& config, steady_time now) noexcept;

  // An answer the server processed (anything but a failure).
  void on_success(steady_time now) noexcept;
  // A failure; first_failure_of_job: the job had not failed before (see the rules above).
  // u01 in [0, 1) jitters the next probe. A failure of the probe schedules the next probe.
  void on_failure(steady_time now, bool first_failure_of_job, bool was_probe, double u01) noexcept;

  health_state state() const noexcept { return state_; }
  bool in_outage() const noexcept { return state_ == health_state::outage; }

  // In an outage: when the next probe may go (it goes only when none is in flight).
  steady_time next_probe_at() const noexcept { return next_probe_; }
  bool probe_in_flight() const noexcept { return probe_in_flight_; }
  void on_probe_sent() noexcept { probe_in_flight_ = true; }
  // The probe ended without an answer that tells anything (cancelled): another may go.
  void on_probe_abandoned() noexcept { probe_in_flight_ = false; }

  // Requests allowed in flight: `ceiling` when healthy and ramped up; less during the slow start.
  unsigned in_flight_limit(unsigned ceiling) const noexcept;

  bool should_give_up(steady_time now) const noexcept;

  steady_time last_success() const noexcept { return last_success_; }
  unsigned outages() const noexcept { return outages_; }  // times an outage began
  unsigned probes() const noexcept { return probes_; }    // probes that failed

 private:
  void enter_outage(steady_time now, double u01) noexcept;
  millis probe_delay(unsigned k, double u01) const noexcept;

  health_config config_;
  health_state state_ = health_state::healthy;
  std::deque<bool> evidence_;  // true: failure
  std::size_t failures_ = 0;   // failures in evidence_
  std::size_t consecutive_ = 0;  // evidence since the last success, all failures
  steady_time last_success_;
  steady_time next_probe_{};
  bool probe_in_flight_ = false;
  unsigned probe_round_ = 0;
  unsigned ramp_ = 0;  // successes since the last outage ended; ramping while < ceiling
  bool ramping_ = false;
  unsigned outages_ = 0;
  unsigned probes_ = 0;
};

}  // namespace keyrevoke::core
