#pragma once
// What happens after one attempt: finish with an outcome, or retry no sooner than a delay.
// Full-jitter exponential backoff (AWS Architecture Blog, "Exponential Backoff and Jitter"), and the
// server's hint honoured for the hash itself, never shortening the backoff (THROTTLING.md pitfall 7:
// `Retry-After: 0`, a date already past or a reset sent as a delta must not make retries faster than
// no hint at all). A server failing everything is server_health's business, not this one's.

#include "keyrevoke/core/clock.hpp"
#include "keyrevoke/core/outcome.hpp"
#include "keyrevoke/core/verdict.hpp"

#include <optional>

namespace keyrevoke::core {

struct backoff_policy {
  millis base{250};
  millis cap{30000};
};

// U(0, min(cap, base * 2^(failures - 1))) with u01 in [0, 1).
millis full_jitter_delay(const backoff_policy& policy, unsigned failures, double u01) noexcept;

struct attempt_result {
  verdict_kind kind;
  std::optional<millis> retry_after;  // the server's hint, already capped
  bool reused_connection = false;     // the attempt went over a pooled keep-alive connection
};

struct retry_plan {
  bool retry = false;
  millis delay{0};          // when retry: not before now + delay
  outcome final_outcome{};  // when !retry
};

// attempts: how many attempts of this hash count toward max_attempts, this one included (>= 1).
// A retryable kind retries after max(hint + jitter, full_jitter_delay(attempts)), the jitter being
// U(0, min(hint / 4 + 10 ms, 1 s)); a network error on a reused keep-alive connection at the first
// attempt retries at once (the server most likely closed it while idle). Not retryable, or
// attempts >= max_attempts: the final outcome (retryable kinds end `failed`).
retry_plan plan_after_attempt(const attempt_result& result, unsigned attempts, unsigned max_attempts,
                              const backoff_policy& policy, double u01) noexcept;

}  // namespace keyrevoke::core
