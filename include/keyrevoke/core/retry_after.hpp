#pragma once
// Server hints on a 429/503: Retry-After, retry-after-ms, X-RateLimit-Reset. Pure: now is a parameter.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace keyrevoke::core {

// Retry-After: delta-seconds ("120") or HTTP-date (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", also
// RFC 850 "Sunday, 06-Nov-94 08:49:37 GMT" and asctime "Sun Nov  6 08:49:37 1994"). A date in the
// past => 0. Garbage, negative, overflow => nullopt. Surrounding whitespace tolerated. Fractional
// seconds "1.5" => 1500 ms (rounded up to whole ms).
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now) noexcept;

// retry-after-ms (openai style): non-negative number of ms (may be fractional; rounded up).
std::optional<std::chrono::milliseconds> parse_retry_after_ms(std::string_view value) noexcept;

// X-RateLimit-Reset: epoch milliseconds (OpenRouter). Values < 1e11 are taken as epoch seconds.
// Past => 0.
std::optional<std::chrono::milliseconds> parse_ratelimit_reset(std::string_view value,
                                                               std::chrono::system_clock::time_point now) noexcept;

struct rate_limit_hints {  // header values, empty = absent
  std::string_view retry_after, retry_after_ms, ratelimit_reset;
};

// Precedence: retry-after-ms, then Retry-After, then X-RateLimit-Reset (an unusable value falls
// through to the next). Result capped at cap. nullopt if none usable.
std::optional<std::chrono::milliseconds> server_retry_delay(const rate_limit_hints& hints,
                                                            std::chrono::system_clock::time_point now,
                                                            std::chrono::milliseconds cap) noexcept;

// An HTTP-date in any of the three forms above (day name checked for spelling, not consistency;
// "GMT" or "UTC"). For the two-digit year of RFC 850, now decides the century (RFC 9110 5.6.7:
// never more than 50 years ahead). Seconds, so that years up to 9999 fit.
std::optional<std::chrono::sys_seconds> parse_http_date(
    std::string_view value, std::chrono::system_clock::time_point now) noexcept;

// IMF-fixdate for a time point, e.g. "Sun, 06 Nov 1994 08:49:37 GMT" (for servers and tests).
std::string format_http_date(std::chrono::system_clock::time_point when);

}  // namespace keyrevoke::core
