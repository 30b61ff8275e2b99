#include "keyrevoke/core/retry_policy.hpp"

#include <algorithm>
#include <cmath>

namespace keyrevoke::core {

millis full_jitter_delay(const backoff_policy& policy, unsigned failures, double u01) noexcept {
  const unsigned exponent = std::min(failures == 0 ? 0U : failures - 1, 30U);
  const double ceiling = std::min(static_cast<double>(policy.cap.count()),
                                  static_cast<double>(policy.base.count()) * std::ldexp(1.0, static_cast<int>(exponent)));
  const double u = std::clamp(u01, 0.0, 1.0);
  return millis{static_cast<millis::rep>(ceiling * u)};
}

retry_plan plan_after_attempt(const attempt_result& result, unsigned attempts, unsigned max_attempts,
                              const backoff_policy& policy, double u01) noexcept {
  switch (result.kind) {
    case verdict_kind::deleted:
      return {false, millis{0}, outcome::deleted};
    case verdict_kind::not_found:
      return {false, millis{0}, outcome::not_found};
    case verdict_kind::disabled:
      return {false, millis{0}, outcome::disabled};
    case verdict_kind::enabled:
      return {false, millis{0}, outcome::enabled};
    case verdict_kind::present:  // a verifying GET: its caller decides (see verification.hpp)
      return {false, millis{0}, outcome::failed};
    case verdict_kind::unauthorized:
      return {false, millis{0}, outcome::unauthorized};
    case verdict_kind::client_error:
    case verdict_kind::tls_error:
      return {false, millis{0}, outcome::failed};
    case verdict_kind::throttled:
    case verdict_kind::server_error:
    case verdict_kind::network_error:
    case verdict_kind::timeout:
    case verdict_kind::not_api:  // a wrong route or a gateway page: retryable, never a proof
      break;
  }
  if (attempts >= max_attempts) return {false, millis{0}, outcome::failed};
  // A keep-alive connection the server had already closed: resend at once on a fresh one.
  if (result.kind == verdict_kind::network_error && result.reused_connection && attempts == 1) {
    return {true, millis{0}, outcome::failed};
  }
  const millis backoff = full_jitter_delay(policy, attempts, u01);
  if (result.retry_after) {
    // Not before the server's time, plus a little jitter: a retry due exactly when the next token
    // appears would race the paced requests for it, and could lose every time. A hint shorter than
    // the backoff does not shorten it.
    const auto hint = *result.retry_after;
    const double spread = std::min(static_cast<double>(hint.count()) / 4.0 + 10.0, 1000.0);
    const millis hinted = hint + millis{static_cast<millis::rep>(spread * std::clamp(u01, 0.0, 1.0))};
    return {true, std::max(hinted, backoff), outcome::failed};
  }
  return {true, backoff, outcome::failed};
}

}  // namespace keyrevoke::core
