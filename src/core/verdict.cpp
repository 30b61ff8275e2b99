#include "keyrevoke/core/verdict.hpp"

#include <array>
#include <charconv>
#include <cstdint>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "utf8.hpp"

namespace keyrevoke::core {
namespace {

namespace json = boost::json;

constexpr std::size_t max_message = 200;      // the whole verdict message
constexpr std::size_t max_server_text = 140;  // the server's own words inside it (frames around them
                                              // up to 60 bytes; the longer ones budget for themselves)

void append_number(std::string& out, std::size_t value) {
  char buffer[24];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  (void)ec;
  out.append(buffer, end);
}

// What a body says, from at most one bounded parse into a DOM backed by a stack buffer.
enum class body_shape { empty, truncated, too_large, not_json, json };
struct body_facts {
  body_shape shape = body_shape::empty;
  bool deleted = false;               // {"deleted": true}
  std::optional<bool> data_disabled;  // {"data": {"disabled": bool, ...}}
  enum class key_identity { absent, same, other };
  key_identity data_hash = key_identity::absent;  // {"data": {"hash": ...}} against the hash asked for
  bool api_error = false;             // has_api_error_shape for the answer's status
  std::string words;  // the server's own error text, sanitised: error.message, a string "error", or
                      // a top-level "message"
};

// The API's error shape (../shared/API.md): {"error": {"code": <status>, "message": "..."}, ...}.
bool api_error_shape(const json::object& object, unsigned status) {
  const json::value* error = object.if_contains("error");
  const json::object* inner = error != nullptr ? error->if_object() : nullptr;
  if (inner == nullptr) return false;
  const json::value* code = inner->if_contains("code");
  const json::value* message = inner->if_contains("message");
  if (code == nullptr || message == nullptr || !message->is_string()) return false;
  if (code->is_int64()) {
    return code->get_int64() >= 0 && static_cast<std::uint64_t>(code->get_int64()) == status;
  }
  if (code->is_uint64()) return code->get_uint64() == status;
  return false;  // 404.0, "404", null: not an integer
}

body_facts inspect_body(std::string_view body, bool truncated, unsigned status, std::size_t words_budget,
                        const std::optional<key_hash>& asked_key = std::nullopt) {
  body_facts facts;
  if (truncated) {
    facts.shape = body_shape::truncated;
    return facts;
  }
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
  facts.api_error = api_error_shape(*object, status);
  if (const json::value* deleted = object->if_contains("deleted")) {
    // Only an unambiguous {"deleted": true}: the parse keeps one of duplicate names, so a body naming
    // "deleted" twice ({"deleted": false, "deleted": true}) or carrying an error beside it is no proof
    // (the seventh trial had both claimed deleted).
    const auto named = [&body](std::string_view name) {
      std::size_t n = 0;
      for (std::size_t at = body.find(name); at != std::string_view::npos; at = body.find(name, at + name.size())) ++n;
      return n;
    };
    facts.deleted = deleted->is_bool() && deleted->get_bool() && named("\"deleted\"") == 1 &&
                    !object->contains("error");
  }
  if (const json::value* data = object->if_contains("data")) {
    if (const json::object* key = data->if_object()) {
      if (const json::value* disabled = key->if_contains("disabled"); disabled && disabled->is_bool()) {
        facts.data_disabled = disabled->get_bool();
      }
      if (const json::value* hash = key->if_contains("hash"); hash && hash->is_string()) {
        const auto shown = parse_key_hash(hash->get_string());  // 64 hex digits, either case
        facts.data_hash = shown && shown == asked_key ? body_facts::key_identity::same : body_facts::key_identity::other;
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
  append_sanitized(facts.words, found, words_budget);
  return facts;
}

// "<non-JSON body, 1234 bytes>" and friends.
void describe_body(std::string& out, std::string_view body, body_shape shape) {
  switch (shape) {
    case body_shape::empty: out.append("<empty body>"); return;
    case body_shape::truncated:
      if (body.empty()) {
        out.append("<body too large to inspect>");
        return;
      }
      out.append("<body too large to inspect, over ");
      break;
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

// The server's words, else a description of the body.
void append_words_or_body(std::string& out, std::string_view body, const body_facts& facts) {
  if (!facts.words.empty()) {
    out.append(facts.words);
  } else {
    describe_body(out, body, facts.shape);
  }
}

// "HTTP 404: not the API's answer (text/html, 153 bytes: "<html>…"): check --base-url". At most
// 32 + 42 + 28 + 62 + 19 bytes: within max_message.
std::string not_api_message(unsigned status, const response_view& response) {
  std::string out;
  append_status(out, status);
  out.append("not the API's answer (");
  // The media type without its parameters ("text/html; charset=utf-8" => "text/html").
  std::string_view media_type = response.content_type.substr(0, response.content_type.find(';'));
  const std::size_t first = media_type.find_first_not_of(" \t");
  media_type = first == std::string_view::npos ? std::string_view{}
                                               : media_type.substr(first, media_type.find_last_not_of(" \t") - first + 1);
  if (!media_type.empty()) {
    append_sanitized(out, media_type, 40);
    out.append(", ");
  }
  if (response.body.empty()) {
    out.append("empty body");
  } else {
    if (response.body_truncated) out.append("over ");
    append_number(out, response.body.size());
    out.append(response.body.size() == 1 ? " byte: \"" : " bytes: \"");
    // A snippet needs no more than its first 60 bytes; an invalid sequence at the cut costs nothing.
    append_sanitized(out, response.body.substr(0, 64), 60);
    out.append("\"");
  }
  out.append("): check --base-url");
  return out;
}

constexpr std::array<std::string_view, 13> kind_names = {
    "deleted", "not_found", "unauthorized", "throttled", "server_error", "client_error", "network_error",
    "timeout", "tls_error", "disabled", "enabled", "present", "not_api"};

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

// What the API answers instead of a 204.
std::string_view api_success(request_kind request) noexcept {
  return request == request_kind::delete_key ? "200 with {\"deleted\": true}" : "200 with {\"data\": key}";
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

bool has_api_error_shape(std::string_view body, unsigned status) {
  return inspect_body(body, false, status, 0).api_error;
}

verdict classify_response(const response_view& response, std::chrono::system_clock::time_point now,
                          std::chrono::milliseconds retry_after_cap, request_kind request) {
  const unsigned status = response.status;
  verdict v{verdict_kind::server_error, status, {}, std::nullopt};

  // 1. Throttling, by status and header fields whatever the body.
  if (status == 429 || ((status == 403 || status == 503) && rate_limit_signalled(response.hints, now))) {
    v.kind = verdict_kind::throttled;
    v.retry_after = server_retry_delay(response.hints, now, retry_after_cap);
    if (status == 403) {
      v.message = "HTTP 403 (secondary rate limit): ";
    } else {
      append_status(v.message, status);
    }
    append_words_or_body(v.message, response.body,
                         inspect_body(response.body, response.body_truncated, status, max_server_text));
    return v;
  }

  const bool success = status >= 200 && status < 300;
  // 2. A cut body shows nothing: neither the asked-for result nor the API's "no such key".
  if (response.body_truncated && (success || status == 404 || status == 410)) {
    append_status(v.message, status);
    v.message.append("body too large to inspect");
    if (!response.body.empty()) {
      v.message.append(" (over ");
      append_number(v.message, response.body.size());
      v.message.append(" bytes)");
    }
    return v;
  }

  // 3. A 2xx proves what its body shows.
  if (success) {
    if (status == 204) {
      v.kind = verdict_kind::not_api;
      append_status(v.message, status);
      v.message.append("not the API's answer (it answers ")
          .append(api_success(request))
          .append("): check --base-url");
      return v;
    }
    // "HTTP 200: unexpected body, not ... (words)": the words get what the frame leaves.
    const std::size_t frame = 10 + 17 + expected_body(request).size() + 2;
    const body_facts facts = inspect_body(response.body, false, status, max_message - frame, response.asked_key);
    const bool patch = request == request_kind::disable || request == request_kind::enable;
    if ((patch || request == request_kind::get) && response.asked_key && facts.data_disabled &&
        facts.data_hash != body_facts::key_identity::same) {
      // A key, but not shown to be the one asked for: no claim about ours (retryable).
      append_status(v.message, status);
      v.message.append(facts.data_hash == body_facts::key_identity::other
                           ? "unexpected body, the answer describes another key (its \"hash\" is not the one asked for)"
                           : "unexpected body, the answer's key has no \"hash\": it is not shown to be the one asked for");
      return v;
    }
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

  // 4. "No such key" only in the API's own words.
  if (status == 404 || status == 410) {
    if (has_api_error_shape(response.body, status)) {
      v.kind = verdict_kind::not_found;
    } else {
      v.kind = verdict_kind::not_api;
      v.message = not_api_message(status, response);
    }
    return v;
  }

  // 5. Everything else.
  if (status >= 300 && status < 400) {
    v.kind = verdict_kind::client_error;
    append_status(v.message, status);
    v.message.append("redirect not followed (check --base-url)");
    return v;
  }
  if (status == 401 || status == 403) {
    v.kind = verdict_kind::unauthorized;
    constexpr std::string_view not_api_shape = " (not the API's error shape: a gateway in front of it?): ";
    const body_facts facts =
        inspect_body(response.body, response.body_truncated, status, max_message - 8 - not_api_shape.size());
    if (facts.api_error) {
      append_status(v.message, status);
    } else {
      v.gateway_page = true;
      v.message.append("HTTP ");
      append_number(v.message, status);
      v.message.append(not_api_shape);
    }
    append_words_or_body(v.message, response.body, facts);
    return v;
  }
  append_status(v.message, status);
  append_words_or_body(v.message, response.body,
                       inspect_body(response.body, response.body_truncated, status, max_server_text));
  if (status >= 400 && status < 500 && status != 408) {
    v.kind = verdict_kind::client_error;
  } else {
    // 408, 5xx, and statuses no server should send (1xx as a final answer, 600+): retry.
    v.kind = verdict_kind::server_error;
    v.retry_after = server_retry_delay(response.hints, now, retry_after_cap);
  }
  return v;
}

verdict classify_transport_failure(std::error_code failure, std::string_view detail) {
  verdict v{verdict_kind::network_error, 0, {}, std::nullopt};
  if (failure == errc::timeout) v.kind = verdict_kind::timeout;
  if (failure == errc::tls_untrusted || failure == errc::tls_handshake_failed) v.kind = verdict_kind::tls_error;
  v.unrequested_answer = failure == errc::unrequested_answer;
  // Another category (none is produced today) or errc: its own message names it.
  const std::string what = failure ? failure.message() : std::string{"network error"};
  v.message.append(what);
  if (!detail.empty()) {
    v.message.append(": ");
    append_sanitized(v.message, detail, max_message - v.message.size());
  }
  return v;
}

}  // namespace keyrevoke::core
