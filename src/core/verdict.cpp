#include "keyrevoke/core/verdict.hpp"

#include <array>
#include <charconv>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "utf8.hpp"

namespace keyrevoke::core {
namespace {

namespace json = boost::json;

constexpr std::size_t max_message = 200;      // the whole verdict message
constexpr std::size_t max_server_text = 140;  // the server's own words inside it (the longest frame
                                              // around them is 51 bytes)

void append_number(std::string& out, std::size_t value) {
  char buffer[24];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  (void)ec;
  out.append(buffer, end);
}

// What a body says, from at most one bounded parse into a DOM backed by a stack buffer.
enum class body_shape { empty, too_large, not_json, json };
struct body_facts {
  body_shape shape = body_shape::empty;
  bool deleted = false;  // {"deleted": true}
  std::optional<bool> data_disabled;  // {"data": {"disabled": bool, ...}}
  std::string words;     // the API's own error text, sanitised: error.message, a string "error",
                         // or a top-level "message"
};

body_facts inspect_body(std::string_view body) {
  body_facts facts;
  if (body.empty()) return facts;
  if (body.size() > max_inspected_body) {
    facts.shape = body_shape::too_large;
    return facts;
  }
  unsigned char buffer[4096];
  json::monotonic_resource resource(buffer, sizeof buffer);
  std::error_code ec;
  const json::value doc = json::parse(body, ec, json::storage_ptr(&resource));
  if (ec) {
    facts.shape = body_shape::not_json;
    return facts;
  }
  facts.shape = body_shape::json;
  const json::object* object = doc.if_object();
  if (object == nullptr) return facts;
  if (const json::value* deleted = object->if_contains("deleted")) {
    facts.deleted = deleted->is_bool() && deleted->get_bool();
  }
  if (const json::value* data = object->if_contains("data")) {
    if (const json::object* key = data->if_object()) {
      if (const json::value* disabled = key->if_contains("disabled"); disabled && disabled->is_bool()) {
        facts.data_disabled = disabled->get_bool();
      }
    }
  }
  std::string_view found;
  if (const json::value* error = object->if_contains("error")) {
    if (const json::object* inner = error->if_object()) {
      if (const json::value* message = inner->if_contains("message"); message && message->is_string()) {
        found = message->get_string();
      }
    } else if (error->is_string()) {
      found = error->get_string();
    }
  }
  if (found.empty()) {
    if (const json::value* message = object->if_contains("message"); message && message->is_string()) {
      found = message->get_string();
    }
  }
  append_sanitized(facts.words, found, max_server_text);
  return facts;
}

// "<non-JSON body, 1234 bytes>" and friends.
void describe_body(std::string& out, std::string_view body, body_shape shape) {
  switch (shape) {
    case body_shape::empty: out.append("<empty body>"); return;
    case body_shape::too_large: out.append("<body too large to inspect, "); break;
    case body_shape::not_json: out.append("<non-JSON body, "); break;
    case body_shape::json: out.append("<JSON body without an error message, "); break;
  }
  append_number(out, body.size());
  out.append(body.size() == 1 ? " byte>" : " bytes>");
}

void append_status(std::string& out, unsigned status) {
  out.append("HTTP ");
  append_number(out, status);
  out.append(": ");
}

// "HTTP 500: Internal error" or "HTTP 502: <non-JSON body, 1234 bytes>".
std::string http_message(unsigned status, std::string_view body, const body_facts& facts) {
  std::string out;
  append_status(out, status);
  if (!facts.words.empty()) {
    out.append(facts.words);
  } else {
    describe_body(out, body, facts.shape);
  }
  return out;
}

constexpr std::array<std::string_view, 13> kind_names = {
    "deleted", "not_found", "unauthorized", "throttled", "server_error", "client_error",
    "network_error", "timeout", "tls_error", "disabled", "enabled", "present", "not_api"};

// What a 2xx must show, for the message when it does not.
std::string_view expected_body(request_kind request) noexcept {
  switch (request) {
    case request_kind::disable: return "not a key with \"disabled\": true ";
    case request_kind::enable: return "not a key with \"disabled\": false ";
    case request_kind::get: return "not {\"data\": key} ";
    case request_kind::delete_key: break;
  }
  return "not {\"deleted\": true} ";
}

}  // namespace

std::string_view to_string(verdict_kind kind) noexcept {
  const auto index = static_cast<std::size_t>(kind);
  return index < kind_names.size() ? kind_names[index] : "unknown";
}

void append_sanitized(std::string& out, std::string_view text, std::size_t max_bytes) {
  constexpr std::string_view ellipsis = "\xE2\x80\xA6";
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();

  // First the length it would have, to know whether it must be cut at all.
  std::size_t full = 0;
  for (std::size_t i = 0; i < n;) {
    const detail::utf8_step step = detail::utf8_next(p + i, n - i);
    full += step.valid ? step.length : 3;
    i += step.length;
  }
  const std::size_t budget = full <= max_bytes ? full : (max_bytes >= ellipsis.size() ? max_bytes - ellipsis.size() : 0);

  std::size_t written = 0;
  for (std::size_t i = 0; i < n;) {
    const detail::utf8_step step = detail::utf8_next(p + i, n - i);
    const std::size_t size = step.valid ? step.length : 3;
    if (written + size > budget) break;
    if (!step.valid) {
      out.append(detail::replacement_character);
    } else if (step.length == 1 && (p[i] < 0x20 || p[i] == 0x7f)) {
      out.push_back(' ');
    } else {
      out.append(text.data() + i, step.length);
    }
    written += size;
    i += step.length;
  }
  if (full > max_bytes && max_bytes >= ellipsis.size()) out.append(ellipsis);
}

verdict classify_response(const response_view& response, std::chrono::system_clock::time_point now,
                          std::chrono::milliseconds retry_after_cap, request_kind request) {
  const unsigned status = response.status;
  verdict v{verdict_kind::server_error, status, {}, std::nullopt};

  if (status >= 200 && status < 300) {
    const bool patch = request == request_kind::disable || request == request_kind::enable;
    if (status == 204 && request != request_kind::get) {
      v.kind = request == request_kind::disable  ? verdict_kind::disabled
               : request == request_kind::enable ? verdict_kind::enabled
                                                 : verdict_kind::deleted;
      return v;
    }
    const body_facts facts = inspect_body(response.body);
    if (request == request_kind::delete_key && facts.deleted) {
      v.kind = verdict_kind::deleted;
      return v;
    }
    if (patch && facts.data_disabled && *facts.data_disabled == (request == request_kind::disable)) {
      v.kind = request == request_kind::disable ? verdict_kind::disabled : verdict_kind::enabled;
      return v;
    }
    if (request == request_kind::get && facts.data_disabled) {
      v.kind = verdict_kind::present;
      v.key_disabled = *facts.data_disabled;
      return v;
    }
    // The key may or may not be in the asked-for state: retrying is safe (a 404 then means done).
    append_status(v.message, status);
    v.message.append("unexpected body, ").append(expected_body(request));
    if (facts.shape == body_shape::json && !facts.words.empty()) {
      v.message.append("(").append(facts.words).append(")");
    } else {
      describe_body(v.message, response.body, facts.shape);
    }
    return v;
  }
  if (status == 404 || status == 410) {
    v.kind = verdict_kind::not_found;
    return v;
  }
  if (status >= 300 && status < 400) {
    v.kind = verdict_kind::client_error;
    append_status(v.message, status);
    v.message.append("redirect not followed (check --base-url)");
    return v;
  }

  v.message = http_message(status, response.body, inspect_body(response.body));
  const auto hint = server_retry_delay(response.hints, now, retry_after_cap);
  if (status == 401 || status == 403) {
    v.kind = verdict_kind::unauthorized;
  } else if (status == 429 || (status == 503 && hint)) {
    v.kind = verdict_kind::throttled;
    v.retry_after = hint;
  } else if (status >= 400 && status < 500 && status != 408) {
    v.kind = verdict_kind::client_error;
  } else {
    // 408, 5xx, and statuses no server should send (1xx as a final answer, 600+): retry.
    v.kind = verdict_kind::server_error;
    v.retry_after = hint;
  }
  return v;
}

verdict classify_transport_failure(transport_failure failure, std::string_view detail) {
  verdict v{verdict_kind::network_error, 0, {}, std::nullopt};
  std::string_view what;
  switch (failure) {
    case transport_failure::connect_failed: what = "connect failed"; break;
    case transport_failure::connection_reset: what = "connection reset"; break;
    case transport_failure::eof_before_response: what = "connection closed before the response"; break;
    case transport_failure::torn_response: what = "response cut off"; break;
    case transport_failure::timeout:
      v.kind = verdict_kind::timeout;
      what = "timed out";
      break;
    case transport_failure::tls_untrusted:
      v.kind = verdict_kind::tls_error;
      what = "TLS certificate not trusted";
      break;
    case transport_failure::tls_handshake_failed:
      v.kind = verdict_kind::tls_error;
      what = "TLS handshake failed";
      break;
    case transport_failure::body_too_large:
      v.kind = verdict_kind::server_error;
      what = "response body too large";
      break;
    case transport_failure::other: what = "network error"; break;
  }
  v.message.append(what);
  if (!detail.empty()) {
    v.message.append(": ");
    append_sanitized(v.message, detail, max_message - v.message.size());
  }
  return v;
}

}  // namespace keyrevoke::core
