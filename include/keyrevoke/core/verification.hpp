#pragma once
// --verify: after an action succeeds, GET /keys/{hash} proves the key's state. Pure decisions.

#include <string_view>

#include "keyrevoke/core/action.hpp"
#include "keyrevoke/core/clock.hpp"
#include "keyrevoke/core/retry_policy.hpp"
#include "keyrevoke/core/verdict.hpp"

namespace keyrevoke::core {

enum class observed_state { unknown, gone, disabled, enabled };
std::string_view to_string(observed_state value) noexcept;  // "unknown" is written as null

// What a verifying GET saw: 404 -> gone, 200 with the key -> disabled/enabled, else unknown.
observed_state observed(const verdict& answer) noexcept;

// Whether `seen` proves the action's row: delete -> gone; disable -> disabled or gone (contained
// either way); enable -> enabled, or gone only when the action itself found no key (its row said
// not_found). A key enabled and then found gone was not kept enabled: that is a mismatch, not a proof.
// action_found_no_key is false when unknown (a --resume --verify of an older row): the stricter rule.
bool proves(action done, observed_state seen, bool action_found_no_key = false) noexcept;

// The report's verify-row outcomes.
enum class verify_outcome {
  verified,       // the GET showed the expected state
  mismatch,       // the server still shows the key in another state after every attempt
  failed,         // no usable answer (5xx, network, timeouts) after every attempt, or a 4xx
  not_attempted,  // the run stopped first; a --resume --verify run checks it
};
std::string_view to_string(verify_outcome value) noexcept;

struct verify_step {
  bool retry = false;
  millis delay{0};                             // when retry
  verify_outcome result = verify_outcome::failed;  // when !retry
  observed_state seen = observed_state::unknown;
};

// After one verifying GET (attempts counts it). A state that does not prove the action is retried
// with backoff (a replicated store may lag), up to max_attempts; transport and server failures follow
// plan_after_attempt. Aborting answers (401/403, TLS) are the caller's, before this.
verify_step plan_after_check(action done, const verdict& answer, bool reused_connection, unsigned attempts,
                             unsigned max_attempts, const backoff_policy& policy, double u01,
                             bool action_found_no_key = false) noexcept;

}  // namespace keyrevoke::core
