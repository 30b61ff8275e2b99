#pragma once
// The final outcome of one report row.

#include <cstddef>
#include <optional>
#include <string_view>

namespace keyrevoke::core {

enum class outcome {
  deleted,        // 200: the key is gone because of this run
  not_found,      // 404 (the API's NotFound body) on the first answer the server gave for this hash:
                  // gone before this run (already revoked, or never existed); counts as done
  failed,         // attempts exhausted, or a non-retryable answer
  unauthorized,   // 401/403: the management key was rejected
  not_attempted,  // the run stopped before this hash got an answer
  invalid,        // the input line is not a hash; never sent
  disabled,       // --disable: PATCH answered with the key disabled
  enabled,        // --enable: PATCH answered with the key enabled
  protected_key,  // "protected": listed, but --protect says never touch it; never sent
  not_found_after_retry,  // 404 (API-shaped) after an earlier attempt of this run that may have reached
                          // the server and whose answer was lost (no answer, a 5xx, a timeout): the key
                          // is gone, deleted either by that attempt or before the run; counts as done
};

inline constexpr std::size_t outcome_count = 10;  // the enumerators above

std::string_view to_string(outcome value) noexcept;
std::optional<outcome> outcome_from_string(std::string_view text) noexcept;

// The action is complete for this hash: a resumed run never sends it again. (A report holds one
// action's rows: --resume refuses a report whose header names another action.)
constexpr bool is_done(outcome value) noexcept {
  return value == outcome::deleted || value == outcome::not_found || value == outcome::disabled ||
         value == outcome::enabled || value == outcome::not_found_after_retry;
}

}  // namespace keyrevoke::core
