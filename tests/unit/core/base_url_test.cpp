#include "keyrevoke/core/base_url.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace kc = keyrevoke::core;

BOOST_AUTO_TEST_SUITE(base_url)

BOOST_AUTO_TEST_CASE(accepted) {
  struct row {
    std::string url;
    bool tls;
    std::string host, port, path, host_header;
  };
  const std::vector<row> table = {
      {"https://modelgates.ai/api/v1", true, "modelgates.ai", "443", "/api/v1", "modelgates.ai"},
      {"https://modelgates.ai/api/v1/", true, "modelgates.ai", "443", "/api/v1", "modelgates.ai"},
      {"https://modelgates.ai/api/v1///", true, "modelgates.ai", "443", "/api/v1", "modelgates.ai"},
      {"https://modelgates.ai", true, "modelgates.ai", "443", "", "modelgates.ai"},
      {"https://modelgates.ai/", true, "modelgates.ai", "443", "", "modelgates.ai"},
      {"HTTPS://ModelGates.AI/Api/V1", true, "modelgates.ai", "443", "/Api/V1", "modelgates.ai"},
      {"  https://modelgates.ai/api/v1 \n", true, "modelgates.ai", "443", "/api/v1", "modelgates.ai"},
      {"https://localhost:8443/api/v1", true, "localhost", "8443", "/api/v1", "localhost:8443"},
      {"https://localhost:443/x", true, "localhost", "443", "/x", "localhost"},
      {"https://localhost:00443/x", true, "localhost", "443", "/x", "localhost"},
      {"http://127.0.0.1:8080/api", false, "127.0.0.1", "8080", "/api", "127.0.0.1:8080"},
      {"http://127.0.0.1/api", false, "127.0.0.1", "80", "/api", "127.0.0.1"},
      {"http://example.com:443", false, "example.com", "443", "", "example.com:443"},
      {"https://[::1]:8443/api/v1", true, "::1", "8443", "/api/v1", "[::1]:8443"},
      {"https://[2001:DB8::1]/v1", true, "2001:db8::1", "443", "/v1", "[2001:db8::1]"},
      {"https://[::ffff:127.0.0.1]", true, "::ffff:127.0.0.1", "443", "", "[::ffff:127.0.0.1]"},
      {"https://my_host.internal:65535/a%20b/c-d_e~f", true, "my_host.internal", "65535", "/a%20b/c-d_e~f",
       "my_host.internal:65535"},
      {"https://h:1/", true, "h", "1", "", "h:1"},
  };
  for (const auto& r : table) {
    BOOST_TEST_CONTEXT(r.url) {
      const auto parsed = kc::parse_base_url(r.url);
      if (const auto* error = std::get_if<std::string>(&parsed)) BOOST_TEST_MESSAGE("error: " << *error);
      BOOST_TEST_REQUIRE(std::holds_alternative<kc::base_url>(parsed));
      const auto& url = std::get<kc::base_url>(parsed);
      BOOST_TEST(url.tls == r.tls);
      BOOST_TEST(url.host == r.host);
      BOOST_TEST(url.port == r.port);
      BOOST_TEST(url.path == r.path);
      BOOST_TEST(url.host_header == r.host_header);
    }
  }
}

BOOST_AUTO_TEST_CASE(rejected_with_a_sentence) {
  struct row {
    std::string url;
    std::string mentions;
  };
  const std::vector<row> table = {
      {"", "empty"},
      {"   ", "empty"},
      {"modelgates.ai/api/v1", "must start with https://"},
      {"ftp://modelgates.ai", "scheme \"ftp\" is not supported"},
      {"https//modelgates.ai", "must start with https://"},
      {"https://", "no host"},
      {"https:///api/v1", "no host"},
      {"https://:8443/api", "no host"},
      {"https://user:secret@modelgates.ai/api/v1", "user name or password"},
      {"https://@modelgates.ai", "user name or password"},
      {"https://modelgates.ai/api/v1?x=1", "query"},
      {"https://modelgates.ai/api/v1#frag", "fragment"},
      {"https://modelgates.ai:0/api", "1 to 65535"},
      {"https://modelgates.ai:65536/api", "1 to 65535"},
      {"https://modelgates.ai:99999999/api", "1 to 65535"},
      {"https://modelgates.ai:/api", "1 to 65535"},
      {"https://modelgates.ai:https/api", "1 to 65535"},
      {"https://modelgates.ai:-1/api", "1 to 65535"},
      {"https://::1/api", "needs brackets"},
      {"https://[::1/api", "closing ']'"},
      {"https://[]/api", "IPv6 address \"\" is not valid"},
      {"https://[nothex]/api", "is not valid"},
      {"https://[::1]x/api", "after the IPv6 address"},
      {"https://model gates.ai/api", "not allowed"},
      {"https://modelgates.ai\x01/api", "not allowed"},
      {"https://modelgates.ai/api v1", "percent-encode"},
      {"https://modelgates.ai/api%2", "percent-encode"},
      {"https://modelgates.ai/api%zz", "percent-encode"},
      {"https://modelgates.ai/\xC3\xA9", "percent-encode"},
  };
  for (const auto& [url, mentions] : table) {
    BOOST_TEST_CONTEXT("\"" << url << "\"") {
      const auto parsed = kc::parse_base_url(url);
      BOOST_TEST_REQUIRE(std::holds_alternative<std::string>(parsed));
      const std::string& error = std::get<std::string>(parsed);
      BOOST_TEST(error.find(mentions) != std::string::npos, "\"" << error << "\" mentions \"" << mentions << "\"");
      BOOST_TEST(error.ends_with("."));
      for (const char c : error) BOOST_TEST((c >= 0x20 && c < 0x7f));
    }
  }
}

BOOST_AUTO_TEST_CASE(key_targets) {
  const kc::key_hash hash = *kc::parse_key_hash("F01D52606DC8F0A8303A7B5CC3FA07109C2E346CEC7C0A16B40DE462992CE943");
  struct row {
    std::string url;
    std::string target;
  };
  const std::vector<row> table = {
      {"https://modelgates.ai/api/v1", "/api/v1/keys/f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943"},
      {"https://modelgates.ai/api/v1/", "/api/v1/keys/f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943"},
      {"http://localhost:8080", "/keys/f01d52606dc8f0a8303a7b5cc3fa07109c2e346cec7c0a16b40de462992ce943"},
  };
  for (const auto& [url, target] : table) {
    BOOST_TEST_CONTEXT(url) {
      const auto base = std::get<kc::base_url>(kc::parse_base_url(url));
      std::string out = "stale contents";
      kc::key_target(out, base, hash);
      BOOST_TEST(out == target);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
