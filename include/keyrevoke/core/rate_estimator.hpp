#pragma once
// Events per second over a sliding exponential window, unbiased from the very first event
// (THROTTLING.md pitfall 2: a rate measured too low right after start makes the first cut land far too low).

#include "keyrevoke/core/clock.hpp"

#include <optional>

namespace keyrevoke::core {

class rate_estimator {
 public:
  explicit rate_estimator(double time_constant_s = 0.5) noexcept : tau_{time_constant_s} {}

  void record(steady_time t) noexcept;

  // Estimated events per second at time `now` (0 before the first event).
  double rate(steady_time now) const noexcept;
  // The same without that correction: events in the window divided by the time constant, low until
  // a time constant has passed since the first event. A handful of events in the first milliseconds
  // reads as a rate above (16 answers in 1 ms: 1,600/s), and nothing was seen to sustain it.
  double sustained_rate(steady_time now) const noexcept;

 private:
  double decayed_sum(steady_time now) const noexcept;  // the sum below, decayed to now

  double tau_;
  double decayed_sum_ = 0.0;  // sum of exp(-(last_ - t_i) / tau)
  std::optional<steady_time> first_;
  steady_time last_{};
};

}  // namespace keyrevoke::core
