// The advertised quota (core/ratelimit_fields) and the pacer it feeds (core/quota_pacer). The input is
// up to nine header values separated by '\n', in ratelimit_fields' order (X-RateLimit-Limit,
// -Remaining, -Reset, RateLimit, RateLimit-Policy, RateLimit-Limit, -Remaining, -Reset, Date); its
// first 4 bytes also move "now" around (within +-2^31 seconds of 2024).

#include <array>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "fuzz_check.hpp"
#include "keyrevoke/core/quota_pacer.hpp"
#include "keyrevoke/core/ratelimit_fields.hpp"

namespace kc = keyrevoke::core;
using namespace std::chrono;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::int32_t shift = 0;
  if (size >= 4) std::memcpy(&shift, data, sizeof shift);
  const system_clock::time_point now =
      sys_days{year{2024} / March / 10} + seconds{shift} + microseconds{size};
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  std::array<std::string_view, 9> v{};
  for (auto& value : v) {
    const std::size_t newline = rest.find('\n');
    value = rest.substr(0, newline);
    rest = newline == std::string_view::npos ? std::string_view{} : rest.substr(newline + 1);
  }
  const kc::ratelimit_fields fields{v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8]};
  const auto seen = kc::read_quota(fields, now);
  // Deterministic, and never a contradiction passed on.
  FUZZ_CHECK(kc::read_quota(fields, now) == seen);
  if (seen) {
    FUZZ_CHECK(seen->reset_in.count() >= 0);
    FUZZ_CHECK(seen->limit == 0 || seen->remaining <= seen->limit);
    FUZZ_CHECK(seen->window.count() == 0 || seen->reset_in <= seen->window);
  }
  // Without X-RateLimit-Reset (the only absolute form), the local clock does not matter.
  if (v[2].empty()) FUZZ_CHECK(kc::read_quota(fields, now + hours{5}) == seen);

  // The pacer never answers a negative or non-finite rate, whatever it is fed.
  if (seen) {
    kc::quota_pacer pacer;
    const kc::steady_time t0{hours{1}};
    for (int i = 0; i < 4; ++i) {
      const auto t = t0 + milliseconds{25 * i};
      pacer.on_observation(*seen, t, static_cast<double>(i), 100.0 * i);
      const auto rate = pacer.rate(t);
      FUZZ_CHECK(rate.has_value());
      FUZZ_CHECK(std::isfinite(*rate) && *rate >= 0.0);
    }
  }
  return 0;
}
