#pragma once
// Why a run sends nothing right now, as the run scheduler knows it (core::run_scheduler::waiting), for
// the progress line: "waiting 37 s: server asked (429)" says more than "0/s" with no ETA. Pure data.

#include "keyrevoke/core/clock.hpp"

#include <cstdint>

namespace keyrevoke::core {

enum class wait_cause : std::uint8_t {
  none,             // sending (or answers are on their way): nothing to say
  preflight,        // the one read before anything changes is in flight
  preflight_retry,  // the preflight found no server; asking again in `left`
  input,            // nothing to send until the input gives more hashes (a pipe)
  server_asked,     // the server's hint (Retry-After, X-RateLimit-Reset ...) holds every send for `left`
  throttling,       // throttled answers without a hint paused every send for `left`
  backoff,          // the only work left is retries waiting out their backoff (`left`)
  quota_spent,      // the quota the server advertises is spent: nothing before its reset (`left`)
  confirming,       // a 404's confirmation read showed the key: no new hash until it settles (re-read in `left`)
  outage,           // the server fails nearly everything: one probe at a time, the next in `left`
  stopping,         // a stop: answers in flight are awaited, nothing new is sent
};

struct wait_reason {
  wait_cause cause = wait_cause::none;
  millis left{0};       // until the wait ends, when it has a known end (0: unknown or now)
  unsigned status = 0;  // server_asked, throttling: the HTTP status of the answer behind it (429, 503...)
};

}  // namespace keyrevoke::core
