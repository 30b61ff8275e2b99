// The preflight's answer (GET {base}/keys?offset=0&include_disabled=true) and what it means for the
// run: go, wait and ask again, or stop (key rejected, not the API, unreachable, TLS).
#include "keyrevoke/core/preflight.hpp"

#include "keyrevoke/core/key_hash.hpp"

#include <boost/test/unit_test.hpp>
#include <optional>
#include <string>
#include <vector>

namespace kc = keyrevoke::core;
using namespace std::chrono;
using namespace std::chrono_literals;
using pk = kc::preflight_kind;
using kc::millis;

namespace {

const system_clock::time_point wall = sys_days{2026y / November / 27} + 12h;

const char* name(pk k) {
  switch (k) {
    case pk::ok:
      return "ok";
    case pk::throttled:
      return "throttled";
    case pk::failing:
      return "failing";
    case pk::unreachable:
      return "unreachable";
    case pk::rejected:
      return "rejected";
    case pk::tls:
      return "tls";
    case pk::not_api:
      return "not_api";
    case pk::contradicted:
      return "contradicted";
  }
  return "?";
}

const std::string html_page =
    "<!DOCTYPE html><html><head><title>Welcome</title></head><body>Hello</body></html>";
const std::string html_404 = "<html><head><title>404 Not Found</title></head><body>nginx</body></html>";
const std::string api_404 = R"({"error":{"code":404,"message":"Not Found","metadata":null},"user_id":null})";
const std::string api_401 = R"({"error":{"code":401,"message":"Invalid management key"}})";
const std::string api_403 = R"({"error":{"code":403,"message":"Forbidden"}})";
const std::string api_429 = R"({"error":{"code":429,"message":"Rate limit exceeded"}})";
const std::string api_500 = R"({"error":{"code":500,"message":"Internal error"}})";
const std::string list_page =
    R"({"data":[{"hash":")" + std::string(64, 'a') + R"(","name":"ci","disabled":false}]})";

}  // namespace

BOOST_AUTO_TEST_SUITE(preflight)

