// Response classification. Input: bytes 0-1 are the status (mod 1000), byte 2 holds flags (bit 0: the
// body was truncated), then six header values each ending in '\n' (Retry-After, retry-after-ms,
// X-RateLimit-Reset, X-RateLimit-Remaining, Date, Content-Type), then the body. Also feeds the whole
// input as a transport failure's detail. The answer is classified as a DELETE's, a PATCH's and a
// verifying GET's, and checked against the rules of classify_response (verdict.hpp), each restated
// here from what the answer shows rather than from the classifier's own code.

#include <chrono>
#include <cstdint>
#include <string>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "fuzz_check.hpp"
#include "keyrevoke/core/verdict.hpp"

namespace kc = keyrevoke::core;
using namespace std::chrono;
using vk = kc::verdict_kind;

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

bool is_success(vk kind) {
  return kind == vk::deleted || kind == vk::not_found || kind == vk::disabled || kind == vk::enabled ||
         kind == vk::present;
}

void check_message(const kc::verdict& v) {
  FUZZ_CHECK(v.message.size() <= 200);
  FUZZ_CHECK(keyrevoke::fuzz::clean_utf8(v.message));
  FUZZ_CHECK(v.message.empty() == is_success(v.kind));
  FUZZ_CHECK(!(kc::is_retryable(v.kind) && kc::aborts_run(v.kind)));
}

// {"deleted": true} at the top of a JSON object, parsed here on its own.
bool shows_deleted(std::string_view body) {
  if (body.size() > kc::max_inspected_body) return false;
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(body, ec);
  if (ec || !doc.is_object()) return false;
  const boost::json::value* deleted = doc.as_object().if_contains("deleted");
  return deleted != nullptr && deleted->is_bool() && deleted->get_bool();
}

// The rules every request kind shares.
void check_common(const kc::verdict& v, const kc::response_view& r, system_clock::time_point now, milliseconds cap) {
  const unsigned status = r.status;
  check_message(v);
  FUZZ_CHECK(v.http_status == status);
  if (v.retry_after) {
    FUZZ_CHECK(v.retry_after->count() >= 0 && *v.retry_after <= cap);
    FUZZ_CHECK(v.kind == vk::throttled || v.kind == vk::server_error);
    FUZZ_CHECK(v.retry_after == kc::server_retry_delay(r.hints, now, cap));
  }
  // Throttling by status and header fields, whatever the body.
  const bool signalled = kc::rate_limit_signalled(r.hints, now);
  if (status == 429) FUZZ_CHECK(v.kind == vk::throttled);
  if (status == 403) FUZZ_CHECK(v.kind == (signalled ? vk::throttled : vk::unauthorized));
  if (status == 503) FUZZ_CHECK(v.kind == (signalled ? vk::throttled : vk::server_error));
  if (status == 401) FUZZ_CHECK(v.kind == vk::unauthorized);
  if (v.kind == vk::throttled) {
    FUZZ_CHECK(status == 429 || status == 403 || status == 503);
    FUZZ_CHECK(v.retry_after == kc::server_retry_delay(r.hints, now, cap));
  }
  if (v.kind == vk::unauthorized) FUZZ_CHECK(status == 401 || status == 403);
  // A truncated body proves nothing.
  if (r.body_truncated) FUZZ_CHECK(!is_success(v.kind));
  // "No such key" only in the API's words.
  if (v.kind == vk::not_found) {
    FUZZ_CHECK((status == 404 || status == 410) && !r.body_truncated && kc::has_api_error_shape(r.body, status));
  }
  if (status == 404 || status == 410) {
    if (r.body_truncated) FUZZ_CHECK(v.kind == vk::server_error);
    else FUZZ_CHECK(v.kind == (kc::has_api_error_shape(r.body, status) ? vk::not_found : vk::not_api));
  }
  if (v.kind == vk::not_api) {
    FUZZ_CHECK(status == 404 || status == 410 || status == 204);
    FUZZ_CHECK(v.message.ends_with("check --base-url"));
  }
  if (status == 204) FUZZ_CHECK(v.kind == (r.body_truncated ? vk::server_error : vk::not_api));
  if (is_success(v.kind) && v.kind != vk::not_found) FUZZ_CHECK(status >= 200 && status < 300 && status != 204);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const unsigned status = (unsigned{data[0]} << 8 | data[1]) % 1000;
  const bool truncated = (data[2] & 1) != 0;
  std::string_view rest(reinterpret_cast<const char*>(data + 3), size - 3);
  kc::response_view response;
  response.status = status;
  response.body_truncated = truncated;
  response.hints.retry_after = take_line(rest);
  response.hints.retry_after_ms = take_line(rest);
  response.hints.ratelimit_reset = take_line(rest);
  response.hints.x_ratelimit_remaining = take_line(rest);
  response.hints.date = take_line(rest);
  response.content_type = take_line(rest);
  response.body = rest;

  const system_clock::time_point now = sys_days{year{2024} / March / 10} + 12h;
  constexpr milliseconds cap{120'000};
  const kc::verdict v = kc::classify_response(response, now, cap);
  check_common(v, response, now, cap);
  if (v.kind == vk::deleted) FUZZ_CHECK(!truncated && shows_deleted(response.body));
  if (status >= 200 && status < 300 && status != 204 && !truncated && shows_deleted(response.body)) {
    FUZZ_CHECK(v.kind == vk::deleted);
  }
  FUZZ_CHECK(v.kind != vk::disabled && v.kind != vk::enabled && v.kind != vk::present);

  // Absolute hints are measured on the server's clock: with a usable Date, the local clock does not
  // move the hint.
  const system_clock::time_point later = now + hours{1};
  if (kc::hint_reference(response.hints, now) != now) {
    FUZZ_CHECK(kc::hint_reference(response.hints, later) == kc::hint_reference(response.hints, now));
    FUZZ_CHECK(kc::server_retry_delay(response.hints, later, cap) == kc::server_retry_delay(response.hints, now, cap));
    FUZZ_CHECK(kc::classify_response(response, later, cap).retry_after == v.retry_after);
  }

  // The same answer to a PATCH and to a verifying GET: a success only of the asked-for kind.
  for (const kc::request_kind request : {kc::request_kind::disable, kc::request_kind::enable, kc::request_kind::get}) {
    const kc::verdict r = kc::classify_response(response, now, cap, request);
    check_common(r, response, now, cap);
    FUZZ_CHECK(r.kind != vk::deleted);
    if (r.kind == vk::disabled) FUZZ_CHECK(request == kc::request_kind::disable);
    if (r.kind == vk::enabled) FUZZ_CHECK(request == kc::request_kind::enable);
    if (r.kind == vk::present) FUZZ_CHECK(request == kc::request_kind::get);
    // Outside the 2xx the request does not matter.
    if (status < 200 || status >= 300) FUZZ_CHECK(r.kind == v.kind && r.message == v.message);
  }

  const std::string_view detail(reinterpret_cast<const char*>(data), size);
  for (int f = 0; f <= static_cast<int>(kc::errc::other) + 1; ++f) {  // 0 and past the end: not in errc
    const kc::verdict t = kc::classify_transport_failure(static_cast<kc::errc>(f), detail);
    check_message(t);
    FUZZ_CHECK(t.http_status == 0 && !t.retry_after);
    FUZZ_CHECK(kc::is_retryable(t.kind) || kc::aborts_run(t.kind));  // never a success
  }
  return 0;
}
