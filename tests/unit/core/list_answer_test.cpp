// Is an answer to GET /keys the key API's? Each row is one answer a server or a gateway can send.
#include "keyrevoke/core/list_answer.hpp"

#include <boost/test/unit_test.hpp>
#include <string>

using namespace keyrevoke::core;

namespace {

const char* name(list_answer_kind k) {
  switch (k) {
    case list_answer_kind::page:
      return "page";
    case list_answer_kind::not_the_api:
      return "not_the_api";
    case list_answer_kind::key_rejected:
      return "key_rejected";
    case list_answer_kind::classify:
      return "classify";
  }
  return "?";
}

const std::string api_404 = R"({"error":{"code":404,"message":"Not found","metadata":null},"user_id":null})";
const std::string api_400 = R"({"error":{"code":400,"message":"Bad offset"}})";
const std::string api_403 = R"({"error":{"code":403,"message":"Forbidden"}})";

}  // namespace

BOOST_AUTO_TEST_SUITE(list_answer_suite)

BOOST_AUTO_TEST_CASE(judge_each_answer) {
  struct row {
    unsigned status;
    bool key_list;
    std::string body;
    bool hint;
    list_answer_kind expected;
  };
  const row rows[] = {
      {200, true, R"({"data":[]})", false, list_answer_kind::page},
      {200, false, "<html>Welcome to nginx!</html>", false, list_answer_kind::not_the_api},
      {200, false, R"({"data":{"hash":"x"}})", false, list_answer_kind::not_the_api},
      {204, false, "", false, list_answer_kind::not_the_api},
      {404, false, "<html><h1>404 Not Found</h1></html>", false, list_answer_kind::not_the_api},
      {404, false, "404 page not found\n", false, list_answer_kind::not_the_api},
      {404, false, "", false, list_answer_kind::not_the_api},
      {404, false, api_404, false, list_answer_kind::not_the_api},  // the list has no "not found"
      {405, false, "", false, list_answer_kind::not_the_api},
      {301, false, "", false, list_answer_kind::not_the_api},
      {400, false, "<html>bad request</html>", false, list_answer_kind::not_the_api},
      {400, false, api_400, false, list_answer_kind::classify},
      {401, false, "", false, list_answer_kind::key_rejected},
      {401, false, "<html>login</html>", true, list_answer_kind::key_rejected},
      {403, false, api_403, false, list_answer_kind::key_rejected},
      {403, false, "<html>denied</html>", false, list_answer_kind::key_rejected},
      {403, false, "<html>slow down</html>", true, list_answer_kind::classify},  // a secondary rate limit
      {429, false, "<html>too many</html>", false, list_answer_kind::classify},
      {408, false, "", false, list_answer_kind::classify},
      {500, false, "", false, list_answer_kind::classify},
      {502, false, "<html>Bad Gateway</html>", false, list_answer_kind::classify},
      {503, false, "", true, list_answer_kind::classify},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT("HTTP " << r.status << " body " << r.body << " hint " << r.hint) {
      BOOST_TEST(std::string{name(judge_list_answer(r.status, r.key_list, r.body, r.hint))} ==
                 std::string{name(r.expected)});
    }
  }
}

BOOST_AUTO_TEST_CASE(the_api_error_shape) {
  struct row {
    unsigned status;
    std::string body;
    bool expected;
  };
  const row rows[] = {
      {404, api_404, true},
      {404, R"({"error":{"code":404}})", true},
      {404, R"({"error":{"code":500,"message":"x"}})", false},  // code must equal the status
      {404, R"({"error":{"code":"404"}})", false},
      {404, R"({"error":"Not found"})", false},
      {404, R"({"message":"Not found"})", false},
      {404, R"([{"error":{"code":404}}])", false},
      {404, "<html>404</html>", false},
      {404, "", false},
      {404, std::string(70000, ' ') + api_404, false},  // over the inspection limit: not parsed
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT("HTTP " << r.status << " body " << r.body.substr(0, 60)) {
      BOOST_TEST(is_api_error_body(r.status, r.body) == r.expected);
    }
  }
}

BOOST_AUTO_TEST_CASE(describe_names_status_type_size_and_a_sanitised_snippet) {
  struct row {
    unsigned status;
    std::string content_type;
    std::string body;
    std::string expected;
  };
  const row rows[] = {
      {404, "text/html", "<h1>Not Found</h1>", "HTTP 404, text/html, 18 bytes: \"<h1>Not Found</h1>\""},
      {404, "", "", "HTTP 404, 0 bytes"},
      {200, "", "x", "HTTP 200, 1 byte: \"x\""},
      {404, "", "a\r\nb\x01", "HTTP 404, 5 bytes: \"a  b \""},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT("expected " << r.expected) {
      BOOST_TEST(describe_answer(r.status, r.content_type, r.body) == r.expected);
    }
  }
  // A long body is cut to the snippet size (with an ellipsis), never copied whole.
  const std::string long_body(100000, 'a');
  const std::string d = describe_answer(502, "", long_body, 40);
  BOOST_TEST(d.size() < 100u);
  BOOST_TEST(d.find("100000 bytes") != std::string::npos);
  // Invalid UTF-8 never passes through.
  const std::string bad = describe_answer(404, "", "\xff\xfe<h1>");
  BOOST_TEST(bad.find('\xff') == std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