BOOST_AUTO_TEST_CASE(answers_are_classified_by_what_they_show) {
  struct row {
    const char* name;
    unsigned status;
    std::string body;
    std::string_view retry_after;
    std::string_view remaining;
    bool truncated;
    pk kind;
    std::optional<millis> hint;
  };
  const std::vector<row> rows = {
      {"the list", 200, list_page, {}, {}, false, pk::ok, std::nullopt},
      {"an empty list", 200, R"({"data":[]})", {}, {}, false, pk::ok, std::nullopt},
      // Cut at the listing's limit: its keys cannot be checked, and the API's pages are far smaller (the
      // trial: a cut page turned off the key-route read-back and the checks built on it).
      {"a cut list page that starts like one",
       200,
       " {\n \"data\" : [ {\"hash\":\"ab\",\"na",
       {},
       {},
       true,
       pk::not_api,
       std::nullopt},
      {"a cut page that does not start like the list",
       200,
       "<html><body>aaaa",
       {},
       {},
       true,
       pk::not_api,
       std::nullopt},
      {"a cut JSON page that is not the list",
       200,
       R"({"items":[{"hash")",
       {},
       {},
       true,
       pk::not_api,
       std::nullopt},
      {"a 200 HTML page", 200, html_page, {}, {}, false, pk::not_api, std::nullopt},
      {"a 200 JSON without data", 200, R"({"keys":[]})", {}, {}, false, pk::not_api, std::nullopt},
      {"a 200 JSON whose data is an object",
       200,
       R"({"data":{"hash":"ab"}})",
       {},
       {},
       false,
       pk::not_api,
       std::nullopt},
      {"a 200 JSON array", 200, "[]", {}, {}, false, pk::not_api, std::nullopt},
      // Items, not one with a key's hash: another API's list (the trial's page of {"id": ...} items).
      {"a list of items without a hash",
       200,
       R"({"data":[{"id":1,"name":"a"},{"id":2}]})",
       {},
       {},
       false,
       pk::not_api,
       std::nullopt},
      {"a list of items whose hash is not a key's",
       200,
       R"({"data":[{"hash":"ab"},"x"]})",
       {},
       {},
       false,
       pk::not_api,
       std::nullopt},
      {"a 200 empty body", 200, "", {}, {}, false, pk::not_api, std::nullopt},
      {"a 204", 204, "", {}, {}, false, pk::not_api, std::nullopt},
      {"a 404 HTML page", 404, html_404, {}, {}, false, pk::not_api, std::nullopt},
      {"an API-shaped 404 on the list route", 404, api_404, {}, {}, false, pk::not_api, std::nullopt},
      {"a redirect", 301, "", {}, {}, false, pk::not_api, std::nullopt},
      {"a 400",
       400,
       R"({"error":{"code":400,"message":"Bad request"}})",
       {},
       {},
       false,
       pk::not_api,
       std::nullopt},
      {"a 401", 401, api_401, {}, {}, false, pk::rejected, std::nullopt},
      {"a 401 from a gateway", 401, html_page, {}, {}, false, pk::rejected, std::nullopt},
      {"a 403 without a hint", 403, api_403, {}, {}, false, pk::rejected, std::nullopt},
      {"a 403 with Retry-After", 403, api_403, "5", {}, false, pk::throttled, 5000ms},
      {"a 403 with X-RateLimit-Remaining: 0", 403, api_403, {}, "0", false, pk::throttled, std::nullopt},
      {"a 429", 429, api_429, {}, {}, false, pk::throttled, std::nullopt},
      {"a 429 with Retry-After", 429, api_429, "2", {}, false, pk::throttled, 2000ms},
      {"a 503 with Retry-After", 503, "", "3", {}, false, pk::throttled, 3000ms},
      {"a 500", 500, api_500, {}, {}, false, pk::failing, std::nullopt},
      {"a 500 with Retry-After", 500, api_500, "7", {}, false, pk::failing, 7000ms},
      {"a 502 HTML page", 502, "<html>502 Bad Gateway</html>", {}, {}, false, pk::failing, std::nullopt},
      {"a 503 without a hint", 503, "", {}, {}, false, pk::failing, std::nullopt},
      {"a 408", 408, "", {}, {}, false, pk::failing, std::nullopt},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      kc::response_view response;
      response.status = r.status;
      response.body = r.body;
      response.hints.retry_after = r.retry_after;
      response.hints.x_ratelimit_remaining = r.remaining;
      response.body_truncated = r.truncated;
      const kc::preflight_result got = kc::classify_preflight(response, wall, 60s);
      BOOST_TEST(name(got.kind) == name(r.kind));
      BOOST_TEST((got.retry_after == r.hint));
      if (r.kind == pk::ok) {
        BOOST_TEST(got.message.empty());
      } else {
        // The user is told what came back: the status, in a bounded, printable line.
        BOOST_TEST(got.message.find("HTTP " + std::to_string(r.status)) != std::string::npos, got.message);
        BOOST_TEST(got.message.size() <= 200U);
        for (const char c : got.message) BOOST_TEST((static_cast<unsigned char>(c) >= 0x20));
      }
    }
  }
}

// The listing's hashes are kept: keys that existed a moment before the first request, against which a
// later 404 is checked (run_scheduler: stop_reason::contradicted).
BOOST_AUTO_TEST_CASE(the_listed_hashes_are_kept) {
  const std::string a(64, 'a'), b(64, 'b');
  struct row {
    const char* name;
    std::string body;
    bool truncated;
    std::vector<std::string> listed;
  };
  const row rows[] = {
      {"two keys", R"({"data":[{"hash":")" + a + R"("},{"hash":")" + b + R"("}]})", false, {a, b}},
      {"an item without a usable hash is skipped", R"({"data":[{"hash":"ab"},{"hash":")" + b + R"("}]})", false, {b}},
      {"an empty page", R"({"data":[]})", false, {}},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      kc::response_view v;
      v.status = 200;
      v.body = r.body;
      v.body_truncated = r.truncated;
      const kc::preflight_result got = kc::classify_preflight(v, wall, 60s);
      BOOST_TEST(name(got.kind) == "ok");
      std::vector<std::string> listed;
      for (const kc::key_hash& h : got.listed) listed.push_back(kc::to_hex(h));
      BOOST_TEST(listed == r.listed, boost::test_tools::per_element());
    }
  }
}

