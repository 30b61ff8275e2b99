#include "keyrevoke/core/verification.hpp"

namespace keyrevoke::core {

std::string_view to_string(observed_state value) noexcept {
  switch (value) {
    case observed_state::gone: return "gone";
    case observed_state::disabled: return "disabled";
    case observed_state::enabled: return "enabled";
    case observed_state::unknown: break;
  }
  return "unknown";
}

std::string_view to_string(verify_outcome value) noexcept {
  switch (value) {
    case verify_outcome::verified: return "verified";
    case verify_outcome::mismatch: return "mismatch";
    case verify_outcome::not_attempted: return "not_attempted";
    case verify_outcome::failed: break;
  }
  return "failed";
}

observed_state observed(const verdict& answer) noexcept {
  if (answer.kind == verdict_kind::not_found) return observed_state::gone;
  if (answer.kind == verdict_kind::present) {
    return answer.key_disabled ? observed_state::disabled : observed_state::enabled;
  }
  return observed_state::unknown;
}

bool proves(action done, observed_state seen, bool action_found_no_key) noexcept {
  switch (done) {
    case action::delete_key: return seen == observed_state::gone;
    case action::disable: return seen == observed_state::disabled || seen == observed_state::gone;
    case action::enable: return seen == observed_state::enabled || (seen == observed_state::gone && action_found_no_key);
  }
  return false;
}

verify_step plan_after_check(action done, const verdict& answer, bool reused_connection, unsigned attempts,
                             unsigned max_attempts, const backoff_policy& policy, double u01,
                             bool action_found_no_key) noexcept {
  verify_step step;
  step.seen = observed(answer);
  if (step.seen != observed_state::unknown) {
    if (proves(done, step.seen, action_found_no_key)) {
      step.result = verify_outcome::verified;
    } else if (attempts < max_attempts) {
      step.retry = true;
      step.delay = full_jitter_delay(policy, attempts, u01);
    } else {
      step.result = verify_outcome::mismatch;
    }
    return step;
  }
  const retry_plan plan =
      plan_after_attempt({answer.kind, answer.retry_after, reused_connection}, attempts, max_attempts, policy, u01);
  step.retry = plan.retry;
  step.delay = plan.delay;
  step.result = verify_outcome::failed;
  return step;
}

}  // namespace keyrevoke::core
