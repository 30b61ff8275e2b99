#pragma once
// What happens after one attempt: finish with an outcome, or retry no sooner than a delay.
// Full-jitter exponential backoff (AWS Architecture Blog), Retry-After honoured for the hash itself,
// and a retry budget (gRPC A6 style) so a failing server does not get its load multiplied.

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

// attempts: how many attempts this hash has had, this one included.
retry_plan plan_after_attempt(const attempt_result& result, unsigned attempts, unsigned max_attempts,
                              const backoff_policy& policy, double u01) noexcept;

// Retry budget: each failed attempt (5xx, network, timeout) costs a token, each answer the server
// processed earns `ratio` of one. Below half the tokens the server is failing more than about
// ratio/(1+ratio) of requests: retries then go one at a time (new hashes keep going, so a few hashes
// that always fail do not hold the others hostage, and the bounded retry queue stops new ones when
// everything fails). If it stays so with no successful answer for `give_up_after`, the run gives up
// on the server (the rest is reported not_attempted, resumable).
class retry_budget {
 public:
  retry_budget(double max_tokens, double ratio, millis give_up_after, steady_time now) noexcept;

  void on_success(steady_time now) noexcept;
  void on_failure(steady_time now) noexcept;

  bool healthy() const noexcept { return tokens_ > max_tokens_ / 2.0; }
  bool should_give_up(steady_time now) const noexcept;
  double tokens() const noexcept { return tokens_; }
  steady_time last_success() const noexcept { return last_success_; }

 private:
  double max_tokens_;
  double ratio_;
  millis give_up_after_;
  double tokens_;
  steady_time last_success_;
};

}  // namespace keyrevoke::core
