#pragma once
// A token bucket whose refill rate follows a schedule, and the rate-limit hints a 429 carries.
// Pure: time is a duration since the mock started (and a wall-clock instant for the HTTP-date and
// reset-ms hints), passed in by the caller. Not thread-safe; the server guards it with a mutex.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace keyrevoke::mock {

using mock_duration = std::chrono::nanoseconds;  // time since the mock started

// One step of a rate schedule: from `start` (since the mock started) on, `rate` tokens per second.
struct rate_step {
  std::chrono::seconds start{0};
  double rate = 0;
};

// "0:1000,10:250,20:1000" -> three steps. Steps must start at 0 and be strictly increasing; rates >= 0.
// A bare number "500" means "500 from second 0". nullopt on any syntax error.
std::optional<std::vector<rate_step>> parse_rate_schedule(std::string_view text);

class token_bucket {
 public:
  // rate <= 0 with an empty schedule means "unlimited" (try_take always succeeds).
  // A non-empty schedule overrides `rate`. burst < 1 is raised to 1. The bucket starts full.
  token_bucket(double rate, double burst, std::vector<rate_step> schedule = {});

  struct verdict {
    bool ok = false;
    mock_duration wait{0};  // when !ok: time until one whole token is available (max() if never)
  };

  verdict try_take(mock_duration now);

  bool unlimited() const noexcept { return unlimited_; }
  double rate_at(mock_duration now) const noexcept;
  double tokens(mock_duration now);  // after refilling to `now` (for tests and stats)

 private:
  void refill(mock_duration now);
  mock_duration time_to_accumulate(mock_duration from, double needed) const;

  std::vector<rate_step> schedule_;
  double burst_;
  double tokens_;
  mock_duration last_{0};
  bool unlimited_;
};

// How a throttled answer hints when to come back. The last three play what real deployments send
// and a client must not trust blindly (THROTTLING.md pitfall 7): a hint shorter than its backoff.
enum class retry_hint_mode {
  seconds,
  http_date,
  reset_ms,
  none,
  zero,         // Retry-After: 0 (whatever the wait)
  past,         // Retry-After: an HTTP-date one hour before now (a skewed clock)
  reset_delta,  // X-RateLimit-Reset: the wait in whole seconds (a delta where epoch ms is expected)
};

std::optional<retry_hint_mode> parse_retry_hint_mode(std::string_view text);
std::string_view to_string(retry_hint_mode mode);

struct retry_hint {
  std::string_view header;  // "Retry-After" or "X-RateLimit-Reset"
  std::string value;
};

// The header a 429 carries when the next token is `wait` away at wall-clock instant `wall_now`:
// seconds   -> Retry-After: ceil(wait) in whole seconds, at least 1
// http_date -> Retry-After: IMF-fixdate of wall_now + wait, rounded up to the next whole second
// reset_ms  -> X-RateLimit-Reset: Unix epoch milliseconds of wall_now + wait
// none      -> nullopt
// zero      -> Retry-After: 0
// past      -> Retry-After: IMF-fixdate of wall_now - 1 h (whole second, rounded down)
// reset_delta -> X-RateLimit-Reset: ceil(wait) in whole seconds, at least 1
// Names on the command line: seconds, http-date, reset-ms, none, zero, past, reset-delta.
std::optional<retry_hint> make_retry_hint(retry_hint_mode mode, mock_duration wait,
                                          std::chrono::system_clock::time_point wall_now);

// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") of a whole-second instant.
std::string format_imf_fixdate(std::chrono::sys_seconds t);

}  // namespace keyrevoke::mock
