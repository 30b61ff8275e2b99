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

  // What the bucket holds at `now` (after refilling), for the quota it advertises.
  struct state {
    double burst = 0;          // the bucket's size
    double tokens = 0;         // whole and partial tokens in it
    mock_duration until_full{0};  // until it is full again at the scheduled rates (max() if never)
  };
  state state_at(mock_duration now);

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

// --advertise: the header fields every answer that met the bucket carries about it, as a gateway in
// front of an API advertises its quota. The bucket is described as a quota of `burst` requests,
// `floor(tokens)` of them left, renewed in full when the bucket is full again:
// xratelimit -> X-RateLimit-Limit: burst, X-RateLimit-Remaining: floor(tokens),
//               X-RateLimit-Reset: Unix epoch milliseconds when the bucket is full (OpenRouter's form)
// ietf       -> RateLimit-Policy: "default";q=burst;w=ceil(burst / rate now) (seconds, at least 1),
//               RateLimit: "default";r=floor(tokens);t=ceil(seconds until full)
//               (draft-ietf-httpapi-ratelimit-headers-08 and later)
// none       -> nothing. Every value is true of the bucket at that instant (never more than it holds).
// Names on the command line: none, xratelimit, ietf.
enum class advertise_mode { none, xratelimit, ietf };
std::optional<advertise_mode> parse_advertise_mode(std::string_view text);

struct quota_header {
  std::string_view name;
  std::string value;  // reused from answer to answer
};
struct quota_headers {
  quota_header fields[3];
  std::size_t count = 0;
};
// Fills `out` (count = 0 for none) for a bucket in `state` whose rate is `rate` now (req/s).
void describe_bucket(advertise_mode mode, const token_bucket::state& state, double rate,
                     std::chrono::system_clock::time_point wall_now, quota_headers& out);

// IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT") of a whole-second instant.
std::string format_imf_fixdate(std::chrono::sys_seconds t);

}  // namespace keyrevoke::mock
