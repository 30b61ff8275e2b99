// -v and --trace lines: hashes shortened, credentials never shown, bytes made printable.
#include "keyrevoke/core/trace_format.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace kc = keyrevoke::core;

namespace {
const std::string hash(64, 'a');
}

BOOST_AUTO_TEST_SUITE(trace_format)

BOOST_AUTO_TEST_CASE(hashes_are_shortened) {
  struct row {
    std::string in, out;
  };
  const std::vector<row> rows = {
      {"/api/v1/keys/" + hash, "/api/v1/keys/aaaaaaaa.."},
      {"/api/v1/keys/" + hash + "?x=1", "/api/v1/keys/aaaaaaaa..?x=1"},
      {"/api/v1/keys?offset=0&include_disabled=true", "/api/v1/keys?offset=0&include_disabled=true"},
      {"/" + hash + "b", "/" + hash + "b"},  // 65 hex digits: not a hash
      {"", ""},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.in) { BOOST_TEST(kc::shorten_hashes(r.in) == r.out); }
  }
}

BOOST_AUTO_TEST_CASE(credentials_never_appear) {
  struct row {
    const char* name;
    std::string block;
    std::string out;
  };
  const std::vector<row> rows = {
      {"request",
       "DELETE /keys/x HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer sk-secret\r\nAccept: */*\r\n\r\nbody",
       "DELETE /keys/x HTTP/1.1\nHost: h\nAuthorization: [not shown]\nAccept: */*\n"},
      {"any case, proxy too, LF only",
       "CONNECT h:443 HTTP/1.1\nproxy-authorization: Basic dXNlcjpwYXNz\nAUTHORIZATION : Bearer x\n",
       "CONNECT h:443 HTTP/1.1\nproxy-authorization: [not shown]\nAUTHORIZATION : [not shown]\n"},
      {"a request line named Authorization is not a field", "Authorization: x\r\n", "Authorization: x\n"},
      {"control bytes", "GET / HTTP/1.1\r\nX: a\x1b[2Jb\r\n", "GET / HTTP/1.1\nX: a\\x1B[2Jb\n"},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      const std::string out = kc::redact_header_block(r.block);
      BOOST_TEST(out == r.out);
      BOOST_TEST(out.find("sk-secret") == std::string::npos);
      BOOST_TEST(out.find("dXNlcjpwYXNz") == std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(request_lines) {
  const auto [m, t] = kc::request_line("DELETE /api/v1/keys/abc HTTP/1.1\r\nHost: x\r\n\r\n");
  BOOST_TEST(m == "DELETE");
  BOOST_TEST(t == "/api/v1/keys/abc");
  const auto [m2, t2] = kc::request_line("garbage");
  BOOST_TEST(m2.empty());
  BOOST_TEST(t2.empty());
}

BOOST_AUTO_TEST_CASE(exchange_and_dial_lines) {
  const std::string target = "/api/v1/keys/" + hash;
  struct row {
    const char* name;
    kc::exchange_summary e;
    std::string line;
  };
  const std::vector<row> rows = {
      {"reused",
       {"DELETE", target, 200, "", {}, 12.4, 3, true, true, false},
       "DELETE /api/v1/keys/aaaaaaaa.. 200 12 ms conn #3 reused"},
      {"new, resumed, throttled",
       {"DELETE",
        target,
        429,
        "",
        {{"retry-after", "37"}, {"x-ratelimit-remaining", "0"}},
        3.25,
        1,
        false,
        true,
        true},
       "DELETE /api/v1/keys/aaaaaaaa.. 429 retry-after=37 x-ratelimit-remaining=0 3.2 ms conn #1 new, TLS "
       "resumed"},
      {"new, full handshake",
       {"GET", "/api/v1/keys?offset=0", 200, "", {}, 40, 1, false, true, false},
       "GET /api/v1/keys?offset=0 200 40 ms conn #1 new, TLS full handshake"},
      {"no answer",
       {"DELETE", target, 0, "connection refused", {}, 1, 0, false, true, false},
       "DELETE /api/v1/keys/aaaaaaaa.. no answer (connection refused) 1.0 ms"},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) { BOOST_TEST(kc::exchange_line(r.e) == r.line); }
  }
  BOOST_TEST(kc::dial_line({"127.0.0.1:8443", 3, true, "TLSv1.3", true, 4.4, ""}) ==
             "connect 127.0.0.1:8443 (conn #3): TLSv1.3 resumed, 4.4 ms");
  BOOST_TEST(kc::dial_line({"127.0.0.1:80", 1, false, "", false, 0.5, ""}) ==
             "connect 127.0.0.1:80 (conn #1): plain HTTP, 0.5 ms");
  BOOST_TEST(kc::dial_line({"h:443", 0, true, "", false, 12, "connect: Connection refused"}) ==
             "connect h:443: failed: connect: Connection refused, 12 ms");
}

BOOST_AUTO_TEST_SUITE_END()
