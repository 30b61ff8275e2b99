#include "keyrevoke/core/rate_estimator.hpp"

#include <algorithm>
#include <cmath>

namespace keyrevoke::core {

void rate_estimator::record(steady_time t) noexcept {
  if (!first_) {
    first_ = t;
    last_ = t;
    decayed_sum_ = 1.0;
    return;
  }
  const double dt = std::max(0.0, to_seconds(t - last_));
  decayed_sum_ = decayed_sum_ * std::exp(-dt / tau_) + 1.0;
  last_ = std::max(last_, t);
}

double rate_estimator::decayed_sum(steady_time now) const noexcept {
  const double since_last = std::max(0.0, to_seconds(now - last_));
  return decayed_sum_ * std::exp(-since_last / tau_);
}

double rate_estimator::rate(steady_time now) const noexcept {
  if (!first_) return 0.0;
  const double sum = decayed_sum(now);
  // Over an elapsed time e, a steady rate r yields sum = r * tau * (1 - exp(-e / tau)):
  // dividing by that window instead of tau keeps the first fraction of a second unbiased.
  // The window is floored at 10 ms so that a handful of events at start does not read as a huge rate.
  const double elapsed = std::max(0.010, to_seconds(now - *first_));
  const double window = tau_ * (1.0 - std::exp(-elapsed / tau_));
  return sum / window;
}

double rate_estimator::sustained_rate(steady_time now) const noexcept {
  return first_ ? decayed_sum(now) / tau_ : 0.0;
}

}  // namespace keyrevoke::core
