#include "keyrevoke/core/verdict.hpp"

#include <boost/json/parse.hpp>
#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

#include "keyrevoke/core/report_row.hpp"

#include "api_bodies.hpp"

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
  std::string content_type{};
  bool truncated = false;
};

void check_rows(const std::vector<row>& table, system_clock::time_point at = now) {
  for (const auto& r : table) {
    BOOST_TEST_CONTEXT("HTTP " << r.status << " body \"" << r.body.substr(0, 60) << "\" retry-after \""
                               << r.hints.retry_after << "\" remaining \"" << r.hints.x_ratelimit_remaining
                               << "\" reset \"" << r.hints.ratelimit_reset << "\" truncated " << r.truncated) {
      const kc::verdict v = kc::classify_response({r.status, r.body, r.hints, r.content_type, r.truncated}, at, cap);
      BOOST_TEST(kc::to_string(v.kind) == kc::to_string(r.kind));
      BOOST_TEST(v.http_status == r.status);
      BOOST_TEST(v.message == r.message);
      BOOST_TEST(v.retry_after.has_value() == r.retry_after_ms.has_value());
      if (v.retry_after && r.retry_after_ms) BOOST_TEST(v.retry_after->count() == *r.retry_after_ms);
      BOOST_TEST(v.message.size() <= 200u);
      BOOST_TEST(clean_text(v.message));
      // The flag the scheduler reads (refused, not key_rejected) goes with what the message tells the user.
      BOOST_TEST(v.gateway_page ==
                 (v.kind == vk::unauthorized && v.message.find("not the API's error shape") != std::string::npos));
    }
  }
}

const std::string html_404 =
    "<html><head><title>404 Not Found</title></head><body><center><h1>404 Not Found</h1></center>"
    "<hr><center>nginx</center></body></html>";

}  // namespace

BOOST_AUTO_TEST_SUITE(verdict)

