#include "keyrevoke/core/server_health.hpp"

#include <algorithm>
#include <cmath>

namespace keyrevoke::core {

server_health::server_health(const health_config& config, steady_time now) noexcept
    : config_{config}, last_success_{now} {
  config_.window = std::max<std::size_t>(config_.window, 1);
  config_.min_samples = std::clamp<std::size_t>(config_.min_samples, 1, config_.window);
  config_.failure_share = std::clamp(config_.failure_share, 0.01, 1.0);
  config_.consecutive_failures = std::max<std::size_t>(config_.consecutive_failures, 1);
}

void server_health::on_success(steady_time now) noexcept {
  last_success_ = std::max(last_success_, now);
  consecutive_ = 0;
  if (state_ == health_state::outage) {
    state_ = health_state::healthy;
    evidence_.clear();
    failures_ = 0;
    probe_in_flight_ = false;
    probe_round_ = 0;
    ramp_ = 0;
    ramping_ = true;
    return;
  }
  if (ramping_ && ++ramp_ >= 65536) ramping_ = false;  // long past any ceiling
  evidence_.push_back(false);
  if (evidence_.size() > config_.window) {
    if (evidence_.front()) --failures_;
    evidence_.pop_front();
  }
}

void server_health::on_failure(steady_time now, bool first_failure_of_job, bool was_probe, double u01) noexcept {
  if (state_ == health_state::outage) {
    if (was_probe) {
      probe_in_flight_ = false;
      ++probes_;
      next_probe_ = now + probe_delay(++probe_round_, u01);
    }
    return;
  }
  if (!first_failure_of_job) return;
  evidence_.push_back(true);
  ++failures_;
  if (evidence_.size() > config_.window) {
    if (evidence_.front()) --failures_;
    evidence_.pop_front();
  }
  ++consecutive_;
  const auto samples = static_cast<double>(evidence_.size());
  if ((evidence_.size() >= config_.min_samples && static_cast<double>(failures_) >= config_.failure_share * samples) ||
      consecutive_ >= config_.consecutive_failures) {
    enter_outage(now, u01);
  }
}

void server_health::enter_outage(steady_time now, double u01) noexcept {
  state_ = health_state::outage;
  ++outages_;
  ramping_ = false;
  probe_round_ = 0;
  probe_in_flight_ = false;
  next_probe_ = now + probe_delay(0, u01);
}

millis server_health::probe_delay(unsigned k, double u01) const noexcept {
  const double base = static_cast<double>(config_.probe_base.count());
  const double cap = static_cast<double>(config_.probe_cap.count());
  const double d = std::min(cap, base * std::ldexp(1.0, static_cast<int>(std::min(k, 30U))));
  return millis{static_cast<millis::rep>(d / 2.0 + d / 2.0 * std::clamp(u01, 0.0, 1.0))};
}

unsigned server_health::in_flight_limit(unsigned ceiling) const noexcept {
  if (state_ == health_state::outage) return 1;
  if (!ramping_) return ceiling;
  const unsigned allowed = config_.ramp_start + ramp_;
  return std::max(1U, std::min(ceiling, allowed));
}

bool server_health::should_give_up(steady_time now) const noexcept {
  return state_ == health_state::outage && now - last_success_ >= config_.give_up_after &&
         probe_round_ >= config_.min_failed_probes;
}

}  // namespace keyrevoke::core
