// Retry-After, retry-after-ms, X-RateLimit-Reset, X-RateLimit-Remaining, Date and HTTP-dates. The input
// is up to five header values separated by '\n' (in that order); its first 4 bytes also move "now"
// around (within +-2^31 seconds of 2024).

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>

#include "fuzz_check.hpp"
#include "keyrevoke/core/retry_after.hpp"

namespace kc = keyrevoke::core;
using namespace std::chrono;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::int32_t shift = 0;
  if (size >= 4) std::memcpy(&shift, data, sizeof shift);
  const system_clock::time_point now = sys_days{year{2024} / March / 10} + seconds{shift} + microseconds{size};
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  const std::size_t first = input.find('\n');
  const std::string_view a = input.substr(0, first);
  const std::string_view rest = first == std::string_view::npos ? std::string_view{} : input.substr(first + 1);
  const std::size_t second = rest.find('\n');
  const std::string_view b = rest.substr(0, second);
  std::string_view tail = second == std::string_view::npos ? std::string_view{} : rest.substr(second + 1);
  const auto take = [&tail] {
    const std::size_t newline = tail.find('\n');
    const std::string_view line = tail.substr(0, newline);
    tail = newline == std::string_view::npos ? std::string_view{} : tail.substr(newline + 1);
    return line;
  };
  const std::string_view c = take();
  const std::string_view d = take();
  const std::string_view e = take();

  const system_clock::time_point later = now + hours{1};
  for (const std::string_view value : {input, a, b, c, d, e}) {
    const auto retry_after = kc::parse_retry_after(value, now);
    if (retry_after) FUZZ_CHECK(retry_after->count() >= 0);
    const auto ms = kc::parse_retry_after_ms(value);
    if (ms) FUZZ_CHECK(ms->count() >= 0);
    const auto reset = kc::parse_ratelimit_reset(value, now);
    if (reset) FUZZ_CHECK(reset->count() >= 0);
    // Below 1e9 the reset is a delta: the clock does not move it. A delta-seconds Retry-After neither.
    const std::string_view trimmed = value.substr(std::min(value.find_first_not_of(" \t\r\n"), value.size()));
    const std::string_view whole = trimmed.substr(0, trimmed.find_first_not_of("0123456789"));
    if (reset && whole.size() <= 9 && !whole.empty()) {
      FUZZ_CHECK(kc::parse_ratelimit_reset(value, later) == reset);
      FUZZ_CHECK(kc::parse_ratelimit_reset(value, now) == kc::parse_retry_after(value, now));
    }
    if (retry_after && !whole.empty()) FUZZ_CHECK(kc::parse_retry_after(value, later) == retry_after);
    if (const auto remaining = kc::parse_ratelimit_remaining(value)) {
      FUZZ_CHECK(value.find_first_not_of("0123456789, \t\r\n") == std::string_view::npos);
    }

    if (const auto date = kc::parse_http_date(value, now)) {
      // A date we parsed formats to IMF-fixdate and parses back to the same second.
      const auto y = static_cast<int>(year_month_day{floor<days>(*date)}.year());
      if (y >= 1700 && y <= 2200) {
        const std::string text = kc::format_http_date(system_clock::time_point{*date});
        const auto back = kc::parse_http_date(text, now);
        FUZZ_CHECK(back && *back == *date);
        FUZZ_CHECK(retry_after.has_value());
      }
    }
  }

  const kc::rate_limit_hints hints{a, b, c, d, e};
  for (const milliseconds cap : {milliseconds{0}, milliseconds{1}, milliseconds{60'000}, milliseconds::max()}) {
    const auto delay = kc::server_retry_delay(hints, now, cap);
    if (delay) FUZZ_CHECK(delay->count() >= 0 && *delay <= cap);
    // Precedence: a usable retry-after-ms decides alone.
    if (const auto ms = kc::parse_retry_after_ms(b); ms && !b.empty()) FUZZ_CHECK(delay && *delay == std::min(*ms, cap));
    // A reset alone is ignored while the quota is not spent.
    const auto remaining = kc::parse_ratelimit_remaining(d);
    if (remaining && *remaining > 0 && !kc::parse_retry_after_ms(b) && !kc::parse_retry_after(a, kc::hint_reference(hints, now))) {
      FUZZ_CHECK(!delay);
    }
    // Signalled: a hint, or a spent quota.
    FUZZ_CHECK(kc::rate_limit_signalled(hints, now) == (delay.has_value() || (remaining && *remaining == 0)));
  }
  // A usable Date is the clock absolute hints are measured from: the local clock no longer matters.
  const auto reference = kc::hint_reference(hints, now);
  if (reference != now && kc::parse_http_date(e, now) == kc::parse_http_date(e, later)) {  // RFC 850's century
    FUZZ_CHECK(kc::hint_reference(hints, later) == reference);
    FUZZ_CHECK(kc::server_retry_delay(hints, later, milliseconds::max()) == kc::server_retry_delay(hints, now, milliseconds::max()));
  }
  return 0;
}