// The key route read back after the listing (GET /keys/{hash} of the listing's first key). The trial:
// nginx sent /keys/{hash} to another environment whose API answers its own 404, and every key of the
// input was claimed gone; only the listing reached the real API.
BOOST_AUTO_TEST_CASE(the_key_route_must_show_the_listed_key) {
  const std::string h(64, 'c');
  const kc::key_hash asked = *kc::parse_key_hash(h);
  const std::string key_body = R"({"data":{"hash":")" + h + R"(","name":"ci","disabled":false}})";
  const std::string other_key = R"({"data":{"hash":")" + std::string(64, 'd') + R"(","name":"x"}})";
  struct row {
    const char* name;
    unsigned status;
    std::string body;
    std::string_view retry_after;
    std::string kind;
  };
  const row rows[] = {
      {"the key: the route reaches the same API", 200, key_body, "", "ok"},
      {"the API's 404: another environment (or a key gone since the listing)", 404, api_404, "", "contradicted"},
      {"a route 404 page: not the API", 404, html_404, "", "not_api"},
      {"another key's body: a 2xx that is not the API's answer", 200, other_key, "", "not_api"},
      // No answer either way: asked again by the scheduler (a skipped check let a flaky wrong environment
      // through: its 5xx first, then its 404s read as not_found_after_retry).
      {"429", 429, api_429, "2", "throttled"},
      {"503", 503, api_500, "", "failing"},
      {"502 page", 502, "<html>502</html>", "", "failing"},
      {"401: rejected", 401, api_401, "", "rejected"},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      kc::response_view v;
      v.status = r.status;
      v.body = r.body;
      v.hints.retry_after = r.retry_after;
      v.asked_key = asked;
      const kc::verdict read = kc::classify_response(v, wall, 60s, kc::request_kind::get);
      const kc::preflight_result got = kc::check_key_route(read, "/api/v1/keys/" + h);
      BOOST_TEST(name(got.kind) == r.kind);
      if (r.kind != "ok") BOOST_TEST(got.message.find("/api/v1/keys/" + h) != std::string::npos, got.message);
      if (r.kind == "throttled") BOOST_TEST((got.retry_after == std::optional<millis>{2000ms}));
    }
  }
  // No answer at all: unreachable (a timeout counts as one, for the scheduler's tries).
  for (const kc::errc f : {kc::errc::connection_reset, kc::errc::timeout, kc::errc::tls_untrusted}) {
    const kc::preflight_result got =
        kc::check_key_route(kc::classify_transport_failure(f, "x"), "/api/v1/keys/" + h);
    BOOST_TEST_CONTEXT(got.message) {
      BOOST_TEST(name(got.kind) == (f == kc::errc::tls_untrusted ? "tls" : "unreachable"));
      BOOST_TEST(got.timed_out == (f == kc::errc::timeout));
    }
  }
}

// Which listed keys the key route is asked for: first, middle, last, each once.
BOOST_AUTO_TEST_CASE(route_check_order_spreads_over_the_page) {
  const auto k = [](char c) { return *kc::parse_key_hash(std::string(64, c)); };
  struct row {
    std::string listed;  // one letter a key
    std::string order;
  };
  const row rows[] = {
      {"", ""}, {"a", "a"}, {"ab", "ab"}, {"abc", "abc"}, {"abcd", "acd"}, {"abcde", "ace"}, {"abcdef", "adf"},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT("listed " << r.listed) {
      std::vector<kc::key_hash> listed;
      for (const char c : r.listed) listed.push_back(k(c));
      std::string got;
      for (const kc::key_hash& h : kc::route_check_order(listed)) got += kc::to_hex(h).front();
      BOOST_TEST(got == r.order);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_long_page_gives_a_short_message) {
  std::string body = "<html>";
  body.append(20000, 'x');
  body += "\n\r\t</html>";
  kc::response_view response;
  response.status = 200;
  response.body = body;
  const kc::preflight_result got = kc::classify_preflight(response, wall, 60s);
  BOOST_TEST(name(got.kind) == "not_api");
  BOOST_TEST(got.message.size() <= 200U);
  BOOST_TEST(got.message.find(std::to_string(body.size()) + " bytes") != std::string::npos, got.message);
}

BOOST_AUTO_TEST_CASE(transport_failures) {
  struct row {
    kc::errc failure;
    pk kind;
  };
  using tf = kc::errc;
  const std::vector<row> rows = {
      {tf::connect_failed, pk::unreachable},
      {tf::connection_reset, pk::unreachable},
      {tf::eof_before_response, pk::unreachable},
      {tf::torn_response, pk::unreachable},
      {tf::timeout, pk::unreachable},
      {tf::other, pk::unreachable},
      {tf::tls_untrusted, pk::tls},
      {tf::tls_handshake_failed, pk::tls},
      {tf::cancelled, pk::unreachable},
  };
  for (const row& r : rows) {
    const kc::verdict failure = kc::classify_transport_failure(r.failure, "detail");
    BOOST_TEST_CONTEXT(failure.message) {
      const kc::preflight_result got = kc::preflight_from_failure(failure);
      BOOST_TEST(name(got.kind) == name(r.kind));
      BOOST_TEST(got.message == failure.message);
      BOOST_TEST(!got.retry_after.has_value());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
