// Response classification: bytes 0-1 are the status (mod 1000), then up to three header values
// (Retry-After, retry-after-ms, X-RateLimit-Reset) each ending in '\n', then the body. Also feeds the
// whole input as a transport failure's detail. The answer is classified as a DELETE's, a PATCH's
// and a verifying GET's.

#include <chrono>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "keyrevoke/core/verdict.hpp"

namespace kc = keyrevoke::core;
using namespace std::chrono;

namespace {

std::string_view take_line(std::string_view& rest) {
  const std::size_t newline = rest.find('\n');
  if (newline == std::string_view::npos) {
    const std::string_view all = rest;
    rest = {};
    return all;
  }
  const std::string_view line = rest.substr(0, newline);
  rest.remove_prefix(newline + 1);
  return line;
}

void check_message(const kc::verdict& v) {
  FUZZ_CHECK(v.message.size() <= 200);
  FUZZ_CHECK(keyrevoke::fuzz::clean_utf8(v.message));
  const bool success = v.kind == kc::verdict_kind::deleted || v.kind == kc::verdict_kind::not_found ||
                       v.kind == kc::verdict_kind::disabled || v.kind == kc::verdict_kind::enabled ||
                       v.kind == kc::verdict_kind::present;
  FUZZ_CHECK(v.message.empty() == success);
  FUZZ_CHECK(!(kc::is_retryable(v.kind) && kc::aborts_run(v.kind)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const unsigned status = (unsigned{data[0]} << 8 | data[1]) % 1000;
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  kc::rate_limit_hints hints;
  hints.retry_after = take_line(rest);
  hints.retry_after_ms = take_line(rest);
  hints.ratelimit_reset = take_line(rest);
  const std::string_view body = rest;

  const system_clock::time_point now = sys_days{year{2024} / March / 10} + 12h;
  constexpr milliseconds cap{120'000};
  const kc::verdict v = kc::classify_response({status, body, hints}, now, cap);
  check_message(v);
  FUZZ_CHECK(v.http_status == status);
  if (v.retry_after) FUZZ_CHECK(v.retry_after->count() >= 0 && *v.retry_after <= cap);
  if (v.retry_after) FUZZ_CHECK(kc::is_retryable(v.kind));
  if (status == 429) FUZZ_CHECK(v.kind == kc::verdict_kind::throttled);
  if (status == 401 || status == 403) FUZZ_CHECK(v.kind == kc::verdict_kind::unauthorized);
  if (status == 404 || status == 410) FUZZ_CHECK(v.kind == kc::verdict_kind::not_found);
  if (v.kind == kc::verdict_kind::deleted) FUZZ_CHECK(status >= 200 && status < 300);

  // The same answer to a PATCH and to a verifying GET: a success only of the asked-for kind.
  for (const kc::request_kind request : {kc::request_kind::disable, kc::request_kind::enable, kc::request_kind::get}) {
    const kc::verdict r = kc::classify_response({status, body, hints}, now, cap, request);
    check_message(r);
    FUZZ_CHECK(r.kind != kc::verdict_kind::deleted);
    if (r.kind == kc::verdict_kind::disabled) FUZZ_CHECK(request == kc::request_kind::disable);
    if (r.kind == kc::verdict_kind::enabled) FUZZ_CHECK(request == kc::request_kind::enable);
    if (r.kind == kc::verdict_kind::present) FUZZ_CHECK(request == kc::request_kind::get && status >= 200 && status < 300);
    if (status == 429) FUZZ_CHECK(r.kind == kc::verdict_kind::throttled);
  }

  const std::string_view detail(reinterpret_cast<const char*>(data), size);
  for (int f = 0; f <= static_cast<int>(kc::transport_failure::other); ++f) {
    const kc::verdict t = kc::classify_transport_failure(static_cast<kc::transport_failure>(f), detail);
    check_message(t);
    FUZZ_CHECK(t.http_status == 0 && !t.retry_after);
  }
  return 0;
}