BOOST_AUTO_TEST_CASE(statuses_and_bodies) {
  const std::string html = "<html><body>502 Bad Gateway</body></html>";
  const std::string huge_json_error = error_body(500, std::string(70'000, 'x'));
  const std::vector<row> table = {
      {200, R"({"deleted": true})", {}, vk::deleted, "", std::nullopt},
      {200, R"({"deleted":true,"extra":[1,2]})", {}, vk::deleted, "", std::nullopt},
      {201, R"({"deleted": true})", {}, vk::deleted, "", std::nullopt},
      // The API answers a DELETE 200 {"deleted": true}: a 204 is someone else's answer.
      {204, "", {}, vk::not_api, R"(HTTP 204: not the API's answer (it answers 200 with {"deleted": true}): check --base-url)", std::nullopt},
      {204, "anything", {}, vk::not_api, R"(HTTP 204: not the API's answer (it answers 200 with {"deleted": true}): check --base-url)", std::nullopt},
      {200, R"({"deleted": false})", {}, vk::server_error,
       R"(HTTP 200: unexpected body, not {"deleted": true} <JSON body without an error message, 18 bytes>)", std::nullopt},
      // The seventh trial: ambiguous bodies were claimed deleted.
      {200, R"({"deleted": false, "deleted": true})", {}, vk::server_error,
       R"(HTTP 200: unexpected body, not {"deleted": true} <JSON body without an error message, 35 bytes>)", std::nullopt},
      {200, R"({"deleted": true, "deleted": true})", {}, vk::server_error,
       R"(HTTP 200: unexpected body, not {"deleted": true} <JSON body without an error message, 34 bytes>)", std::nullopt},
      {200, R"({"error":{"code":404,"message":"No such key"},"deleted":true})", {}, vk::server_error,
       R"(HTTP 200: unexpected body, not {"deleted": true} (No such key))", std::nullopt},
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
      {404, R"({"error":{"code":404,"message":""}})", {}, vk::not_found, "", std::nullopt},  // only the shape
      {410, error_body(410, "Gone"), {}, vk::not_found, "", std::nullopt},
      // A 404 or 410 without the API's error shape is not "no such key".
      {404, "", {}, vk::not_api, "HTTP 404: not the API's answer (empty body): check --base-url", std::nullopt},
      {410, "gone", {}, vk::not_api, R"(HTTP 410: not the API's answer (4 bytes: "gone"): check --base-url)", std::nullopt},
      {401, error_body(401, "No auth credentials found"), {}, vk::unauthorized, "HTTP 401: No auth credentials found", std::nullopt},
      {403, error_body(403, "Forbidden"), {}, vk::unauthorized, "HTTP 403: Forbidden", std::nullopt},
      {403, "", {}, vk::unauthorized, "HTTP 403 (not the API's error shape: a gateway in front of it?): <empty body>", std::nullopt},
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
  check_rows(table);
}

// The rows that used to pass on a wrong product: a 404 from a wrong route, a 403 that only asks the
// client to slow down, a 429 whose page is larger than the body limit.
BOOST_AUTO_TEST_CASE(counter_rows_believe_only_the_api) {
  const std::string big_html = "<html>" + std::string(100 * 1024, 'x') + "</html>";
  const std::string kept = big_html.substr(0, 64 * 1024);  // what the pool keeps of it
  kc::rate_limit_hints remaining_0;
  remaining_0.x_ratelimit_remaining = "0";
  kc::rate_limit_hints remaining_0_reset_5 = remaining_0;
  remaining_0_reset_5.ratelimit_reset = "5";
  kc::rate_limit_hints quota_advert;  // on every answer of some gateways: not a throttle
  quota_advert.x_ratelimit_remaining = "57";
  quota_advert.ratelimit_reset = "1710072030";
  kc::rate_limit_hints reset_5;
  reset_5.ratelimit_reset = "5";
  const std::string not_api_html =
      R"(HTTP 404: not the API's answer (text/html, 132 bytes: "<html><head><title>404 Not Found</title></head><body><cen…"): check --base-url)";
  const std::vector<row> table = {
      // 404: only the API's error shape with code 404 says "no such key".
      {404, html_404, {}, vk::not_api, not_api_html, std::nullopt, "text/html; charset=utf-8"},
      {404, html_404, {}, vk::not_api, not_api_html, std::nullopt, " text/html "},
      {404, R"({"error":"nope"})", {}, vk::not_api,
       R"(HTTP 404: not the API's answer (16 bytes: "{"error":"nope"}"): check --base-url)", std::nullopt},
      {404, error_body(500, "x"), {}, vk::not_api,
       R"(HTTP 404: not the API's answer (application/json, 104 bytes: "{"error": {"code": 500, "message": "x", "metadata": null}…"): check --base-url)",
       std::nullopt, "application/json"},
      {404, R"({"error":{"code":"404","message":"Not found"}})", {}, vk::not_api,
       R"(HTTP 404: not the API's answer (46 bytes: "{"error":{"code":"404","message":"Not found"}}"): check --base-url)", std::nullopt},
      {404, R"({"error":{"code":404.0,"message":"x"}})", {}, vk::not_api,
       R"(HTTP 404: not the API's answer (38 bytes: "{"error":{"code":404.0,"message":"x"}}"): check --base-url)", std::nullopt},
      {404, R"({"error":{"code":404}})", {}, vk::not_api,
       R"(HTTP 404: not the API's answer (22 bytes: "{"error":{"code":404}}"): check --base-url)", std::nullopt},
      {404, R"({"error":{"code":404,"message":null}})", {}, vk::not_api,
       R"(HTTP 404: not the API's answer (37 bytes: "{"error":{"code":404,"message":null}}"): check --base-url)", std::nullopt},
      {404, R"({"code":404,"message":"Not Found"})", {}, vk::not_api,
       R"(HTTP 404: not the API's answer (34 bytes: "{"code":404,"message":"Not Found"}"): check --base-url)", std::nullopt},
      {404, "[" + error_body(404, "x") + "]", {}, vk::not_api,
       R"(HTTP 404: not the API's answer (106 bytes: "[{"error": {"code": 404, "message": "x", "metadata": null…"): check --base-url)", std::nullopt},
      {404, "Not Found\n", {}, vk::not_api,
       R"(HTTP 404: not the API's answer (text/plain, 10 bytes: "Not Found "): check --base-url)", std::nullopt, "text/plain"},
      {410, error_body(404, "Key not found"), {}, vk::not_api,
       R"(HTTP 410: not the API's answer (116 bytes: "{"error": {"code": 404, "message": "Key not found", "meta…"): check --base-url)",
       std::nullopt},
      // 403: a rate limit when a hint says so (a "secondary rate limit"), else the key is rejected.
      {403, "", {"30"}, vk::throttled, "HTTP 403 (secondary rate limit): <empty body>", 30'000},
      {403, "", {"0"}, vk::throttled, "HTTP 403 (secondary rate limit): <empty body>", 0},
      {403, "", {"", "1500"}, vk::throttled, "HTTP 403 (secondary rate limit): <empty body>", 1500},
      {403, R"({"message":"You have exceeded a secondary rate limit"})", {"60"}, vk::throttled,
       "HTTP 403 (secondary rate limit): You have exceeded a secondary rate limit", 60'000},
      {403, "", remaining_0, vk::throttled, "HTTP 403 (secondary rate limit): <empty body>", std::nullopt},
      {403, "", remaining_0_reset_5, vk::throttled, "HTTP 403 (secondary rate limit): <empty body>", 5000},
      {403, "", reset_5, vk::throttled, "HTTP 403 (secondary rate limit): <empty body>", 5000},
      {403, html_404, {"30"}, vk::throttled, "HTTP 403 (secondary rate limit): <non-JSON body, 132 bytes>", 30'000},
      {403, "", quota_advert, vk::unauthorized,
       "HTTP 403 (not the API's error shape: a gateway in front of it?): <empty body>", std::nullopt},
      {403, "", {"soon"}, vk::unauthorized,
       "HTTP 403 (not the API's error shape: a gateway in front of it?): <empty body>", std::nullopt},
      {403, error_body(403, "Key disabled"), {}, vk::unauthorized, "HTTP 403: Key disabled", std::nullopt},
      // 401 stays a rejection; without the API's shape the message says who may have answered.
      {401, html_404, {"30"}, vk::unauthorized,
       "HTTP 401 (not the API's error shape: a gateway in front of it?): <non-JSON body, 132 bytes>", std::nullopt},
      {401, R"({"message":"Unauthorized"})", {}, vk::unauthorized,
       "HTTP 401 (not the API's error shape: a gateway in front of it?): Unauthorized", std::nullopt},
      // 429 whatever the body: a CDN's 100 KB page, cut by the pool, still carries its hint.
      {429, kept, {"7"}, vk::throttled, "HTTP 429: <body too large to inspect, over 65536 bytes>", 7000, "text/html", true},
      {429, "", {"7"}, vk::throttled, "HTTP 429: <body too large to inspect>", 7000, "", true},
      {429, big_html, {"7"}, vk::throttled, "HTTP 429: <body too large to inspect, 102413 bytes>", 7000},
      {429, html_404, reset_5, vk::throttled, "HTTP 429: <non-JSON body, 132 bytes>", 5000},
      {429, "", quota_advert, vk::throttled, "HTTP 429: <empty body>", std::nullopt},  // contradicted: backoff
      // 503 with a hint is a throttle; without, an outage.
      {503, html_404, {"2"}, vk::throttled, "HTTP 503: <non-JSON body, 132 bytes>", 2000},
      {503, "", remaining_0, vk::throttled, "HTTP 503: <empty body>", std::nullopt},
      {503, "", quota_advert, vk::server_error, "HTTP 503: <empty body>", std::nullopt},
      {503, kept, {"2"}, vk::throttled, "HTTP 503: <body too large to inspect, over 65536 bytes>", 2000, "", true},
      {502, kept, {}, vk::server_error, "HTTP 502: <body too large to inspect, over 65536 bytes>", std::nullopt, "", true},
      // A truncated body proves nothing, whatever its first bytes say.
      {200, R"({"deleted": true})", {}, vk::server_error, "HTTP 200: body too large to inspect (over 17 bytes)", std::nullopt, "", true},
      {200, "", {}, vk::server_error, "HTTP 200: body too large to inspect", std::nullopt, "", true},
      {404, error_body(404, "Key not found"), {}, vk::server_error, "HTTP 404: body too large to inspect (over 116 bytes)",
       std::nullopt, "", true},
      {410, "", {}, vk::server_error, "HTTP 410: body too large to inspect", std::nullopt, "", true},
      {204, "", {}, vk::server_error, "HTTP 204: body too large to inspect", std::nullopt, "", true},
      {401, "", {}, vk::unauthorized,
       "HTTP 401 (not the API's error shape: a gateway in front of it?): <body too large to inspect>", std::nullopt, "", true},
      {401, error_body(401, "x"), {}, vk::unauthorized,
       "HTTP 401 (not the API's error shape: a gateway in front of it?): <body too large to inspect, over 104 bytes>",
       std::nullopt, "", true},
  };
  check_rows(table);
}

// Absolute hints are measured on the server's clock (its Date), so a client clock that is off does
// not stretch or cut the wait (RFC 9110 10.2.3).
BOOST_AUTO_TEST_CASE(absolute_hints_are_measured_from_the_response_date) {
  const system_clock::time_point server_now = now;
  const system_clock::time_point client_behind = server_now - 60s;
  const system_clock::time_point client_ahead = server_now + 3600s;
  const std::string date = kc::format_http_date(server_now);
  const std::string in_10s = kc::format_http_date(server_now + 10s);
  const std::string reset_ms_in_10s = std::to_string(duration_cast<milliseconds>((server_now + 10s).time_since_epoch()).count());
  const std::string before_date = kc::format_http_date(server_now - 5s);
  const std::string reset_s_in_10s = std::to_string(duration_cast<seconds>((server_now + 10s).time_since_epoch()).count());
  struct clock_row {
    std::string name;
    system_clock::time_point client;
    kc::rate_limit_hints hints;
    std::optional<std::int64_t> expected_ms;
  };
  const std::vector<clock_row> table = {
      {"HTTP-date, client 60 s behind", client_behind, {.retry_after = in_10s, .date = date}, 10'000},
      {"HTTP-date, client 1 h ahead", client_ahead, {.retry_after = in_10s, .date = date}, 10'000},
      {"HTTP-date, no Date: the local clock", client_behind, {.retry_after = in_10s}, 60'000},  // capped 70 s
      {"HTTP-date, Date unparseable: the local clock", client_ahead, {.retry_after = in_10s, .date = "yesterday"}, 0},
      {"epoch ms, client 60 s behind", client_behind, {.ratelimit_reset = reset_ms_in_10s, .date = date}, 10'000},
      {"epoch s, client 1 h ahead", client_ahead, {.ratelimit_reset = reset_s_in_10s, .date = date}, 10'000},
      {"delta-seconds ignore Date", client_behind, {.retry_after = "4", .date = date}, 4000},
      {"delta reset ignores Date", client_behind, {.ratelimit_reset = "5", .date = date}, 5000},
      {"a date before Date: 0", client_behind, {.retry_after = before_date, .date = date}, 0},
  };
  for (const auto& [name, client, hints, expected] : table) {
    BOOST_TEST_CONTEXT(name) {
      const kc::verdict v = kc::classify_response({.status = 429, .hints = hints}, client, cap);
      BOOST_TEST((v.kind == vk::throttled));
      BOOST_TEST_REQUIRE(v.retry_after.has_value() == expected.has_value());
      if (expected) BOOST_TEST(v.retry_after->count() == *expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(the_api_error_shape) {
  struct shape_row {
    std::string body;
    unsigned status;
    bool expected;
  };
  const std::vector<shape_row> table = {
      {error_body(404, "Key not found"), 404, true},
      {R"({"error":{"code":404,"message":"x"}})", 404, true},
      {R"({"error":{"message":"x","code":404,"metadata":{"a":1}},"user_id":"u"})", 404, true},
      {R"({"error":{"code":404,"message":"x"}})", 410, false},
      {R"({"error":{"code":-404,"message":"x"}})", 404, false},
      {R"({"error":{"code":404,"message":7}})", 404, false},
      {R"({"error":{"message":"x"}})", 404, false},
      {R"({"error":"x"})", 404, false},
      {R"({"error":[404,"x"]})", 404, false},
      {R"({"message":"x","code":404})", 404, false},
      {R"([{"error":{"code":404,"message":"x"}}])", 404, false},
      {R"({"error":{"code":404,"message":"x"})", 404, false},  // cut short
      {"", 404, false},
      {"<html></html>", 404, false},
      {R"({"error":{"code":18446744073709551615,"message":"x"}})", 404, false},
      {R"({"error":{"code":429,"message":"Rate limit exceeded","metadata":null},"modelgates_metadata":null,"user_id":null})", 429, true},
      {"{\"error\":{\"code\":404,\"message\":\"x\"}," + std::string(70'000, ' ') + "\"a\":1}", 404, false},  // over the limit
  };
  for (const auto& [body, status, expected] : table) {
    BOOST_TEST_CONTEXT(status << " " << body.substr(0, 80)) { BOOST_TEST(kc::has_api_error_shape(body, status) == expected); }
  }
}

BOOST_AUTO_TEST_CASE(not_api_messages_stay_within_the_budget) {
  for (const std::string unit : {"a", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9D\x84\x9E", "\n", "\xFF"}) {
    std::string body;
    for (int i = 0; i < 500; ++i) body += unit;
    BOOST_TEST_CONTEXT("unit of " << unit.size() << " bytes") {
      const std::string content_type(300, 't');
      const kc::verdict v = kc::classify_response({404, body, {}, content_type, false}, now, cap);
      BOOST_TEST((v.kind == vk::not_api));
      BOOST_TEST(v.message.size() <= 200u);
      BOOST_TEST(v.message.ends_with("\"): check --base-url"));
      BOOST_TEST(clean_text(v.message));
      const std::size_t open = v.message.find('"');
      BOOST_TEST(v.message.size() - open - std::string_view("\"\"): check --base-url").size() <= 60u);
    }
  }
  // The 2xx frames for a PATCH are longer than a DELETE's: the server's words get what is left.
  const std::string long_words = error_body(200, std::string(500, 'w'));
  for (const kc::request_kind request :
       {kc::request_kind::delete_key, kc::request_kind::disable, kc::request_kind::enable, kc::request_kind::get}) {
    const kc::verdict v = kc::classify_response({200, long_words}, now, cap, request);
    BOOST_TEST((v.kind == vk::server_error));
    BOOST_TEST(v.message.size() <= 200u);
    BOOST_TEST(v.message.size() >= 190u);
  }
  const kc::verdict rejected = kc::classify_response({401, R"({"message":")" + std::string(500, 'w') + "\"}"}, now, cap);
  BOOST_TEST(rejected.message.size() <= 200u);
  BOOST_TEST(rejected.message.ends_with("\xE2\x80\xA6"));
}

// Every status with every kind of body, with and without a hint: the rules of classify_response as a
// table of their own, so that a change to one rule shows up on every status it touches.
BOOST_AUTO_TEST_CASE(every_status_code) {
  enum class body_kind { api, html, empty, truncated };
  struct body_case {
    body_kind kind;
    std::string name;
  };
  const std::vector<body_case> bodies = {
      {body_kind::api, "API-shaped"}, {body_kind::html, "HTML"}, {body_kind::empty, "empty"}, {body_kind::truncated, "truncated"}};
  // What the API would send with this status: its success body for a 2xx, its error shape otherwise.
  const auto api_body = [](unsigned s) {
    return s >= 200 && s < 300 ? std::string(R"({"deleted": true})") : error_body(s, "The API's words");
  };
  const auto expected = [](unsigned s, body_kind body, bool hint) {
    const bool ok = s >= 200 && s < 300;
    if (s == 429) return vk::throttled;
    if ((s == 403 || s == 503) && hint) return vk::throttled;
    if (body == body_kind::truncated && (ok || s == 404 || s == 410)) return vk::server_error;
    if (s == 204) return vk::not_api;
    if (ok) return body == body_kind::api ? vk::deleted : vk::server_error;
    if (s == 404 || s == 410) return body == body_kind::api ? vk::not_found : vk::not_api;
    if (s >= 300 && s < 400) return vk::client_error;
    if (s == 401 || s == 403) return vk::unauthorized;
    if (s >= 400 && s < 500 && s != 408) return vk::client_error;
    return vk::server_error;  // 408, 5xx, 1xx, 600+
  };
  const std::string html = "<html><body><h1>Something</h1></body></html>";
  std::size_t checked = 0;
  for (unsigned status = 100; status < 700; ++status) {
    for (const auto& [body_kind_, name] : bodies) {
      const std::string body = body_kind_ == body_kind::html    ? html
                               : body_kind_ == body_kind::empty ? std::string{}
                                                                : api_body(status);
      for (const bool hint : {false, true}) {
        BOOST_TEST_CONTEXT("HTTP " << status << ", " << name << " body, " << (hint ? "Retry-After: 30" : "no hint")) {
          const kc::rate_limit_hints hints{.retry_after = hint ? "30" : ""};
          const kc::verdict v = kc::classify_response(
              {status, body, hints, body_kind_ == body_kind::html ? "text/html" : "", body_kind_ == body_kind::truncated},
              now, cap);
          const vk want = expected(status, body_kind_, hint);
          BOOST_TEST(kc::to_string(v.kind) == kc::to_string(want));
          BOOST_TEST(v.http_status == status);
          const bool success = want == vk::deleted || want == vk::not_found;
          BOOST_TEST(v.message.empty() == success);
          if (!success) BOOST_TEST(v.message.starts_with("HTTP " + std::to_string(status)));
          BOOST_TEST(v.message.size() <= 200u);
          // The hint is kept where the retry policy reads it: on a throttle and on a 5xx-like failure.
          const bool ruled_by_body = (status >= 200 && status < 300) || status == 404 || status == 410;
          const bool keeps_hint =
              hint && (want == vk::throttled || (want == vk::server_error && !ruled_by_body));
          BOOST_TEST(v.retry_after.has_value() == keeps_hint);
          if (v.retry_after) BOOST_TEST(v.retry_after->count() == 30'000);
          if (want == vk::not_api) BOOST_TEST(v.message.ends_with("check --base-url"));
          ++checked;
        }
      }
    }
  }
  BOOST_TEST(checked == 600u * 4u * 2u);
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
    std::error_code failure;
    std::string detail;
    vk kind;
    std::string message;
  };
  using tf = kc::errc;
  const std::vector<failure_row> table = {
      {tf::connect_failed, "Connection refused", vk::network_error, "connect failed: Connection refused"},
      {tf::connect_failed, "", vk::network_error, "connect failed"},
      {tf::connection_reset, "", vk::network_error, "connection reset"},
      {tf::eof_before_response, "end of stream", vk::network_error, "connection closed before the response: end of stream"},
      {tf::torn_response, "partial message", vk::network_error, "response cut off: partial message"},
      {tf::timeout, "", vk::timeout, "timed out"},
      {tf::tls_untrusted, "certificate verify failed", vk::tls_error, "TLS certificate not trusted: certificate verify failed"},
      {tf::tls_handshake_failed, "", vk::tls_error, "TLS handshake failed"},
      {tf::cancelled, "", vk::network_error, "cancelled"},
      // Another category than the pool's (none is produced today): its own message, never a success.
      {std::make_error_code(std::errc::connection_refused), "", vk::network_error,
       std::make_error_code(std::errc::connection_refused).message()},
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
      {vk::tls_error, "tls_error", false, true},         {vk::disabled, "disabled", false, false},
      {vk::enabled, "enabled", false, false},            {vk::present, "present", false, false},
      {vk::not_api, "not_api", true, false},
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

// PATCH (--disable/--enable) and GET (--verify) answers.
using rk = kc::request_kind;

namespace {

kc::verdict answer(unsigned status, std::string_view body, kc::request_kind request) {
  return kc::classify_response({status, body, {}}, now, 60s, request);
}

using keyrevoke::test::api_not_found;
using keyrevoke::test::disabled_key;
using keyrevoke::test::enabled_key;
using keyrevoke::test::route_not_found;

}  // namespace

BOOST_AUTO_TEST_SUITE(verdict_patch_and_get)

BOOST_AUTO_TEST_CASE(patch_answers_must_show_the_asked_for_state) {
  BOOST_TEST((answer(200, disabled_key, rk::disable).kind == vk::disabled));
  BOOST_TEST((answer(200, enabled_key, rk::enable).kind == vk::enabled));
  // The API answers a PATCH 200 with the key: a 204 shows no state.
  BOOST_TEST((answer(204, "", rk::disable).kind == vk::not_api));
  BOOST_TEST((answer(204, "", rk::enable).kind == vk::not_api));
  // A 200 that shows the other state, or no key, is not proof: retryable server_error.
  const kc::verdict wrong = answer(200, enabled_key, rk::disable);
  BOOST_TEST((wrong.kind == vk::server_error));
  BOOST_TEST(wrong.message.find("disabled") != std::string::npos);
  BOOST_TEST((answer(200, R"({"deleted":true})", rk::disable).kind == vk::server_error));
  BOOST_TEST((answer(200, R"({"data":{"disabled":"true"}})", rk::disable).kind == vk::server_error));
  BOOST_TEST((answer(200, "not json", rk::enable).kind == vk::server_error));
  // A DELETE's 200 is not a PATCH's, and the other way round.
  BOOST_TEST((answer(200, disabled_key, rk::delete_key).kind == vk::server_error));
  BOOST_TEST((answer(404, api_not_found, rk::disable).kind == vk::not_found));
  // A 404 that is not the API's proves nothing about the key.
  for (const rk request : {rk::disable, rk::enable}) {
    for (const std::string& body : {std::string{}, route_not_found, std::string{R"({"error":"not found"})"}}) {
      BOOST_TEST_CONTEXT(body) {
        const kc::verdict v = answer(404, body, request);
        BOOST_TEST((v.kind == vk::not_api));
        BOOST_TEST(kc::is_retryable(v.kind));
        BOOST_TEST(v.message.find("check --base-url") != std::string::npos);
      }
    }
  }
  BOOST_TEST((answer(429, "", rk::enable).kind == vk::throttled));
  BOOST_TEST((answer(401, "", rk::disable).kind == vk::unauthorized));
}

BOOST_AUTO_TEST_CASE(get_answers_show_the_key_or_prove_nothing) {
  const kc::verdict d = answer(200, disabled_key, rk::get);
  BOOST_TEST((d.kind == vk::present));
  BOOST_TEST(d.key_disabled);
  const kc::verdict e = answer(200, enabled_key, rk::get);
  BOOST_TEST((e.kind == vk::present));
  BOOST_TEST(!e.key_disabled);
  // No proof either way: a 204, an empty or odd body.
  BOOST_TEST((answer(204, "", rk::get).kind == vk::not_api));
  BOOST_TEST((answer(200, R"({"data":[]})", rk::get).kind == vk::server_error));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(verdict_key_identity)

// With the hash asked for known, a PATCH's or GET's key must be that one: another key, or a key with no
// "hash", proves nothing about ours (the trial: a server answering with another key's object made
// --disable --verify claim "verified").
BOOST_AUTO_TEST_CASE(the_answer_must_name_the_key_asked_for) {
  const std::string ours(64, 'a');
  const std::string ours_upper(64, 'A');
  const std::string other(64, '0');
  const auto key = [](std::string_view hash, bool disabled) {
    std::string body = R"({"data":{)";
    if (!hash.empty()) body.append(R"("hash":")").append(hash).append(R"(",)");
    return body.append(R"("name":"ci","disabled":)").append(disabled ? "true" : "false").append("}}");
  };
  struct row {
    const char* name;
    rk request;
    std::string body;
    std::string asked;  // empty: not checked
    vk kind;
  };
  const std::vector<row> rows = {
      {"PATCH disable, our key", rk::disable, key(ours, true), ours, vk::disabled},
      {"PATCH disable, our key in capitals", rk::disable, key(ours_upper, true), ours, vk::disabled},
      {"PATCH disable, another key", rk::disable, key(other, true), ours, vk::server_error},
      {"PATCH disable, a key without a hash", rk::disable, key("", true), ours, vk::server_error},
      {"PATCH enable, another key", rk::enable, key(other, false), ours, vk::server_error},
      {"PATCH enable, our key", rk::enable, key(ours, false), ours, vk::enabled},
      {"GET, our key", rk::get, key(ours, true), ours, vk::present},
      {"GET, another key", rk::get, key(other, false), ours, vk::server_error},
      {"GET, a key without a hash", rk::get, key("", true), ours, vk::server_error},
      {"GET, not checked (no hash asked for)", rk::get, key("", true), "", vk::present},
      {"PATCH, a hash that is not a string", rk::disable, R"({"data":{"hash":7,"disabled":true}})", ours,
       vk::server_error},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      kc::response_view view{200, r.body, {}};
      if (!r.asked.empty()) view.asked_key = kc::parse_key_hash(r.asked);
      const kc::verdict v = kc::classify_response(view, now, 60s, r.request);
      BOOST_TEST(kc::to_string(v.kind) == kc::to_string(r.kind));
      if (r.kind == vk::server_error) {
        BOOST_TEST(kc::is_retryable(v.kind));
        BOOST_TEST(v.message.find("asked for") != std::string::npos, v.message);
      }
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
