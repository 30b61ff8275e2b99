#pragma once
// The quota a server advertises on its answers (any status, 2xx included), read from one of three
// header field families. Pure: `now` is a parameter.
//
//  - X-RateLimit-Limit / -Remaining / -Reset (GitHub, OpenRouter and most gateways; no standard):
//    Reset as delta-seconds, epoch seconds or epoch milliseconds, told apart by magnitude
//    (core::parse_ratelimit_reset); no window.
//  - draft-ietf-httpapi-ratelimit-headers (-08 and later): `RateLimit-Policy: "p";q=100;w=10` (quota q
//    per window w seconds) and `RateLimit: "p";r=50;t=5` (r left, t seconds until more quota comes),
//    both lists of RFC 9651 structured-field items, matched by policy name. Draft -07's dictionary
//    form `RateLimit: limit=100, remaining=50, reset=5` is read too.
//  - the drafts' older trio (-00 to -06): RateLimit-Limit ("100", or "100, 100;w=10"), RateLimit-
//    Remaining, RateLimit-Reset (delta-seconds).
//
// The principle: a value that cannot be read, or values that contradict each other (remaining above
// the limit, a reset beyond the window), give no observation: never a guess.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace keyrevoke::core {

// The header field values an answer carries about its quota; empty = absent. Views into the answer.
struct ratelimit_fields {
  std::string_view x_limit{};           // X-RateLimit-Limit
  std::string_view x_remaining{};       // X-RateLimit-Remaining
  std::string_view x_reset{};           // X-RateLimit-Reset
  std::string_view ratelimit{};         // RateLimit (a list: several field lines joined with ", ")
  std::string_view ratelimit_policy{};  // RateLimit-Policy (a list)
  std::string_view limit{};             // RateLimit-Limit (older drafts)
  std::string_view remaining{};         // RateLimit-Remaining (older drafts)
  std::string_view reset{};             // RateLimit-Reset (older drafts; delta-seconds)
  std::string_view date{};              // Date (RFC 9110 6.6.1): what absolute resets are measured from
};

enum class quota_family : std::uint8_t { x_ratelimit, ietf, ietf_trio };

// What the server says about the client's quota at the time of the answer.
struct quota_observation {
  std::uint64_t limit = 0;                // requests per window; 0: not said
  std::uint64_t remaining = 0;            // requests the server will still accept before reset_in passes
  std::chrono::milliseconds reset_in{0};  // until the quota is renewed (or more of it comes), >= 0
  std::chrono::milliseconds window{0};    // the window's length; 0: not said
  quota_family family = quota_family::x_ratelimit;
  friend bool operator==(const quota_observation&, const quota_observation&) = default;
};

// The quota the fields describe at `now` (the receipt of the answer), or nullopt. Each family needs
// at least its remaining and its reset fields, all readable:
//  - X-RateLimit-Remaining (a list => its smallest element: core::parse_ratelimit_remaining),
//    X-RateLimit-Reset measured from core::hint_reference (the answer's Date when usable), X-RateLimit-
//    Limit optional (a non-negative integer; a list => its first element);
//  - RateLimit items with an `r` (Integer >= 0) and a `t` (Integer >= 0, seconds), each matched to the
//    RateLimit-Policy item of its name for q and w (none: limit and window unsaid); an item whose
//    policy's `qu` is not "requests" counts no requests and is skipped; with several items, the most
//    restrictive (the lowest r / t) is the observation;
//  - RateLimit-Remaining and RateLimit-Reset, RateLimit-Limit optional (its first number; its `w`).
// Contradictions within a family give no observation for it: remaining > limit (a limit of 0 that the
// server sent included), reset_in > window; so does a limit that is sent but unreadable.
// A structured field that does not parse (RFC 9651 syntax, as far as these fields need it) counts as
// absent. When several families describe a quota, the most restrictive one is taken (the lowest
// remaining / reset_in, a reset of 0 counting as 1 ms).
std::optional<quota_observation> read_quota(const ratelimit_fields& fields,
                                            std::chrono::system_clock::time_point now) noexcept;

}  // namespace keyrevoke::core
