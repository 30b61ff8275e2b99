#include "keyrevoke/app/exchange.hpp"

#include "keyrevoke/core/redact.hpp"
#include "keyrevoke/net/connection_pool.hpp"

#include <chrono>

namespace keyrevoke::app {

std::variant<core::base_url, std::string> checked_base_url(const std::string& url, bool allow_insecure_http) {
  auto parsed = core::parse_base_url(url);
  if (auto* error = std::get_if<std::string>(&parsed)) {
    return "--base-url: " +
           (core::looks_like_secret(url) ? std::string{"not a valid URL (not shown: it looks like a key)"} : *error);
  }
  if (!std::get<core::base_url>(parsed).tls && !allow_insecure_http) {
    return std::string{"refusing an http:// base URL: the management key would cross the network in clear text "
                       "(--allow-insecure-http is for local mocks)"};
  }
  return parsed;
}

std::string make_request(std::string_view method, std::string_view target, const core::base_url& base,
                         std::string_view management_key, std::string_view json_body) {
  std::string r;
  r.append(method).append(" ").append(target).append(" HTTP/1.1\r\n");
  r.append("Host: ").append(base.host_header).append("\r\n");
  r.append("Authorization: Bearer ").append(management_key).append("\r\n");
  r.append("User-Agent: keyrevoke/" KEYREVOKE_VERSION "\r\n");
  r.append("Accept: application/json\r\n");
  if (!json_body.empty()) {
    r.append("Content-Type: application/json\r\n");
    r.append("Content-Length: ").append(std::to_string(json_body.size())).append("\r\n");
  }
  r.append("Connection: keep-alive\r\n\r\n");
  r.append(json_body);
  return r;
}

core::response_view response_view_of(const net::http_answer& a) {
  return core::response_view{
      .status = a.status,
      .body = a.body,
      .hints = {.retry_after = a.retry_after,
                .retry_after_ms = a.retry_after_ms,
                .ratelimit_reset = a.ratelimit_reset,
                .x_ratelimit_remaining = a.x_ratelimit_remaining,
                .date = a.date},
      .content_type = a.content_type,
      .body_truncated = a.body_truncated,
  };
}

core::ratelimit_fields ratelimit_fields_of(const net::http_answer& a) {
  return core::ratelimit_fields{.x_limit = a.x_ratelimit_limit,
                                .x_remaining = a.x_ratelimit_remaining,
                                .x_reset = a.ratelimit_reset,
                                .ratelimit = a.ratelimit,
                                .ratelimit_policy = a.ratelimit_policy,
                                .limit = a.ratelimit_limit,
                                .remaining = a.ratelimit_remaining,
                                .reset = a.ratelimit_reset_delta,
                                .date = a.date};
}

core::verdict classify_exchange(const net::exchange_result& result, core::millis retry_after_cap,
                                core::request_kind request, const std::optional<core::key_hash>& asked_key) {
  if (result.error) return core::classify_transport_failure(result.error, result.detail);
  core::response_view view = response_view_of(result.answer);
  view.asked_key = asked_key;
  return core::classify_response(view, std::chrono::system_clock::now(), retry_after_cap, request);
}

}  // namespace keyrevoke::app
