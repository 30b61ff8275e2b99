#pragma once
// Classifies one answer (or transport failure) into what the pipeline does next. Pure.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "keyrevoke/core/action.hpp"
#include "keyrevoke/core/errc.hpp"
#include "keyrevoke/core/key_hash.hpp"
#include "keyrevoke/core/retry_after.hpp"

namespace keyrevoke::core {

// What one answer (or transport failure) proves. A success kind is claimed only from what the API's
// documented answers show (../shared/API.md): a status code alone proves nothing.
enum class verdict_kind {
  deleted,        // DELETE: a 2xx whose body is {"deleted": true} (whole, not truncated)
  not_found,      // 404 (or 410) whose body has the API's error shape with that code: no such key
  unauthorized,   // 401; 403 without any rate-limit hint: abort the run
  throttled,      // 429 whatever the body; 403 or 503 with a rate-limit hint (rate_limit_signalled):
                  // retry after the hint or the backoff; feeds the rate controller
  server_error,   // other 5xx, 408, 1xx/6xx+, a 2xx whose body does not show the asked-for result
                  // ("unexpected body"), a 2xx/404/410 whose body was truncated: retryable
  client_error,   // 400 and other 4xx, 3xx (never follow redirects): not retryable
  network_error,  // connect refused, reset, eof, torn response: retryable
  timeout,        // no answer within the timeout: retryable
  tls_error,      // certificate untrusted / hostname mismatch / handshake failure: abort the run
  disabled,       // PATCH {"disabled":true}: 2xx whose body shows the key disabled
  enabled,        // PATCH {"disabled":false}: 2xx whose body shows the key enabled
  present,        // GET /keys/{hash}: 2xx with the key; verdict::key_disabled says its state
  not_api,        // an answer the key API does not give: a 404/410 without its error shape (a wrong
                  // route, a gateway or CDN page), a 204. Retryable; the message says "check --base-url"
};

std::string_view to_string(verdict_kind kind) noexcept;

struct verdict {
  verdict_kind kind;
  unsigned http_status;  // 0 if no HTTP answer
  // For the report's "error": "HTTP 500: Internal error" using the body's error.message when the body
  // is the API's error JSON, else a short description ("HTTP 502: <non-JSON body, 1234 bytes>");
  // empty for deleted/not_found/disabled/enabled/present. Printable, valid UTF-8, at most 200 bytes.
  std::string message;
  // The server's hint (server_retry_delay), capped, 0 kept: the retry policy applies max(hint, backoff).
  // Only on throttled and server_error.
  std::optional<std::chrono::milliseconds> retry_after;
  bool key_disabled = false;  // present: the key's "disabled" field
  // unauthorized: the 401/403 did not carry the API's error body (a gateway's or proxy's page), so it
  // is no proof that the API rejected the management key (the message then says so).
  bool gateway_page = false;
  // network_error: the exchange met an answer no request asked for (errc::unrequested_answer): the
  // server's answers can no longer be matched to requests (run_scheduler stops the run).
  bool unrequested_answer = false;
};

// One HTTP answer as the pool returns it. Views: they must outlive the call.
struct response_view {
  unsigned status = 0;
  std::string_view body{};  // the whole body, or its first bytes when body_truncated
  rate_limit_hints hints{};
  std::string_view content_type{};  // Content-Type, empty if absent (only for messages)
  bool body_truncated = false;      // the body exceeded the pool's limit and was cut: it proves nothing
  // The hash the request named (PATCH and GET of /keys/{hash}); none: not checked. A 200 whose
  // {"data": key} names another hash, or none, describes no key of ours: it proves nothing.
  std::optional<key_hash> asked_key{};
};

// Never throws on any body (bytes, size): bodies over max_inspected_body are not parsed.
inline constexpr std::size_t max_inspected_body = std::size_t{64} * 1024;

// The API's error shape (../shared/API.md, "Every error body has the same shape"): a JSON object whose
// member "error" is an object with an integer "code" equal to `status` and a string "message"; other
// members ("metadata", "modelgates_metadata", "user_id", absent, null or not) are not looked at. An
// answer without it did not come from the key API. False for bodies over max_inspected_body.
bool has_api_error_shape(std::string_view body, unsigned status);

// The rules, in order (each claims only what the answer shows):
//  1. 429 => throttled, whatever the body (also truncated or unreadable). 403 or 503 with
//     rate_limit_signalled(hints) => throttled ("secondary rate limit" for a 403). THROTTLING.md
//     pitfall 8: throttling is recognised by status and header fields, not by the body.
//  2. A 2xx, 404 or 410 whose body was truncated => server_error "body too large to inspect".
//  3. 2xx: `request` says what the body must show: {"deleted": true} for a DELETE, {"data":
//     {"disabled": x}} with the asked-for x for a PATCH, {"data": {...,"disabled": bool}} for a GET;
//     with response.asked_key set, the key's "hash" must be that one (another key, or none, proves
//     nothing about ours).
//     A 204 is not the API's answer (it answers 200 with a body) => not_api. Anything else =>
//     server_error "unexpected body" (retryable: the next answer, or a 404, settles it).
//  4. 404/410 with has_api_error_shape => not_found; without => not_api (content type, size and a
//     sanitised snippet of at most 60 bytes in the message).
//  5. 3xx => client_error (redirects are not followed). 401, 403 => unauthorized (the message says so
//     when the body lacks the API's error shape: a gateway may be answering). 408 => server_error;
//     other 4xx => client_error; 5xx, 1xx and 600+ => server_error (with the server's hint, if any).
// Hints are measured by server_retry_delay (absolute forms from the response's Date), capped at
// retry_after_cap.
verdict classify_response(const response_view& response, std::chrono::system_clock::time_point now,
                          std::chrono::milliseconds retry_after_cap,
                          request_kind request = request_kind::delete_key);

// An exchange that ended without a complete answer (an errc from net::connection_pool): timeout is
// verdict_kind::timeout, tls_untrusted and tls_handshake_failed are tls_error (they abort the run), every
// other one is network_error. The message is the error's message, then ": " and detail (sanitised).
verdict classify_transport_failure(std::error_code failure, std::string_view detail);

constexpr bool is_retryable(verdict_kind k) noexcept {
  return k == verdict_kind::throttled || k == verdict_kind::server_error || k == verdict_kind::network_error ||
         k == verdict_kind::timeout || k == verdict_kind::not_api;
}
constexpr bool aborts_run(verdict_kind k) noexcept {
  return k == verdict_kind::unauthorized || k == verdict_kind::tls_error;
}

// Makes text safe for a one-line message: control characters become ' ', invalid UTF-8 becomes
// U+FFFD, and the result is cut (at a character boundary, with "…") to at most max_bytes bytes.
void append_sanitized(std::string& out, std::string_view text, std::size_t max_bytes);

}  // namespace keyrevoke::core
