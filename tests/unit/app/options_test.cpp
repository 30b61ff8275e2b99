// The command line contract: defaults, validation, and that nothing secret is ever echoed.
#include "keyrevoke/app/options.hpp"

#include <boost/test/unit_test.hpp>

#include <vector>

using namespace keyrevoke::app;

namespace {

std::variant<options, early_exit> parse(std::vector<const char*> args, const char* env_url = nullptr) {
  args.insert(args.begin(), "keyrevoke");
  return parse_command_line(static_cast<int>(args.size()), args.data(), env_url);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(command_line)

BOOST_AUTO_TEST_CASE(defaults_match_the_documented_contract) {
  const auto parsed = parse({});
  BOOST_TEST_REQUIRE(std::holds_alternative<options>(parsed));
  const options& o = std::get<options>(parsed);
  BOOST_TEST(o.base_url == "https://modelgates.ai/api/v1");
  BOOST_TEST(o.report == "keyrevoke-report.jsonl");
  BOOST_TEST(o.concurrency == 16U);
  BOOST_TEST(o.max_attempts == 8U);
  BOOST_TEST(o.timeout_s == 30.0);
  BOOST_TEST(o.rate == 0.0);
  BOOST_TEST(o.inputs.empty());
  BOOST_TEST(!o.resume);
  BOOST_TEST(!o.force);
  BOOST_TEST(!o.no_lock);      // the report is locked unless the user asserts no other run writes it
  BOOST_TEST(!o.allow_empty);  // an input without any hash is an error (exit 2) unless allowed
}

BOOST_AUTO_TEST_CASE(no_lock_and_allow_empty_are_switches_the_help_explains) {
  const auto parsed = parse({"--no-lock", "--allow-empty"});
  BOOST_TEST(std::get<options>(parsed).no_lock);
  BOOST_TEST(std::get<options>(parsed).allow_empty);
  const auto help_exit = parse({"--help"});
  std::string help;  // its lines wrapped, rejoined with single spaces
  for (const char c : std::get<early_exit>(help_exit).text) {
    const bool space = c == ' ' || c == '\n';
    if (!space || (!help.empty() && help.back() != ' ')) help += space ? ' ' : c;
  }
  BOOST_TEST(help.find("--no-lock") != std::string::npos);
  BOOST_TEST(help.find("only when you know no other run writes this report") != std::string::npos);
  BOOST_TEST(help.find("--allow-empty") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(environment_base_url_is_overridden_by_the_option) {
  const auto from_env = parse({}, "https://env.example/api/v1");
  BOOST_TEST(std::get<options>(from_env).base_url == "https://env.example/api/v1");
  const auto from_option = parse({"--base-url", "https://opt.example/v1"}, "https://env.example/api/v1");
  BOOST_TEST(std::get<options>(from_option).base_url == "https://opt.example/v1");
}

BOOST_AUTO_TEST_CASE(inputs_and_values_are_parsed) {
  const auto parsed = parse({"--concurrency", "8", "--rate", "250.5", "--max-attempts", "3", "--timeout", "2",
                             "--progress", "never", "a.txt", "-", "b.txt"});
  const options& o = std::get<options>(parsed);
  BOOST_TEST(o.concurrency == 8U);
  BOOST_TEST(o.rate == 250.5);
  BOOST_TEST(o.max_attempts == 3U);
  BOOST_TEST(o.timeout_s == 2.0);
  BOOST_TEST((o.progress == progress_mode::never));
  BOOST_TEST((o.inputs == std::vector<std::string>{"a.txt", "-", "b.txt"}));
}

BOOST_AUTO_TEST_CASE(usage_errors_exit_2) {
  const std::vector<std::vector<const char*>> cases = {
      {"--concurrency", "0"},   {"--concurrency", "x"},     {"--max-attempts", "0"}, {"--timeout", "0"},
      {"--rate", "-1"},         {"--progress", "sometimes"}, {"--resume", "--force"}, {"--no-such-option"},
      {"--key-fil", "k.txt"},   // no abbreviations
  };
  for (const auto& args : cases) {
    BOOST_TEST_CONTEXT("args " << args.front()) {
      const auto parsed = parse(args);
      BOOST_TEST_REQUIRE(std::holds_alternative<early_exit>(parsed));
      BOOST_TEST(std::get<early_exit>(parsed).code == 2);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_key_given_as_an_option_is_never_echoed) {
  const auto parsed = parse({"--key=sk-mg-v1-0123456789abcdef0123456789abcdef"});
  BOOST_TEST_REQUIRE(std::holds_alternative<early_exit>(parsed));
  const early_exit& e = std::get<early_exit>(parsed);
  BOOST_TEST(e.code == 2);
  BOOST_TEST(e.text.find("0123456789abcdef") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(help_and_version_exit_0) {
  BOOST_TEST(std::get<early_exit>(parse({"--help"})).code == 0);
  BOOST_TEST(std::get<early_exit>(parse({"--help"})).text.find("--max-attempts") != std::string::npos);
  BOOST_TEST(std::get<early_exit>(parse({"--version"})).text.find("keyrevoke") == 0U);
}

BOOST_AUTO_TEST_CASE(a_key_given_as_another_options_value_is_never_echoed) {
  const char* key = "sk-mg-v1-0123456789abcdef0123456789abcdef";
  for (const char* option : {"--concurrency", "--rate", "--timeout", "--max-attempts", "--give-up-after"}) {
    BOOST_TEST_CONTEXT(option) {
      const auto parsed = parse({option, key});
      BOOST_TEST_REQUIRE(std::holds_alternative<early_exit>(parsed));
      BOOST_TEST(std::get<early_exit>(parsed).code == 2);
      BOOST_TEST(std::get<early_exit>(parsed).text.find("0123456789abcdef") == std::string::npos);
      BOOST_TEST(std::get<early_exit>(parsed).text.find(option) != std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(summary_json_and_metrics_file) {
  const auto none = parse({"in.txt"});
  BOOST_TEST_REQUIRE(std::holds_alternative<options>(none));
  BOOST_TEST(!std::get<options>(none).summary_json.has_value());
  BOOST_TEST(!std::get<options>(none).metrics_file.has_value());

  const auto both = parse({"--summary-json", "s.json", "--metrics-file", "/var/lib/node_exporter/keyrevoke.prom", "in.txt"});
  BOOST_TEST_REQUIRE(std::holds_alternative<options>(both));
  BOOST_TEST(*std::get<options>(both).summary_json == "s.json");
  BOOST_TEST(*std::get<options>(both).metrics_file == "/var/lib/node_exporter/keyrevoke.prom");

  const std::vector<std::vector<const char*>> refused = {
      {"--summary-json", ""},
      {"--metrics-file", "dir/"},
      {"--summary-json", "keyrevoke-report.jsonl"},  // the default report
      {"--report", "r.jsonl", "--metrics-file", "r.jsonl"},
      {"--summary-json", "x", "--metrics-file", "x"},
      {"--summary-json"},
  };
  for (const auto& args : refused) {
    BOOST_TEST_CONTEXT(args.size() << " args, last " << args.back()) {
      const auto parsed = parse(args);
      BOOST_TEST_REQUIRE(std::holds_alternative<early_exit>(parsed));
      BOOST_TEST(std::get<early_exit>(parsed).code == 2);
    }
  }
}


// The network path options (README, Proxies and pinning): kept as given, checked when parsed, and a
// proxy password on the command line refused without being echoed.
BOOST_AUTO_TEST_CASE(network_path_options) {
  const auto parsed = parse({"--proxy", "http://alice@proxy.corp:3128", "--noproxy", "", "--proxy-user-file", "f",
                             "--connect-to", "a:443:b:8443", "--connect-to", "::c:", "--resolve", "b:8443:10.0.0.1"});
  BOOST_TEST_REQUIRE(std::holds_alternative<options>(parsed));
  const network_options& n = std::get<options>(parsed).network;
  BOOST_TEST(n.proxy.value_or("?") == "http://alice@proxy.corp:3128");
  BOOST_TEST(n.noproxy.value_or("?").empty());
  BOOST_TEST(n.proxy_user_file.value_or("?") == "f");
  BOOST_TEST_REQUIRE(n.connect_to.size() == 2U);
  BOOST_TEST(n.connect_to[0].to_host == "b");
  BOOST_TEST(n.connect_to[1].to_host == "c");
  BOOST_TEST_REQUIRE(n.resolve.size() == 1U);
  BOOST_TEST(n.resolve[0].addresses.front() == "10.0.0.1");
  const auto none = std::get<options>(parse({}));
  BOOST_TEST(!none.network.proxy.has_value());  // not given: the environment decides
  BOOST_TEST(!none.network.noproxy.has_value());

  struct row {
    std::vector<const char*> args;
    std::string says;
  };
  const std::vector<row> table = {
      {{"--proxy", "http://alice:s3cretpw@proxy:3128"}, "ps"},
      {{"--proxy", "https://proxy:3128"}, "https:// proxies"},
      {{"--proxy", "socks5://proxy:1080"}, "SOCKS"},
      {{"--connect-to", "a:443"}, "--connect-to takes"},
      {{"--resolve", "a:443:not-an-ip"}, "--resolve takes"},
      {{"--proxy-user-file", ""}, "--proxy-user-file"},
  };
  for (const auto& r : table) {
    BOOST_TEST_CONTEXT(r.args.front() << " " << r.args.back()) {
      const auto result = parse(r.args);
      BOOST_TEST_REQUIRE(std::holds_alternative<early_exit>(result));
      const early_exit& e = std::get<early_exit>(result);
      BOOST_TEST(e.code == 2);
      BOOST_TEST(e.text.find(r.says) != std::string::npos, e.text);
      BOOST_TEST(e.text.find("s3cretpw") == std::string::npos, e.text);
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
