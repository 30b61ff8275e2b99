// Retry-After, retry-after-ms, X-RateLimit-Reset and HTTP-dates. The input is up to three header
// values separated by '\n'; the first 8 bytes also move "now" around (within +-2^31 seconds of 2024).

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
  const std::string_view c = second == std::string_view::npos ? std::string_view{} : rest.substr(second + 1);

  for (const std::string_view value : {input, a, b, c}) {
    const auto retry_after = kc::parse_retry_after(value, now);
    if (retry_after) FUZZ_CHECK(retry_after->count() >= 0);
    const auto ms = kc::parse_retry_after_ms(value);
    if (ms) FUZZ_CHECK(ms->count() >= 0);
    const auto reset = kc::parse_ratelimit_reset(value, now);
    if (reset) FUZZ_CHECK(reset->count() >= 0);

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

  for (const milliseconds cap : {milliseconds{0}, milliseconds{1}, milliseconds{60'000}, milliseconds::max()}) {
    const auto delay = kc::server_retry_delay({a, b, c}, now, cap);
    if (delay) FUZZ_CHECK(delay->count() >= 0 && *delay <= cap);
    // Precedence: a usable retry-after-ms decides alone.
    if (const auto ms = kc::parse_retry_after_ms(b); ms && !b.empty()) FUZZ_CHECK(delay && *delay == std::min(*ms, cap));
  }
  return 0;
}
