#include "keyrevoke/core/network_path.hpp"

#include <boost/test/unit_test.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kc = keyrevoke::core;

namespace {

kc::base_url origin(const std::string& url) { return std::get<kc::base_url>(kc::parse_base_url(url)); }

// A fake environment: the variables set (an empty value is set).
kc::env_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const char* name) -> const char* {
    const auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(network_path)

// curl's lib/noproxy.c, case by case (the table of curl's own test 1614 plus the blanks/commas rules).
BOOST_AUTO_TEST_CASE(no_proxy_matching_is_curls) {
  struct row {
    std::string host, list;
    bool match;
  };
  const std::vector<row> table = {
      {"example.com", "", false},
      {"example.com", "*", true},
      {"anything.internal", "*", true},
      {"example.com", " *", false},  // "*" only as the whole list
      {"example.com", "*,other", false},
      {"example.com", "example.com", true},
      {"example.com", "EXAMPLE.COM", true},
      {"www.example.com", "example.com", true},
      {"www.example.com", ".example.com", true},
      {"example.com", ".example.com", true},
      {"notexample.com", "example.com", false},
      {"example.com", "www.example.com", false},
      {"example.com.", "example.com", true},  // trailing dot on the name
      {"example.com", "example.com.", true},  // and on the entry
      {"a.b.example.com", "b.example.com", true},
      {"example.com", "foo,example.com", true},
      {"example.com", "foo, example.com", true},
      {"example.com", "foo ,,, example.com", true},
      {"example.com", "foo bar,example.com", false},  // a blank inside ends the list (curl)
      {"example.com", "example.com:443", false},      // no ports in entries (curl)
      {"example.com", "com", true},                   // a domain suffix on a dot boundary
      {"localhost", "localhost,127.0.0.1", true},
      {"127.0.0.1", "localhost,127.0.0.1", true},
      {"127.0.0.1", "localhost", false},
      {"127.0.0.1", "127.0.0.0/8", true},
      {"10.1.2.3", "10.0.0.0/8", true},
      {"11.1.2.3", "10.0.0.0/8", false},
      {"192.168.1.1", "192.168.0.0/16", true},
      {"192.168.1.1", "192.168.1.1/32", true},
      {"192.168.1.1", "192.168.1.2/0", false},  // curl: /0 compares the whole address
      {"192.168.1.1", "192.168.1.1/33", false},
      {"192.168.1.1", "192.168.1.1/x", false},
      {"192.168.1.1", "192.168", false},  // no textual suffix match on addresses
      {"::1", "::1", true},
      {"::1", "::2", false},
      {"fe80::1", "fe80::/10", true},
      {"2001:db8::1", "2001:db8::/32", true},
      {"2001:db9::1", "2001:db8::/32", false},
      {"2001:db8::1", "2001:db8::/129", false},
      {"", "*", false},  // no host, nothing to match
  };
  for (const auto& r : table) {
    BOOST_TEST_CONTEXT("host '" << r.host << "' list '" << r.list << "'") {
      BOOST_TEST(kc::no_proxy_matches(r.host, r.list) == r.match);
    }
  }
}

BOOST_AUTO_TEST_CASE(proxy_urls) {
  struct row {
    std::string text;
    std::string host, port, display;
    std::optional<std::string> user, password;
  };
  const std::vector<row> table = {
      {"http://proxy:3128", "proxy", "3128", "http://proxy:3128", std::nullopt, std::nullopt},
      {"proxy:3128", "proxy", "3128", "http://proxy:3128", std::nullopt, std::nullopt},  // scheme guessed
      {"proxy", "proxy", "1080", "http://proxy:1080", std::nullopt, std::nullopt},       // curl's default port
      {"HTTP://Proxy.Corp:8080/", "proxy.corp", "8080", "http://proxy.corp:8080", std::nullopt, std::nullopt},
      {"http://[::1]:3128", "::1", "3128", "http://[::1]:3128", std::nullopt, std::nullopt},
      {"http://127.0.0.1:3128", "127.0.0.1", "3128", "http://127.0.0.1:3128", std::nullopt, std::nullopt},
      {"http://alice:s3cret@proxy:3128", "proxy", "3128", "http://proxy:3128", "alice", "s3cret"},
      {"http://alice@proxy:3128", "proxy", "3128", "http://proxy:3128", "alice", ""},
      {"http://al%69ce:p%40ss%3Aw@proxy:3128", "proxy", "3128", "http://proxy:3128", "alice", "p@ss:w"},
      {"http://alice:p@ss@proxy:3128", "proxy", "3128", "http://proxy:3128", "alice", "p@ss"},  // last '@'
  };
  for (const auto& r : table) {
    BOOST_TEST_CONTEXT(r.text) {
      const auto parsed = kc::parse_proxy_url(r.text);
      if (const auto* error = std::get_if<std::string>(&parsed)) BOOST_TEST_MESSAGE("error: " << *error);
      BOOST_TEST_REQUIRE(std::holds_alternative<kc::proxy_url>(parsed));
      const auto& p = std::get<kc::proxy_url>(parsed);
      BOOST_TEST(p.host == r.host);
      BOOST_TEST(p.port == r.port);
      BOOST_TEST(p.display == r.display);
      BOOST_TEST(p.credentials.has_value() == r.user.has_value());
      if (p.credentials && r.user) {
        BOOST_TEST(p.credentials->user == *r.user);
        BOOST_TEST(p.credentials->password == *r.password);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(proxy_urls_refused_without_echoing_credentials) {
  struct row {
    std::string text;
    std::string says;  // a part of the sentence
  };
  const std::vector<row> table = {
      {"https://proxy:3128", "https:// proxies"},
      {"socks5://proxy:1080", "SOCKS"},
      {"socks5h://proxy:1080", "SOCKS"},
      {"socks4://proxy:1080", "SOCKS"},
      {"ftp://proxy:21", "unknown proxy scheme"},
      {"http://proxy:0", "port"},
      {"http://proxy:65536", "port"},
      {"http://proxy:31x", "port"},
      {"http://proxy:3128/path", "no path"},
      {"http://proxy:3128?q", "no path"},
      {"http://", "no valid host"},
      {"http://alice:secretpw@", "no valid host"},
      {"http://alice:secret%zzpw@proxy", "%-escape"},
      {"http://alice:secret%0dpw@proxy", "control"},
      {"http://ali%3Ace:secretpw@proxy", "':'"},
      {"http://[::1:3128", "no valid host"},
      {"http://pro xy:3128", "no valid host"},
  };
  for (const auto& r : table) {
    BOOST_TEST_CONTEXT(r.text) {
      const auto parsed = kc::parse_proxy_url(r.text);
      BOOST_TEST_REQUIRE(std::holds_alternative<std::string>(parsed));
      const std::string& error = std::get<std::string>(parsed);
      BOOST_TEST(error.find(r.says) != std::string::npos, error);
      BOOST_TEST(error.find("secret") == std::string::npos, error);
    }
  }
}

BOOST_AUTO_TEST_CASE(proxy_user_file_lines) {
  struct row {
    std::string line;
    bool ok;
    std::string user, password;
  };
  const std::vector<row> table = {
      {"alice:s3cret", true, "alice", "s3cret"},
      {"alice:s3cret\n", true, "alice", "s3cret"},
      {"alice:s3cret\r\n", true, "alice", "s3cret"},
      {"alice:pa:ss", true, "alice", "pa:ss"},
      {"alice:", true, "alice", ""},
      {"alice", false, "", ""},
      {":secret", false, "", ""},
      {"alice:sec\tret", false, "", ""},
  };
  for (const auto& r : table) {
    BOOST_TEST_CONTEXT(r.line) {
      const auto parsed = kc::parse_proxy_user(r.line);
      BOOST_TEST(std::holds_alternative<kc::proxy_credentials>(parsed) == r.ok);
      if (const auto* c = std::get_if<kc::proxy_credentials>(&parsed)) {
        BOOST_TEST(c->user == r.user);
        BOOST_TEST(c->password == r.password);
      } else {
        BOOST_TEST(std::get<std::string>(parsed).find("secret") == std::string::npos);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(basic_authorization_is_rfc_7617) {
  // RFC 7617 2: Aladdin / open sesame.
  BOOST_TEST(kc::basic_authorization({"Aladdin", "open sesame"}) == "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
  BOOST_TEST(kc::basic_authorization({"a", ""}) == "Basic YTo=");
  BOOST_TEST(kc::basic_authorization({"ab", "c"}) == "Basic YWI6Yw==");
  BOOST_TEST(kc::basic_authorization({"ab", "cd"}) == "Basic YWI6Y2Q=");
}

BOOST_AUTO_TEST_CASE(connect_to_rules) {
  struct row {
    std::string text;
    bool ok;
    std::string host, port, to_host, to_port;
  };
  const std::vector<row> table = {
      {"api.example:443:127.0.0.1:8443", true, "api.example", "443", "127.0.0.1", "8443"},
      {"API.Example:443:Edge-2.Example:443", true, "api.example", "443", "edge-2.example", "443"},
      {"::127.0.0.1:8443", true, "", "", "127.0.0.1", "8443"},
      {"api.example:::8443", true, "api.example", "", "", "8443"},
      {"api.example:443:edge:", true, "api.example", "443", "edge", ""},
      {"api.example:443:edge", true, "api.example", "443", "edge", ""},
      {"[::1]:443:[::2]:8443", true, "::1", "443", "::2", "8443"},
      {":::", true, "", "", "", ""},
      {"api.example:443", false, "", "", "", ""},
      {"api.example", false, "", "", "", ""},
      {"api.example:x:edge:1", false, "", "", "", ""},
      {"api.example:443:edge:99999", false, "", "", "", ""},
      {"[::1:443:edge:1", false, "", "", "", ""},
      {"bad host:443:edge:1", false, "", "", "", ""},
      {std::string{"[::\0\r\nX: y]:443:edge:1", 22}, false, "", "", "", ""},  // found by fuzz_network_path
      {std::string{"a:443:[::1\0\r\nX: y]:1", 20}, false, "", "", "", ""},
  };
  for (const auto& r : table) {
    BOOST_TEST_CONTEXT(r.text) {
      const auto parsed = kc::parse_connect_to(r.text);
      BOOST_TEST_REQUIRE(std::holds_alternative<kc::connect_to_rule>(parsed) == r.ok);
      if (const auto* rule = std::get_if<kc::connect_to_rule>(&parsed)) {
        BOOST_TEST(rule->host == r.host);
        BOOST_TEST(rule->port == r.port);
        BOOST_TEST(rule->to_host == r.to_host);
        BOOST_TEST(rule->to_port == r.to_port);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(resolve_rules) {
  struct row {
    std::string text;
    bool ok;
    std::string host, port;
    std::vector<std::string> addresses;
  };
  const std::vector<row> table = {
      {"api.example:443:127.0.0.1", true, "api.example", "443", {"127.0.0.1"}},
      {"API.example:443:127.0.0.1,::1", true, "api.example", "443", {"127.0.0.1", "::1"}},
      {"api.example:443:[::1],10.0.0.1", true, "api.example", "443", {"::1", "10.0.0.1"}},
      {"+api.example:443:127.0.0.1", true, "api.example", "443", {"127.0.0.1"}},
      {"*:443:127.0.0.1", true, "*", "443", {"127.0.0.1"}},
      {"api.example:443:127.0.0.1,,", true, "api.example", "443", {"127.0.0.1"}},
      {"api.example:443:", false, "", "", {}},
      {"api.example:443:localhost", false, "", "", {}},
      {"api.example:443", false, "", "", {}},
      {"api.example:0:127.0.0.1", false, "", "", {}},
      {"-api.example:443", false, "", "", {}},
      {":443:127.0.0.1", false, "", "", {}},
      {"api.example:443:[::1", false, "", "", {}},
      {std::string{"api.example:443:127.0.0.1\0junk", 30}, false, "", "", {}},
  };
  for (const auto& r : table) {
    BOOST_TEST_CONTEXT(r.text) {
      const auto parsed = kc::parse_resolve(r.text);
      BOOST_TEST_REQUIRE(std::holds_alternative<kc::resolve_rule>(parsed) == r.ok);
      if (const auto* rule = std::get_if<kc::resolve_rule>(&parsed)) {
        BOOST_TEST(rule->host == r.host);
        BOOST_TEST(rule->port == r.port);
        BOOST_TEST(rule->addresses == r.addresses, boost::test_tools::per_element());
      }
    }
  }
}

// Which proxy, from where: curl's order of variables, --proxy over them, no_proxy over both.
BOOST_AUTO_TEST_CASE(proxy_selection) {
  struct row {
    std::string name;
    std::string url;
    std::optional<std::string> proxy, noproxy;
    std::map<std::string, std::string> env;
    std::optional<std::string> expect_display;  // nullopt: direct
    std::string expect_source;
  };
  const std::string https = "https://api.example/api/v1";
  const std::string http = "http://api.example/api/v1";
  const std::vector<row> table = {
      {"nothing set", https, {}, {}, {}, std::nullopt, ""},
      {"https_proxy", https, {}, {}, {{"https_proxy", "http://p1:3128"}}, "http://p1:3128", "https_proxy"},
      {"HTTPS_PROXY", https, {}, {}, {{"HTTPS_PROXY", "http://p2:3128"}}, "http://p2:3128", "HTTPS_PROXY"},
      {"lower case first", https, {}, {}, {{"https_proxy", "p1:1"}, {"HTTPS_PROXY", "p2:2"}}, "http://p1:1", "https_proxy"},
      {"empty lower case: no proxy", https, {}, {}, {{"https_proxy", ""}, {"HTTPS_PROXY", "p2:2"}}, std::nullopt, ""},
      {"all_proxy", https, {}, {}, {{"all_proxy", "p3:3"}}, "http://p3:3", "all_proxy"},
      {"ALL_PROXY", https, {}, {}, {{"ALL_PROXY", "p4:4"}}, "http://p4:4", "ALL_PROXY"},
      {"scheme variable over all_proxy", https, {}, {}, {{"all_proxy", "p3:3"}, {"HTTPS_PROXY", "p2:2"}}, "http://p2:2",
       "HTTPS_PROXY"},
      {"http_proxy for http", http, {}, {}, {{"http_proxy", "p5:5"}}, "http://p5:5", "http_proxy"},
      {"HTTP_PROXY ignored (httpoxy)", http, {}, {}, {{"HTTP_PROXY", "p6:6"}}, std::nullopt, ""},
      {"https_proxy not for http", http, {}, {}, {{"https_proxy", "p1:1"}}, std::nullopt, ""},
      {"--proxy over env", https, "http://p7:7", {}, {{"HTTPS_PROXY", "p2:2"}}, "http://p7:7", "--proxy"},
      {"--proxy '' disables", https, "", {}, {{"HTTPS_PROXY", "p2:2"}}, std::nullopt, ""},
      {"NO_PROXY matches", https, {}, {}, {{"HTTPS_PROXY", "p2:2"}, {"NO_PROXY", "example"}}, std::nullopt, ""},
      {"no_proxy over NO_PROXY", https, {}, {}, {{"HTTPS_PROXY", "p2:2"}, {"no_proxy", "other"}, {"NO_PROXY", "*"}},
       "http://p2:2", "HTTPS_PROXY"},
      {"NO_PROXY applies to --proxy too", https, "p7:7", {}, {{"NO_PROXY", "api.example"}}, std::nullopt, ""},
      {"--noproxy over NO_PROXY", https, {}, "other", {{"HTTPS_PROXY", "p2:2"}, {"NO_PROXY", "*"}}, "http://p2:2",
       "HTTPS_PROXY"},
      {"--noproxy '' overrides NO_PROXY", https, {}, "", {{"HTTPS_PROXY", "p2:2"}, {"NO_PROXY", "*"}}, "http://p2:2",
       "HTTPS_PROXY"},
      {"--noproxy '*'", https, "p7:7", "*", {}, std::nullopt, ""},
  };
  for (const auto& r : table) {
    BOOST_TEST_CONTEXT(r.name) {
      kc::network_settings settings;
      settings.proxy = r.proxy;
      settings.noproxy = r.noproxy;
      const auto planned = kc::plan_route(origin(r.url), settings, env_of(r.env));
      if (const auto* error = std::get_if<std::string>(&planned)) BOOST_TEST_MESSAGE("error: " << *error);
      BOOST_TEST_REQUIRE(std::holds_alternative<kc::route>(planned));
      const auto& route = std::get<kc::route>(planned);
      BOOST_TEST(route.proxy.has_value() == r.expect_display.has_value());
      if (route.proxy && r.expect_display) {
        BOOST_TEST(route.proxy->display == *r.expect_display);
        BOOST_TEST(route.proxy->source == r.expect_source);
        BOOST_TEST(route.dial_host == route.proxy->host);
        BOOST_TEST(route.tunnel_target == "api.example:" + std::string{r.url.rfind("https", 0) == 0 ? "443" : "80"});
      } else {
        BOOST_TEST(route.dial_host == "api.example");
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(credentials_and_their_refusals) {
  const auto base = origin("https://api.example/api/v1");
  struct row {
    std::string name;
    std::optional<std::string> proxy;
    std::map<std::string, std::string> env;
    std::optional<kc::proxy_credentials> file;
    std::string authorization;  // "" with error_part set: an error is expected
    std::string error_part;
  };
  const std::vector<row> table = {
      {"none", "p:1", {}, std::nullopt, "", ""},
      {"from env userinfo", {}, {{"HTTPS_PROXY", "http://Aladdin:open%20sesame@p:1"}}, std::nullopt,
       "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==", ""},
      {"from the file", "p:1", {}, kc::proxy_credentials{"Aladdin", "open sesame"}, "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
       ""},
      {"user only on --proxy", "http://alice@p:1", {}, std::nullopt, "Basic YWxpY2U6", ""},
      {"password on --proxy", "http://alice:secretpw@p:1", {}, std::nullopt, "", "ps"},
      {"both", {}, {{"HTTPS_PROXY", "http://alice:secretpw@p:1"}}, kc::proxy_credentials{"bob", "x"}, "",
       "use one of them"},
      {"bad env URL", {}, {{"HTTPS_PROXY", "socks5://alice:secretpw@p:1"}}, std::nullopt, "", "HTTPS_PROXY"},
  };
  for (const auto& r : table) {
    BOOST_TEST_CONTEXT(r.name) {
      kc::network_settings settings;
      settings.proxy = r.proxy;
      settings.proxy_user = r.file;
      const auto planned = kc::plan_route(base, settings, env_of(r.env));
      if (!r.error_part.empty()) {
        BOOST_TEST_REQUIRE(std::holds_alternative<std::string>(planned));
        const std::string& error = std::get<std::string>(planned);
        BOOST_TEST(error.find(r.error_part) != std::string::npos, error);
        BOOST_TEST(error.find("secretpw") == std::string::npos, error);
        continue;
      }
      BOOST_TEST_REQUIRE(std::holds_alternative<kc::route>(planned));
      const auto& route = std::get<kc::route>(planned);
      BOOST_TEST_REQUIRE(route.proxy.has_value());
      BOOST_TEST(route.proxy->authorization == r.authorization);
      BOOST_TEST(route.proxy->display.find('@') == std::string::npos);
    }
  }
}

// Where TCP goes: --connect-to changes the destination (CONNECT's target through a proxy), --resolve
// pins the addresses of what is dialled (the proxy's, through one; the origin's name is never resolved).
BOOST_AUTO_TEST_CASE(connect_to_and_resolve_decide_the_dial) {
  struct row {
    std::string name;
    std::string url;
    std::optional<std::string> proxy;
    std::vector<std::string> connect_to, resolve;
    std::string dial_host, dial_port, tunnel_target;
    std::vector<std::string> pinned;
    bool connect_to_applied;
  };
  const std::vector<row> table = {
      {"direct", "https://api.example/v1", {}, {}, {}, "api.example", "443", "", {}, false},
      {"connect-to", "https://api.example/v1", {}, {"api.example:443:edge.example:8443"}, {}, "edge.example", "8443", "",
       {}, true},
      {"connect-to any host", "https://api.example/v1", {}, {":443:edge:"}, {}, "edge", "443", "", {}, true},
      {"connect-to any port", "https://api.example:9443/v1", {}, {"api.example::127.0.0.1:"}, {}, "127.0.0.1", "9443",
       "", {}, true},
      {"connect-to other port: no match", "https://api.example/v1", {}, {"api.example:8443:edge:1"}, {}, "api.example",
       "443", "", {}, false},
      {"connect-to other host: no match", "https://api.example/v1", {}, {"other:443:edge:1"}, {}, "api.example", "443",
       "", {}, false},
      {"first matching rule", "https://api.example/v1", {}, {"other:443:x:1", "api.example:443:y:2", ":443:z:3"}, {}, "y",
       "2", "", {}, true},
      {"empty destination looks further", "https://api.example/v1", {}, {"api.example:443::", ":443:z:3"}, {}, "z", "3",
       "", {}, true},
      {"case-insensitive host", "https://API.example/v1", {}, {"api.EXAMPLE:443:edge:1"}, {}, "edge", "1", "", {}, true},
      {"IPv6 origin", "https://[::1]:8443/v1", {}, {"[::1]:8443:127.0.0.1:9"}, {}, "127.0.0.1", "9", "", {}, true},
      {"resolve", "https://api.example/v1", {}, {}, {"api.example:443:127.0.0.1,::1"}, "api.example", "443", "",
       {"127.0.0.1", "::1"}, false},
      {"resolve other port: no pin", "https://api.example/v1", {}, {}, {"api.example:8443:127.0.0.1"}, "api.example",
       "443", "", {}, false},
      {"resolve wildcard", "https://api.example/v1", {}, {}, {"*:443:10.0.0.1"}, "api.example", "443", "", {"10.0.0.1"},
       false},
      {"named rule over the wildcard", "https://api.example/v1", {}, {}, {"*:443:10.0.0.1", "api.example:443:10.0.0.2"},
       "api.example", "443", "", {"10.0.0.2"}, false},
      {"resolve the connect-to target", "https://api.example/v1", {}, {"api.example:443:edge:8443"},
       {"api.example:443:10.0.0.1", "edge:8443:10.0.0.9"}, "edge", "8443", "", {"10.0.0.9"}, true},
      {"an IP literal is not pinned", "https://127.0.0.1:8443/v1", {}, {}, {"*:8443:10.0.0.1"}, "127.0.0.1", "8443", "",
       {}, false},
      {"proxy: the origin is not resolved", "https://api.example/v1", "proxy.corp:3128", {},
       {"api.example:443:10.0.0.1"}, "proxy.corp", "3128", "api.example:443", {}, false},
      {"proxy: its own name pinned", "https://api.example/v1", "proxy.corp:3128", {}, {"proxy.corp:3128:10.9.9.9"},
       "proxy.corp", "3128", "api.example:443", {"10.9.9.9"}, false},
      {"proxy: connect-to goes into CONNECT", "https://api.example/v1", "proxy.corp:3128",
       {"api.example:443:edge.example:8443"}, {}, "proxy.corp", "3128", "edge.example:8443", {}, true},
      {"proxy: IPv6 target bracketed", "https://[::1]:8443/v1", "proxy.corp:3128", {}, {}, "proxy.corp", "3128",
       "[::1]:8443", {}, false},
  };
  for (const auto& r : table) {
    BOOST_TEST_CONTEXT(r.name) {
      kc::network_settings settings;
      settings.proxy = r.proxy;
      for (const auto& text : r.connect_to) settings.connect_to.push_back(std::get<kc::connect_to_rule>(kc::parse_connect_to(text)));
      for (const auto& text : r.resolve) settings.resolve.push_back(std::get<kc::resolve_rule>(kc::parse_resolve(text)));
      const auto planned = kc::plan_route(origin(r.url), settings, env_of({}));
      BOOST_TEST_REQUIRE(std::holds_alternative<kc::route>(planned));
      const auto& route = std::get<kc::route>(planned);
      BOOST_TEST(route.dial_host == r.dial_host);
      BOOST_TEST(route.dial_port == r.dial_port);
      BOOST_TEST(route.tunnel_target == r.tunnel_target);
      BOOST_TEST(route.pinned == r.pinned, boost::test_tools::per_element());
      BOOST_TEST(route.connect_to_applied == r.connect_to_applied);
    }
  }
}

BOOST_AUTO_TEST_CASE(connect_request_and_answers) {
  kc::network_settings settings;
  settings.proxy = "p:3128";
  settings.proxy_user = kc::proxy_credentials{"Aladdin", "open sesame"};
  auto route = std::get<kc::route>(kc::plan_route(origin("https://api.example:8443/v1"), settings, env_of({})));
  BOOST_TEST(kc::connect_request(route, "keyrevoke/1") ==
             "CONNECT api.example:8443 HTTP/1.1\r\nHost: api.example:8443\r\n"
             "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\nUser-Agent: keyrevoke/1\r\n\r\n");
  route.proxy->authorization.clear();
  BOOST_TEST(kc::connect_request(route, "k") == "CONNECT api.example:8443 HTTP/1.1\r\nHost: api.example:8443\r\n"
                                                "User-Agent: k\r\n\r\n");

  struct row {
    unsigned status;
    kc::tunnel_answer kind;
  };
  const std::vector<row> table = {
      {200, kc::tunnel_answer::established}, {204, kc::tunnel_answer::established},
      {299, kc::tunnel_answer::established}, {100, kc::tunnel_answer::refused},
      {301, kc::tunnel_answer::refused},     {403, kc::tunnel_answer::refused},
      {407, kc::tunnel_answer::refused},     {400, kc::tunnel_answer::refused},
      {502, kc::tunnel_answer::failed},      {503, kc::tunnel_answer::failed},
      {504, kc::tunnel_answer::failed},      {600, kc::tunnel_answer::refused},
  };
  for (const auto& r : table) {
    BOOST_TEST_CONTEXT(r.status) { BOOST_TEST(static_cast<int>(kc::classify_tunnel_answer(r.status)) == static_cast<int>(r.kind)); }
  }
  const std::string refused = kc::describe_tunnel_answer(route, 407, "Proxy Authentication Required\r\nX: y");
  BOOST_TEST(refused.find("http://p:3128 (from --proxy)") != std::string::npos, refused);
  BOOST_TEST(refused.find("407 Proxy Authentication Required") != std::string::npos, refused);
  BOOST_TEST(refused.find("requires credentials") != std::string::npos, refused);
  BOOST_TEST(refused.find('\r') == std::string::npos, refused);
  route.proxy->authorization = "Basic xyz";
  BOOST_TEST(kc::describe_tunnel_answer(route, 407, "").find("rejected the proxy credentials") != std::string::npos);
  BOOST_TEST(kc::describe_tunnel_answer(route, 407, "").find("xyz") == std::string::npos);
  BOOST_TEST(kc::describe_tunnel_answer(route, 502, "Bad Gateway").find("could not reach") != std::string::npos);
}

// More proxy URLs: each part's edge (schemes in any case, IPv6 without a port, escapes, ports), and
// what must be refused.
BOOST_AUTO_TEST_CASE(proxy_url_edges) {
  struct row {
    std::string text;
    bool ok;
    std::string host_or_error, port;
    std::optional<std::string> user, password;
  };
  const std::vector<row> table = {
      {"http://[::1]", true, "::1", "1080", std::nullopt, std::nullopt},
      {"http://[FE80::A]:8080/", true, "fe80::a", "8080", std::nullopt, std::nullopt},
      {"http://proxy:08080", true, "proxy", "8080", std::nullopt, std::nullopt},
      {"http://proxy:65535", true, "proxy", "65535", std::nullopt, std::nullopt},
      {"http://proxy:1", true, "proxy", "1", std::nullopt, std::nullopt},
      {"http://my_proxy.corp-1:3128", true, "my_proxy.corp-1", "3128", std::nullopt, std::nullopt},
      {"http://%41lice:%4a%4B@proxy", true, "proxy", "1080", "Alice", "JK"},
      {"http://:pw@proxy:1", true, "proxy", "1", "", "pw"},
      {"http://alice:@proxy:1", true, "proxy", "1", "alice", ""},
      {"http://al/ice@proxy:1", false, "no path", "", std::nullopt, std::nullopt},
      {"http://[::1]x8080", false, "no valid host", "", std::nullopt, std::nullopt},
      {"http://[::1]8080", false, "no valid host", "", std::nullopt, std::nullopt},
      {"http://[]:1", false, "no valid host", "", std::nullopt, std::nullopt},
      {"http://[fe80::1%25eth0]:1", false, "no valid host", "", std::nullopt, std::nullopt},
      {"http://[127.0.0.1]:1", false, "no valid host", "", std::nullopt, std::nullopt},
      {"http://proxy:", false, "port must be 1 to 65535, not ''", "", std::nullopt, std::nullopt},
      {"http://proxy:123456", false, "port", "", std::nullopt, std::nullopt},
      {"http://proxy:+80", false, "port", "", std::nullopt, std::nullopt},
      {"http://proxy:80:81", false, "port", "", std::nullopt, std::nullopt},
      {"http://proxy#frag", false, "no path", "", std::nullopt, std::nullopt},
      {"SOCKS5://proxy", false, "SOCKS proxies (socks5://)", "", std::nullopt, std::nullopt},
      {"socks4a://proxy", false, "SOCKS proxies (socks4a://)", "", std::nullopt, std::nullopt},
      {"HTTPS://proxy", false, "https:// proxies", "", std::nullopt, std::nullopt},
      {"://proxy", false, "unknown proxy scheme ''", "", std::nullopt, std::nullopt},
      {"gopher-over-something-long://proxy", false, "unknown proxy scheme 'gopher-over-somethin'", "",
       std::nullopt, std::nullopt},
      {"http://u:p%4@proxy", false, "%-escape", "", std::nullopt, std::nullopt},
      {"http://u:p%@proxy", false, "%-escape", "", std::nullopt, std::nullopt},
      {"http://u%g1:p@proxy", false, "%-escape", "", std::nullopt, std::nullopt},
      {"http://u%7f:p@proxy", false, "control", "", std::nullopt, std::nullopt},
      {"http://u:p%00@proxy", false, "control", "", std::nullopt, std::nullopt},
      {"http://pr\x01oxy:1", false, "no valid host 'pr?oxy:1'", "", std::nullopt, std::nullopt},
      {"http://" + std::string(100, 'a') + "!", false, "no valid host '" + std::string(80, 'a') + "...'", "",
       std::nullopt, std::nullopt},
  };
  for (const auto& r : table) {
    BOOST_TEST_CONTEXT(r.text) {
      const auto parsed = kc::parse_proxy_url(r.text);
      BOOST_TEST_REQUIRE(std::holds_alternative<kc::proxy_url>(parsed) == r.ok);
      if (const auto* p = std::get_if<kc::proxy_url>(&parsed)) {
        BOOST_TEST(p->host == r.host_or_error);
        BOOST_TEST(p->port == r.port);
        BOOST_TEST(p->credentials.has_value() == r.user.has_value());
        if (p->credentials && r.user) {
          BOOST_TEST(p->credentials->user == *r.user);
          BOOST_TEST(p->credentials->password == *r.password);
        }
      } else {
        const std::string& error = std::get<std::string>(parsed);
        BOOST_TEST(error.find(r.host_or_error) != std::string::npos, error);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(proxy_user_file_edges) {
  struct row {
    std::string line;
    bool ok;
  };
  const std::vector<row> table = {
      {"alice:pa\x7fss", false},
      {"ali\x1b"
       "ce:pass",
       false},
      {"alice:pass\r\n\r\n", true},
      {"", false},
      {":", false},
      {"a::", true},
  };
  for (const auto& r : table) {
    BOOST_TEST_CONTEXT(r.line) {
      BOOST_TEST(std::holds_alternative<kc::proxy_credentials>(kc::parse_proxy_user(r.line)) == r.ok);
    }
  }
}

// More of curl's no-proxy rules: blanks, commas, dots, and CIDR lengths on both families.
BOOST_AUTO_TEST_CASE(no_proxy_edges) {
  struct row {
    std::string host, list;
    bool match;
  };
  const std::vector<row> table = {
      {"example.com", "\texample.com\t", true},
      {"example.com", ",,,example.com", true},
      {"example.com", "other,", false},
      {"example.com", ".com", true},
      {"example.com", ".", false},
      {"example.com", "..", false},
      {"example.com", "Example.Com.", true},
      {"a.example.com", "A.EXAMPLE.COM", true},
      {"example.com", "xample.com", false},
      {"example.com", "other\t,\texample.com", true},
      {"example.com", "other;example.com", false},
      {"::1", "[::1]", false},  // entries are bare addresses
      {"::1", "0:0:0:0:0:0:0:1", true},
      {"::1", "::/0", false},  // /0 compares the whole address (curl)
      {"::", "::/0", true},
      {"2001:db8::1", "2001:db8::1/128", true},
      {"2001:db8::2", "2001:db8::/127", false},
      {"2001:db8::1", "2001:db8::/127", true},
      {"2001:db8::1", "2001:db8::/126", true},
      {"2001:db8::1", "2000::/7", true},
      {"2201:db8::1", "2000::/7", false},
      {"2001:db8::1", "2001:db8::/1x", false},
      {"::1", "127.0.0.1", false},
      {"127.0.0.1", "::1", false},
      {"::ffff:10.0.0.1", "10.0.0.0/8", false},  // an IPv4-mapped address is an IPv6 one (curl)
      {"10.0.0.1", "10.0.0.0/", false},
      {"10.0.0.1", "10.0.0.0/0008", false},
      {"10.0.0.1", "10.0.0.0/" + std::string(130, '1'), false},
      {"10.0.0.1", "10.0.0.0/31", true},
      {"10.0.0.2", "10.0.0.0/31", false},
      {"10.0.0.1", "10.0.0.1/0", true},
      {"10.0.0.1", "localhost, 10.0.0.1", true},
      {"10.0.0.1", std::string{"10.0.0.1\0", 9}, false},
      {"example.com", std::string(200, 'a') + ".com,example.com", true},
  };
  for (const auto& r : table) {
    BOOST_TEST_CONTEXT("host '" << r.host << "' list '" << r.list << "'") {
      BOOST_TEST(kc::no_proxy_matches(r.host, r.list) == r.match);
    }
  }
}

// --connect-to and --resolve: more malformed forms, and the bracketed IPv6 forms.
BOOST_AUTO_TEST_CASE(connect_to_and_resolve_edges) {
  struct connect_row {
    std::string text;
    bool ok;
    std::string to_host, to_port;
  };
  const std::vector<connect_row> connect = {
      {"h:443:[::2]", true, "::2", ""},
      {"h:443:[::2]:", true, "::2", ""},
      {"h:443:[::2]:1", true, "::2", "1"},
      {"[::1]x443:h:1", false, "", ""},  // only ':' after ']'
      {"[::1]:443x:h:1", false, "", ""},
      {"h:443:[::2]x1", false, "", ""},
      {"h:443:[::2]1", false, "", ""},
      {"h:443:[zz]:1", false, "", ""},
      {"h:443:bad host:1", false, "", ""},
      {"h:443:edge:0", false, "", ""},
      {"h:0:edge:1", false, "", ""},
      {"h:443:edge:1:2", false, "", ""},
      {"", false, "", ""},
  };
  for (const auto& r : connect) {
    BOOST_TEST_CONTEXT(r.text) {
      const auto parsed = kc::parse_connect_to(r.text);
      BOOST_TEST_REQUIRE(std::holds_alternative<kc::connect_to_rule>(parsed) == r.ok);
      if (const auto* rule = std::get_if<kc::connect_to_rule>(&parsed)) {
        BOOST_TEST(rule->to_host == r.to_host);
        BOOST_TEST(rule->to_port == r.to_port);
      } else {
        BOOST_TEST(std::get<std::string>(parsed).starts_with("--connect-to takes HOST:PORT:HOST2:PORT2"));
      }
    }
  }
  struct resolve_row {
    std::string text;
    bool ok;
    std::vector<std::string> addresses;
  };
  const std::vector<resolve_row> resolve = {
      {"h:443:0:0:0:0:0:0:0:1", true, {"::1"}},
      {"h:443:::ffff:1.2.3.4", true, {"::ffff:1.2.3.4"}},
      {"h:443:[2001:DB8::1]", true, {"2001:db8::1"}},
      {"h_1.example:443:10.0.0.1", true, {"10.0.0.1"}},
      {"h:443:[],10.0.0.1", true, {"10.0.0.1"}},
      {"h:443:[]", false, {}},
      {"h:443:[", false, {}},
      {"h:443:[::1]x", false, {}},
      {"h:443:1.2.3", false, {}},
      {"h:443:1.2.3.4:80", false, {}},
      {"h:443:1.2.3.4 ", false, {}},
      {"h:abc:1.2.3.4", false, {}},
      {"h:65536:1.2.3.4", false, {}},
      {"[::1]:443:1.2.3.4", false, {}},
      {"bad host:443:1.2.3.4", false, {}},
      {"+-h:443:1.2.3.4", false, {}},
      {"h", false, {}},
      {"", false, {}},
  };
  for (const auto& r : resolve) {
    BOOST_TEST_CONTEXT(r.text) {
      const auto parsed = kc::parse_resolve(r.text);
      BOOST_TEST_REQUIRE(std::holds_alternative<kc::resolve_rule>(parsed) == r.ok);
      if (const auto* rule = std::get_if<kc::resolve_rule>(&parsed)) {
        BOOST_TEST(rule->addresses == r.addresses, boost::test_tools::per_element());
      } else {
        BOOST_TEST(std::get<std::string>(parsed).starts_with("--resolve takes HOST:PORT:ADDRESS"));
      }
    }
  }
}

// plan_route's remaining paths: no environment at all, a destination port alone, pins of other ports,
// an IPv6 literal dialled, credentials with a user-only URL and a file.
BOOST_AUTO_TEST_CASE(plan_route_edges) {
  struct row {
    std::string name;
    std::string url;
    std::optional<std::string> proxy;
    std::vector<std::string> connect_to, resolve;
    std::optional<kc::proxy_credentials> file;
    bool null_env;
    std::string dial_host, dial_port, error;
    std::vector<std::string> pinned;
  };
  const std::vector<row> table = {
      {"no environment function",
       "https://api.example/v1",
       {},
       {},
       {},
       std::nullopt,
       true,
       "api.example",
       "443",
       "",
       {}},
      {"connect-to: a port alone",
       "https://api.example/v1",
       {},
       {"api.example:443::8443"},
       {},
       std::nullopt,
       false,
       "api.example",
       "8443",
       "",
       {}},
      {"resolve: the pin of the target's port, not the origin's",
       "https://api.example/v1",
       {},
       {"api.example:443::8443"},
       {"api.example:443:10.0.0.1", "API.EXAMPLE:8443:10.0.0.2"},
       std::nullopt,
       false,
       "api.example",
       "8443",
       "",
       {"10.0.0.2"}},
      {"resolve: a wildcard of another port is not used",
       "https://api.example/v1",
       {},
       {},
       {"*:80:10.0.0.1", "other:443:10.0.0.2"},
       std::nullopt,
       false,
       "api.example",
       "443",
       "",
       {}},
      {"resolve: the first wildcard",
       "https://api.example/v1",
       {},
       {},
       {"*:443:10.0.0.1", "*:443:10.0.0.2"},
       std::nullopt,
       false,
       "api.example",
       "443",
       "",
       {"10.0.0.1"}},
      {"an IPv6 connect-to target is not pinned",
       "https://api.example/v1",
       {},
       {"::[::1]:9"},
       {"*:9:10.0.0.1"},
       std::nullopt,
       false,
       "::1",
       "9",
       "",
       {}},
      {"a user-only --proxy URL and a file",
       "https://api.example/v1",
       "http://alice@p:1",
       {},
       {},
       kc::proxy_credentials{"bob", "pw"},
       false,
       "",
       "",
       "--proxy has credentials and --proxy-user-file",
       {}},
      {"a bad --proxy",
       "https://api.example/v1",
       "http://[::1]x1",
       {},
       {},
       std::nullopt,
       false,
       "",
       "",
       "the proxy URL from --proxy: ",
       {}},
  };
  for (const auto& r : table) {
    BOOST_TEST_CONTEXT(r.name) {
      kc::network_settings settings;
      settings.proxy = r.proxy;
      settings.proxy_user = r.file;
      for (const auto& text : r.connect_to) {
        settings.connect_to.push_back(std::get<kc::connect_to_rule>(kc::parse_connect_to(text)));
      }
      for (const auto& text : r.resolve) {
        settings.resolve.push_back(std::get<kc::resolve_rule>(kc::parse_resolve(text)));
      }
      const kc::env_lookup env = r.null_env ? kc::env_lookup{} : env_of({});
      const auto planned = kc::plan_route(origin(r.url), settings, env);
      if (!r.error.empty()) {
        BOOST_TEST_REQUIRE(std::holds_alternative<std::string>(planned));
        BOOST_TEST(std::get<std::string>(planned).find(r.error) != std::string::npos,
                   std::get<std::string>(planned));
        continue;
      }
      BOOST_TEST_REQUIRE(std::holds_alternative<kc::route>(planned));
      const auto& route = std::get<kc::route>(planned);
      BOOST_TEST(route.dial_host == r.dial_host);
      BOOST_TEST(route.dial_port == r.dial_port);
      BOOST_TEST(route.pinned == r.pinned, boost::test_tools::per_element());
      BOOST_TEST(!route.proxy.has_value());
    }
  }
}

// The sentences for a proxy's answers, status by status.
BOOST_AUTO_TEST_CASE(tunnel_answer_sentences) {
  kc::network_settings settings;
  settings.proxy = "p:3128";
  const auto route =
      std::get<kc::route>(kc::plan_route(origin("https://api.example/v1"), settings, env_of({})));
  struct row {
    unsigned status;
    std::string reason;
    std::string sentence;
  };
  const std::vector<row> table = {
      {403, "Forbidden",
       "proxy http://p:3128 (from --proxy) answered CONNECT api.example:443 with 403 Forbidden: it does not "
       "allow "
       "this destination"},
      {301, "", "proxy http://p:3128 (from --proxy) answered CONNECT api.example:443 with 301"},
      {504, "Gateway Timeout",
       "proxy http://p:3128 (from --proxy) answered CONNECT api.example:443 with 504 Gateway Timeout: it "
       "could not "
       "reach the server"},
      {599, "",
       "proxy http://p:3128 (from --proxy) answered CONNECT api.example:443 with 599: it could not reach the "
       "server"},
      {600, "", "proxy http://p:3128 (from --proxy) answered CONNECT api.example:443 with 600"},
  };
  for (const auto& r : table) {
    BOOST_TEST_CONTEXT(r.status) {
      BOOST_TEST(kc::describe_tunnel_answer(route, r.status, r.reason) == r.sentence);
    }
  }
  // A route without a proxy (never asked in practice) still makes a sentence, and a request without one.
  const kc::route direct = kc::direct_route(origin("https://api.example/v1"));
  BOOST_TEST(kc::describe_tunnel_answer(direct, 407, "") ==
             "proxy  answered CONNECT  with 407: it requires credentials (user:password in the proxy URL, or "
             "--proxy-user-file)");
  BOOST_TEST(kc::connect_request(direct, "k") == "CONNECT  HTTP/1.1\r\nHost: \r\nUser-Agent: k\r\n\r\n");
}

BOOST_AUTO_TEST_SUITE_END()
