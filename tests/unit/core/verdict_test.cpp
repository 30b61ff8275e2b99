#include "keyrevoke/core/verdict.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "keyrevoke/core/report_row.hpp"

namespace kc = keyrevoke::core;
using namespace std::chrono;
using namespace std::chrono_literals;
using vk = kc::verdict_kind;

namespace {

const system_clock::time_point now = sys_days{2024y / March / 10} + 12h;
constexpr milliseconds cap = 60s;

std::string error_body(unsigned code, std::string_view message) {
  std::string out = R"({"error": {"code": )" + std::to_string(code) + R"(, "message": )";
  kc::append_json_string(out, message);
  out += R"(, "metadata": null}, "modelgates_metadata": null, "user_id": null})";
  return out;
}

// True when text is valid UTF-8 without control characters: what a report's "error" should be.
bool clean_text(const std::string& text) {
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) return false;
  }
  std::string encoded;
  kc::append_json_string(encoded, text);  // replaces invalid UTF-8, so a round trip proves validity
  return boost::json::parse(encoded).as_string() == text;
}

struct row {
  unsigned status;
  std::string body;
  kc::rate_limit_hints hints;
  vk kind;
  std::string message;  // "" = must be empty; otherwise the exact message
  std::optional<std::int64_t> retry_after_ms;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(verdict)

BOOST_AUTO_TEST_CASE(statuses_and_bodies) {
  const std::string html = "<html><body>502 Bad Gateway</body></html>";
  const std::string huge_json_error = error_body(500, std::string(70'000, 'x'));
  const std::vector<row> table = {
      {200, R"({"deleted": true})", {}, vk::deleted, "", std::nullopt},
      {200, R"({"deleted":true,"extra":[1,2]})", {}, vk::deleted, "", std::nullopt},
      {201, R"({"deleted": true})", {}, vk::deleted, "", std::nullopt},
      {204, "", {}, vk::deleted, "", std::nullopt},
      {204, "anything", {}, vk::deleted, "", std::nullopt},
      {200, R"({"deleted": false})", {}, vk::server_error,
       R"(HTTP 200: unexpected body, not {"deleted": true} <JSON body without an error message, 18 bytes>)", std::nullopt},
      {200, R"({"deleted": "true"})", {}, vk::server_error,
       R"(HTTP 200: unexpected body, not {"deleted": true} <JSON body without an error message, 19 bytes>)", std::nullopt},
      {200, "", {}, vk::server_error, R"(HTTP 200: unexpected body, not {"deleted": true} <empty body>)", std::nullopt},
      {200, "OK", {}, vk::server_error, R"(HTTP 200: unexpected body, not {"deleted": true} <non-JSON body, 2 bytes>)", std::nullopt},
      {200, "[]", {}, vk::server_error,
       R"(HTTP 200: unexpected body, not {"deleted": true} <JSON body without an error message, 2 bytes>)", std::nullopt},
      {200, error_body(200, "odd"), {}, vk::server_error, R"(HTTP 200: unexpected body, not {"deleted": true} (odd))", std::nullopt},
      {200, R"({"deleted": true)", {}, vk::server_error,
       R"(HTTP 200: unexpected body, not {"deleted": true} <non-JSON body, 16 bytes>)", std::nullopt},
      {202, "x", {}, vk::server_error, R"(HTTP 202: unexpected body, not {"deleted": true} <non-JSON body, 1 byte>)", std::nullopt},
      {202, "1", {}, vk::server_error,
       R"(HTTP 202: unexpected body, not {"deleted": true} <JSON body without an error message, 1 byte>)", std::nullopt},
      {404, error_body(404, "Key not found"), {}, vk::not_found, "", std::nullopt},
      {404, "", {}, vk::not_found, "", std::nullopt},
      {410, "gone", {}, vk::not_found, "", std::nullopt},
      {401, error_body(401, "No auth credentials found"), {}, vk::unauthorized, "HTTP 401: No auth credentials found", std::nullopt},
      {403, "", {}, vk::unauthorized, "HTTP 403: <empty body>", std::nullopt},
      {429, error_body(429, "Rate limit exceeded"), {}, vk::throttled, "HTTP 429: Rate limit exceeded", std::nullopt},
      {429, "", {"2", "", ""}, vk::throttled, "HTTP 429: <empty body>", 2000},
      {429, "", {"", "150", ""}, vk::throttled, "HTTP 429: <empty body>", 150},
      {429, "", {"", "", "1710072001000"}, vk::throttled, "HTTP 429: <empty body>", 1000},
      {429, "", {"3600", "", ""}, vk::throttled, "HTTP 429: <empty body>", 60'000},
      {429, "", {"soon", "", ""}, vk::throttled, "HTTP 429: <empty body>", std::nullopt},
      {503, error_body(503, "Overloaded"), {"1", "", ""}, vk::throttled, "HTTP 503: Overloaded", 1000},
      {503, error_body(503, "Overloaded"), {}, vk::server_error, "HTTP 503: Overloaded", std::nullopt},
      {503, "", {"garbage", "", ""}, vk::server_error, "HTTP 503: <empty body>", std::nullopt},
      {500, error_body(500, "Internal Server Error"), {}, vk::server_error, "HTTP 500: Internal Server Error", std::nullopt},
      {500, "", {"4", "", ""}, vk::server_error, "HTTP 500: <empty body>", 4000},
      {502, html, {}, vk::server_error, "HTTP 502: <non-JSON body, 41 bytes>", std::nullopt},
      {504, R"({"error": "gateway timeout"})", {}, vk::server_error, "HTTP 504: gateway timeout", std::nullopt},
      {500, R"({"message": "boom"})", {}, vk::server_error, "HTTP 500: boom", std::nullopt},
      {500, R"({"error": {"code": 500}})", {}, vk::server_error, "HTTP 500: <JSON body without an error message, 24 bytes>", std::nullopt},
      {500, R"({"error": {"message": 42}})", {}, vk::server_error, "HTTP 500: <JSON body without an error message, 26 bytes>", std::nullopt},
      {500, R"({"error": {"message": ""}, "message": "fallback"})", {}, vk::server_error, "HTTP 500: fallback", std::nullopt},
      {500, R"("just a string")", {}, vk::server_error, "HTTP 500: <JSON body without an error message, 15 bytes>", std::nullopt},
      {500, huge_json_error, {}, vk::server_error,
       "HTTP 500: <body too large to inspect, " + std::to_string(huge_json_error.size()) + " bytes>", std::nullopt},
      {599, "", {}, vk::server_error, "HTTP 599: <empty body>", std::nullopt},
      {408, "", {}, vk::server_error, "HTTP 408: <empty body>", std::nullopt},
      {400, error_body(400, "Invalid hash"), {}, vk::client_error, "HTTP 400: Invalid hash", std::nullopt},
      {422, "", {"5", "", ""}, vk::client_error, "HTTP 422: <empty body>", std::nullopt},
      {499, "x", {}, vk::client_error, "HTTP 499: <non-JSON body, 1 byte>", std::nullopt},
      {301, "", {}, vk::client_error, "HTTP 301: redirect not followed (check --base-url)", std::nullopt},
      {308, html, {}, vk::client_error, "HTTP 308: redirect not followed (check --base-url)", std::nullopt},
      {100, "", {}, vk::server_error, "HTTP 100: <empty body>", std::nullopt},
      {600, "", {}, vk::server_error, "HTTP 600: <empty body>", std::nullopt},
      {999, "", {}, vk::server_error, "HTTP 999: <empty body>", std::nullopt},
  };
  for (const auto& r : table) {
    BOOST_TEST_CONTEXT("HTTP " << r.status << " body \"" << r.body.substr(0, 60) << "\"") {
      const kc::verdict v = kc::classify_response({r.status, r.body, r.hints}, now, cap);
      BOOST_TEST(kc::to_string(v.kind) == kc::to_string(r.kind));
      BOOST_TEST(v.http_status == r.status);
      BOOST_TEST(v.message == r.message);
      BOOST_TEST(v.retry_after.has_value() == r.retry_after_ms.has_value());
      if (v.retry_after && r.retry_after_ms) BOOST_TEST(v.retry_after->count() == *r.retry_after_ms);
      BOOST_TEST(clean_text(v.message));
    }
  }
}

BOOST_AUTO_TEST_CASE(every_status_code) {
  const auto expected = [](unsigned s) {
    if (s == 204) return vk::deleted;
    if (s == 404 || s == 410) return vk::not_found;
    if (s == 401 || s == 403) return vk::unauthorized;
    if (s == 429) return vk::throttled;
    if (s >= 300 && s < 400) return vk::client_error;
    if (s >= 400 && s < 500 && s != 408) return vk::client_error;
    return vk::server_error;  // other 2xx with an empty body, 408, 5xx, 1xx, 600+
  };
  for (unsigned status = 100; status < 700; ++status) {
    BOOST_TEST_CONTEXT("HTTP " << status) {
      const kc::verdict v = kc::classify_response({status, "", {}}, now, cap);
      BOOST_TEST(kc::to_string(v.kind) == kc::to_string(expected(status)));
      BOOST_TEST(v.message.empty() == (v.kind == vk::deleted || v.kind == vk::not_found));
      BOOST_TEST((v.message.starts_with("HTTP " + std::to_string(status)) || v.message.empty()));
    }
  }
}

BOOST_AUTO_TEST_CASE(hostile_bodies_are_bounded_and_sanitised) {
  std::string deep;
  for (int i = 0; i < 100'000; ++i) deep.push_back('[');
  struct hostile {
    std::string name;
    std::string body;
    std::string message;
  };
  const std::vector<hostile> table = {
      {"control characters", error_body(500, "line1\nline2\ttab\x01\x7f end"), "HTTP 500: line1 line2 tab   end"},
      {"quotes and backslashes", error_body(500, R"(say "hi" \o/)"), R"(HTTP 500: say "hi" \o/)"},
      {"UTF-8 kept", error_body(500, "caf\xC3\xA9 \xE2\x82\xAC"), "HTTP 500: caf\xC3\xA9 \xE2\x82\xAC"},
      {"invalid UTF-8 is not JSON", "{\"error\":{\"message\":\"a\xFF\"}}", "HTTP 500: <non-JSON body, 26 bytes>"},
      {"binary", std::string("\0\x01\xFF\xFE", 4), "HTTP 500: <non-JSON body, 4 bytes>"},
      {"deep nesting", deep, "HTTP 500: <body too large to inspect, 100000 bytes>"},
      {"deep but small", deep.substr(0, 5000), "HTTP 500: <non-JSON body, 5000 bytes>"},
      {"huge non-JSON", std::string(10 << 20, 'x'), "HTTP 500: <body too large to inspect, 10485760 bytes>"},
      {"exactly 64 KiB", std::string(64 * 1024, ' '), "HTTP 500: <non-JSON body, 65536 bytes>"},
  };
  for (const auto& [name, body, message] : table) {
    BOOST_TEST_CONTEXT(name) {
      const kc::verdict v = kc::classify_response({500, body, {}}, now, cap);
      BOOST_TEST(v.message == message);
      BOOST_TEST(clean_text(v.message));
    }
  }
}

BOOST_AUTO_TEST_CASE(long_server_messages_are_cut_at_a_character) {
  for (const std::string unit : {"a", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9D\x84\x9E", "\n"}) {
    std::string long_message;
    for (int i = 0; i < 500; ++i) long_message += unit;
    BOOST_TEST_CONTEXT("unit of " << unit.size() << " bytes") {
      const kc::verdict v = kc::classify_response({500, error_body(500, long_message), {}}, now, cap);
      BOOST_TEST(v.message.size() <= 200u);
      BOOST_TEST(v.message.size() >= 140u);
      BOOST_TEST(v.message.ends_with("\xE2\x80\xA6"));
      BOOST_TEST(clean_text(v.message));
      const kc::verdict odd_200 = kc::classify_response({200, error_body(200, long_message), {}}, now, cap);
      BOOST_TEST(odd_200.message.size() <= 200u);
      BOOST_TEST(odd_200.message.ends_with("\xE2\x80\xA6)"));
      BOOST_TEST(clean_text(odd_200.message));
    }
  }
}

BOOST_AUTO_TEST_CASE(transport_failures) {
  struct failure_row {
    kc::transport_failure failure;
    std::string detail;
    vk kind;
    std::string message;
  };
  using tf = kc::transport_failure;
  const std::vector<failure_row> table = {
      {tf::connect_failed, "Connection refused", vk::network_error, "connect failed: Connection refused"},
      {tf::connect_failed, "", vk::network_error, "connect failed"},
      {tf::connection_reset, "", vk::network_error, "connection reset"},
      {tf::eof_before_response, "end of stream", vk::network_error, "connection closed before the response: end of stream"},
      {tf::torn_response, "partial message", vk::network_error, "response cut off: partial message"},
      {tf::timeout, "", vk::timeout, "timed out"},
      {tf::tls_untrusted, "certificate verify failed", vk::tls_error, "TLS certificate not trusted: certificate verify failed"},
      {tf::tls_handshake_failed, "", vk::tls_error, "TLS handshake failed"},
      {tf::body_too_large, "", vk::server_error, "response body too large"},
      {tf::other, "weird\nerror\xFF", vk::network_error, "network error: weird error\xEF\xBF\xBD"},
  };
  for (const auto& [failure, detail, kind, message] : table) {
    BOOST_TEST_CONTEXT(message) {
      const kc::verdict v = kc::classify_transport_failure(failure, detail);
      BOOST_TEST(kc::to_string(v.kind) == kc::to_string(kind));
      BOOST_TEST(v.http_status == 0u);
      BOOST_TEST(v.message == message);
      BOOST_TEST(!v.retry_after.has_value());
    }
  }
  const kc::verdict long_detail = kc::classify_transport_failure(tf::other, std::string(1000, 'd'));
  BOOST_TEST(long_detail.message.size() <= 200u);
  BOOST_TEST(long_detail.message.ends_with("\xE2\x80\xA6"));
}

BOOST_AUTO_TEST_CASE(what_each_kind_means_for_the_pipeline) {
  struct kind_row {
    vk kind;
    std::string name;
    bool retryable;
    bool aborts;
  };
  const std::vector<kind_row> table = {
      {vk::deleted, "deleted", false, false},           {vk::not_found, "not_found", false, false},
      {vk::unauthorized, "unauthorized", false, true},  {vk::throttled, "throttled", true, false},
      {vk::server_error, "server_error", true, false},  {vk::client_error, "client_error", false, false},
      {vk::network_error, "network_error", true, false}, {vk::timeout, "timeout", true, false},
      {vk::tls_error, "tls_error", false, true},
  };
  for (const auto& [kind, name, retryable, aborts] : table) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST(kc::to_string(kind) == name);
      BOOST_TEST(kc::is_retryable(kind) == retryable);
      BOOST_TEST(kc::aborts_run(kind) == aborts);
    }
  }
  static_assert(kc::is_retryable(vk::throttled) && !kc::aborts_run(vk::throttled));
  BOOST_TEST(kc::to_string(static_cast<vk>(99)) == "unknown");
}

BOOST_AUTO_TEST_CASE(sanitiser_budget_edges) {
  struct sanitise_row {
    std::string text;
    std::size_t max;
    std::string expected;
  };
  const std::vector<sanitise_row> table = {
      {"abc", 3, "abc"},
      {"abcd", 3, "\xE2\x80\xA6"},
      {"abcd", 4, "abcd"},
      {"abcde", 4, "a\xE2\x80\xA6"},
      {"abcde", 2, ""},
      {"\xFF", 3, "\xEF\xBF\xBD"},
      {"\xFF\xFF", 5, "\xE2\x80\xA6"},
      {"\xE2\x82\xAC\xE2\x82\xAC", 6, "\xE2\x82\xAC\xE2\x82\xAC"},
      {"\xE2\x82\xAC\xE2\x82\xAC", 5, "\xE2\x80\xA6"},
      {"", 0, ""},
  };
  for (const auto& [text, max, expected] : table) {
    BOOST_TEST_CONTEXT("\"" << text << "\" into " << max) {
      std::string out = "=";
      kc::append_sanitized(out, text, max);
      BOOST_TEST(out == "=" + expected);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
