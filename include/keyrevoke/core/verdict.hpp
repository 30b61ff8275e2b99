#pragma once
// Classifies one answer (or transport failure) into what the pipeline does next. Pure.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "keyrevoke/core/action.hpp"
#include "keyrevoke/core/retry_after.hpp"

namespace keyrevoke::core {

enum class verdict_kind {
  deleted,        // 200 with {"deleted":true}, or 204
  not_found,      // 404, 410
  unauthorized,   // 401, 403: abort the run
  throttled,      // 429 (and 503 WITH a usable Retry-After/ratelimit hint): retry after hint or backoff;
                  // feeds the rate controller
  server_error,   // other 5xx, 408, 1xx/6xx+, and a 2xx whose body is not {"deleted": true}
                  // ("unexpected 200 body"), a body over the limit: retryable
  client_error,   // 400 and other 4xx, 3xx (never follow redirects): not retryable
  network_error,  // connect refused, reset, eof, torn response: retryable
  timeout,        // no answer within the timeout: retryable
  tls_error,      // certificate untrusted / hostname mismatch / handshake failure: abort the run
  disabled,       // PATCH {"disabled":true}: 2xx whose body shows the key disabled (or 204)
  enabled,        // PATCH {"disabled":false}: 2xx whose body shows the key enabled (or 204)
  present,        // GET /keys/{hash}: 200 with the key; verdict::key_disabled says its state
  not_api,        // an answer that does not look like the API's (a wrong route, a gateway's page):
                  // proves nothing; retryable
};

std::string_view to_string(verdict_kind kind) noexcept;

struct verdict {
  verdict_kind kind;
  unsigned http_status;  // 0 if no HTTP answer
  // For the report's "error": "HTTP 500: Internal error" using the body's error.message when the body
  // is the API's error JSON, else a short description ("HTTP 502: <non-JSON body, 1234 bytes>");
  // empty for deleted/not_found. Printable, valid UTF-8, at most ~200 bytes.
  std::string message;
  std::optional<std::chrono::milliseconds> retry_after;  // server hint, capped (retryable kinds only)
  bool key_disabled = false;  // present: the key's "disabled" field
};

struct response_view {
  unsigned status;
  std::string_view body;
  rate_limit_hints hints;
};

// Never throws on any body (bytes, size): bodies over max_inspected_body are not parsed.
inline constexpr std::size_t max_inspected_body = std::size_t{64} * 1024;
// `request` says what a 2xx must show: {"deleted": true} for a DELETE, {"data": {"disabled": x}}
// with the asked-for x for a PATCH, {"data": {...,"disabled": bool}} for a GET. A 2xx that shows
// anything else is a server_error (retryable: the next answer, or a 404, settles it).
verdict classify_response(const response_view& response, std::chrono::system_clock::time_point now,
                          std::chrono::milliseconds retry_after_cap,
                          request_kind request = request_kind::delete_key);

enum class transport_failure {
  connect_failed,
  connection_reset,
  eof_before_response,
  torn_response,
  timeout,
  tls_untrusted,          // certificate not trusted, or hostname mismatch
  tls_handshake_failed,
  body_too_large,         // the answer's body exceeded the parser's limit: server_error
  other,
};
verdict classify_transport_failure(transport_failure failure, std::string_view detail);

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
