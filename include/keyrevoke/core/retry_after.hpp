#pragma once
// Server hints on a throttled answer: Retry-After, retry-after-ms, X-RateLimit-Reset/-Remaining, and
// the Date they are measured from. Pure: now is a parameter.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keyrevoke::core {

// Every function below measures an absolute hint (an HTTP-date, an epoch time) from `now`: the
// caller's reference time, which server_retry_delay takes from the response's Date field when it
// has one (see there). A time already reached => 0 ms.

// Retry-After (RFC 9110 10.2.3): delta-seconds ("120") or HTTP-date (IMF-fixdate "Sun, 06 Nov 1994
// 08:49:37 GMT", also RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" and asctime "Sun Nov  6 08:49:37
// 1994"). A date in the past => 0. Garbage, negative, overflow => nullopt. Surrounding whitespace
// tolerated. Fractional seconds "1.5" => 1500 ms (rounded up to whole ms).
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now) noexcept;

// retry-after-ms (openai-python reads it): non-negative number of ms (may be fractional; rounded up).
std::optional<std::chrono::milliseconds> parse_retry_after_ms(std::string_view value) noexcept;

// X-RateLimit-Reset has no standard, and servers send three forms of it; they are told apart by
// magnitude (the integer part v):
//   v < 1e9          delta-seconds until the window resets (as the IETF draft's RateLimit "t=" and
//                    several gateways send it): "5" => 5000 ms. 1e9 s is 31.7 years: no window is
//                    that long, and no epoch time that small is in the future (September 2001).
//   1e9 <= v < 1e11  epoch seconds (GitHub, most gateways).
//   v >= 1e11        epoch milliseconds (OpenRouter: ../shared/API.md). 1e11 ms is March 1973.
// Fractions are kept ("5.5" => 5500 ms), rounded up to whole ms. A time already past => 0.
// Garbage, negative, overflow => nullopt.
std::optional<std::chrono::milliseconds> parse_ratelimit_reset(std::string_view value,
                                                               std::chrono::system_clock::time_point now) noexcept;

// X-RateLimit-Remaining: requests left in the window, a non-negative integer. A comma-separated list
// (the field sent more than once, lines joined as RFC 9110 5.3 allows) => the smallest element; any
// element not an integer => nullopt.
std::optional<std::uint64_t> parse_ratelimit_remaining(std::string_view value) noexcept;

// The header field values a response carries about throttling, empty = absent. Views into the
// response: they must outlive the call they are given to.
struct rate_limit_hints {
  std::string_view retry_after{};            // Retry-After
  std::string_view retry_after_ms{};         // retry-after-ms
  std::string_view ratelimit_reset{};        // X-RateLimit-Reset
  std::string_view x_ratelimit_remaining{};  // X-RateLimit-Remaining
  std::string_view date{};                   // Date (RFC 9110 6.6.1): the server's clock, IMF-fixdate
};

// The time absolute hints are measured from: the response's Date when present and parseable, else
// now. RFC 9110 10.2.3 relates an HTTP-date Retry-After to the Date of the same response; measuring
// both on the server's clock makes the delay independent of how far off the client's clock is.
// Date has whole seconds, so a delay measured from it can be up to 1 s long (never short).
std::chrono::system_clock::time_point hint_reference(const rate_limit_hints& hints,
                                                     std::chrono::system_clock::time_point now) noexcept;

// The server's hint for when to send again, in ms from receipt (0 = "now"; the caller's retry policy
// decides whether a short hint may shorten its backoff: it may not, THROTTLING.md pitfall 7).
// Precedence: retry-after-ms, then Retry-After, then X-RateLimit-Reset (an unusable value falls
// through to the next). X-RateLimit-Reset is skipped while X-RateLimit-Remaining says requests are
// left (> 0): then it tells when the window renews, not when to retry (gateways send it on every
// answer). Absolute forms are measured from hint_reference(hints, now). Result clamped to
// [0, max(cap, 0)]. nullopt if none usable.
std::optional<std::chrono::milliseconds> server_retry_delay(const rate_limit_hints& hints,
                                                            std::chrono::system_clock::time_point now,
                                                            std::chrono::milliseconds cap) noexcept;

// True when the fields say the client is being rate limited: server_retry_delay has a hint, or
// X-RateLimit-Remaining is 0 (GitHub's primary limit: a 403 with remaining 0). What makes a 403 or
// a 503 a "throttled" answer rather than a key rejection or an outage (THROTTLING.md pitfall 8).
bool rate_limit_signalled(const rate_limit_hints& hints, std::chrono::system_clock::time_point now) noexcept;

// An HTTP-date in any of the three forms above (day name checked for spelling, not consistency;
// "GMT" or "UTC"). For the two-digit year of RFC 850, now decides the century (RFC 9110 5.6.7:
// never more than 50 years ahead). Seconds, so that years up to 9999 fit.
std::optional<std::chrono::sys_seconds> parse_http_date(
    std::string_view value, std::chrono::system_clock::time_point now) noexcept;

// IMF-fixdate for a time point, e.g. "Sun, 06 Nov 1994 08:49:37 GMT" (for servers and tests).
std::string format_http_date(std::chrono::system_clock::time_point when);

}  // namespace keyrevoke::core
