// keyrevoke-mock's command line: the ghost, list-latency and management-key options.
#include <boost/test/unit_test.hpp>

#include <sstream>
#include <string>
#include <vector>

#include "keyrevoke/mock/options.hpp"

using namespace keyrevoke::mock;

namespace {

struct parsed {
  std::variant<mock_options, int> result;
  std::string out, err;
};

parsed parse(std::vector<std::string> args, const char* env_key = "secret") {
  args.insert(args.begin(), "keyrevoke-mock");
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  std::ostringstream out, err;
  auto result = parse_options(static_cast<int>(argv.size()), argv.data(), env_key, out, err);
  return {std::move(result), out.str(), err.str()};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(mock_options_suite)

BOOST_AUTO_TEST_CASE(defaults_keep_the_new_behaviours_off) {
  const auto p = parse({});
  BOOST_TEST_REQUIRE(std::holds_alternative<mock_options>(p.result));
  const auto& o = std::get<mock_options>(p.result);
  BOOST_TEST(o.ghost_rate == 0.0);
  BOOST_TEST(o.list_latency_ms == 0.0);
  BOOST_TEST(o.delete_latency_ms == 0.0);
  BOOST_TEST(!o.expose_key_hash);
  BOOST_TEST(!o.management_key_listed);
}

BOOST_AUTO_TEST_CASE(new_options_parse) {
  const auto p = parse({"--ghost-rate", "0.25", "--list-latency-ms", "150", "--delete-latency-ms", "70", "--expose-key-hash",
                        "--management-key-listed", "--seed", "9"});
  BOOST_TEST_INFO(p.err);
  BOOST_TEST_REQUIRE(std::holds_alternative<mock_options>(p.result));
  const auto& o = std::get<mock_options>(p.result);
  BOOST_TEST(o.ghost_rate == 0.25);
  BOOST_TEST(o.list_latency_ms == 150.0);
  BOOST_TEST(o.delete_latency_ms == 70.0);
  BOOST_TEST(o.expose_key_hash);
  BOOST_TEST(o.management_key_listed);
  BOOST_TEST(o.seed == 9u);
}

BOOST_AUTO_TEST_CASE(bad_values_are_usage_errors) {
  const std::vector<std::vector<std::string>> rows = {
      {"--ghost-rate", "1.5"}, {"--ghost-rate", "-0.1"}, {"--ghost-rate", "x"},
      {"--list-latency-ms", "-1"}, {"--list-latency-ms", "60001"}, {"--delete-latency-ms", "-1"},
      {"--delete-latency-ms", "60001"},
  };
  for (const auto& args : rows) {
    BOOST_TEST_CONTEXT(args[0] << " " << args[1]) {
      const auto p = parse(args);
      BOOST_TEST_REQUIRE(std::holds_alternative<int>(p.result));
      BOOST_TEST(std::get<int>(p.result) == 2);
      BOOST_TEST(!p.err.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(help_describes_them) {
  const auto p = parse({"--help"});
  BOOST_TEST_REQUIRE(std::holds_alternative<int>(p.result));
  BOOST_TEST(std::get<int>(p.result) == 0);
  for (const char* text : {"--ghost-rate", "--list-latency-ms", "--expose-key-hash",
                           "--management-key-listed", "500|reset|hang|400|always500|ghost",
                           "--throttle-status", "--throttle-body", "--outage", "reset-delta", "|lost>"})
    BOOST_TEST_CONTEXT(text) { BOOST_TEST(p.out.find(text) != std::string::npos); }
}

BOOST_AUTO_TEST_CASE(page_size_options) {
  {
    const auto p = parse({});
    BOOST_TEST_REQUIRE(std::holds_alternative<mock_options>(p.result));
    BOOST_TEST(std::get<mock_options>(p.result).page_size == 100u);
    BOOST_TEST(std::get<mock_options>(p.result).page_sizes.empty());
  }
  {
    const auto p = parse({"--page-size", "37"});
    BOOST_TEST_REQUIRE(std::holds_alternative<mock_options>(p.result));
    BOOST_TEST(std::get<mock_options>(p.result).page_size == 37u);
  }
  {
    const auto p = parse({"--page-sizes", "50,37,1,100"});
    BOOST_TEST_REQUIRE(std::holds_alternative<mock_options>(p.result));
    const std::vector<std::size_t> expected{50, 37, 1, 100};
    BOOST_TEST(std::get<mock_options>(p.result).page_sizes == expected);
  }
  const std::vector<std::vector<std::string>> bad = {
      {"--page-size", "0"},    {"--page-size", "10001"}, {"--page-size", "x"},   {"--page-sizes", ""},
      {"--page-sizes", "50,"}, {"--page-sizes", "0,5"},  {"--page-sizes", "5;6"}, {"--page-sizes", "-1"},
      {"--page-size", "50", "--page-sizes", "50,37"},
  };
  for (const auto& args : bad) {
    std::string text;
    for (const auto& a : args) text += a + " ";
    BOOST_TEST_CONTEXT(text) {
      const auto p = parse(args);
      BOOST_TEST_REQUIRE(std::holds_alternative<int>(p.result));
      BOOST_TEST(std::get<int>(p.result) == 2);
    }
  }
}

BOOST_AUTO_TEST_CASE(gateway_options_default_to_the_api_alone) {
  const auto p = parse({});
  BOOST_TEST_REQUIRE(std::holds_alternative<mock_options>(p.result));
  const auto& o = std::get<mock_options>(p.result);
  BOOST_TEST(o.throttle_status == 429u);
  BOOST_TEST((o.throttle_answer == throttle_body::api));
  BOOST_TEST(o.outages.empty());
  BOOST_TEST((o.retry_mode == retry_hint_mode::seconds));
  BOOST_TEST((o.advertise == advertise_mode::none));
}

BOOST_AUTO_TEST_CASE(advertise_option_parses) {
  for (const auto& [name, mode] : {std::pair{"xratelimit", advertise_mode::xratelimit},
                                   std::pair{"ietf", advertise_mode::ietf}, std::pair{"none", advertise_mode::none}}) {
    BOOST_TEST_CONTEXT(name) {
      const auto p = parse({"--advertise", name});
      BOOST_TEST_REQUIRE(std::holds_alternative<mock_options>(p.result));
      BOOST_TEST((std::get<mock_options>(p.result).advertise == mode));
    }
  }
}

BOOST_AUTO_TEST_CASE(gateway_options_parse) {
  const auto p = parse({"--throttle-status", "403", "--throttle-body", "big", "--retry-after", "reset-delta",
                        "--outage", "0:30", "--outage", "40:2.5:reset", "--outage", "50:1:429"});
  BOOST_TEST_INFO(p.err);
  BOOST_TEST_REQUIRE(std::holds_alternative<mock_options>(p.result));
  const auto& o = std::get<mock_options>(p.result);
  BOOST_TEST(o.throttle_status == 403u);
  BOOST_TEST((o.throttle_answer == throttle_body::big));
  BOOST_TEST((o.retry_mode == retry_hint_mode::reset_delta));
  BOOST_TEST_REQUIRE(o.outages.size() == 3u);
  BOOST_TEST((o.outages[0].kind == outage_kind::bad_gateway));
  BOOST_TEST((o.outages[1].kind == outage_kind::reset));
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(o.outages[1].duration).count() == 2500);
  BOOST_TEST((o.outages[2].kind == outage_kind::throttle));
}

BOOST_AUTO_TEST_CASE(bad_gateway_options_are_usage_errors) {
  const std::vector<std::vector<std::string>> rows = {
      {"--throttle-status", "500"}, {"--throttle-status", "x"},
      {"--throttle-body", "json"},  {"--outage", "5"},
      {"--outage", "0:0"},          {"--outage", "0:5:418"},
      {"--retry-after", "soon"},   {"--advertise", "github"},
  };
  for (const auto& args : rows) {
    BOOST_TEST_CONTEXT(args[0] << " " << args[1]) {
      const auto p = parse(args);
      BOOST_TEST_REQUIRE(std::holds_alternative<int>(p.result));
      BOOST_TEST(std::get<int>(p.result) == 2);
      BOOST_TEST(!p.err.empty());
    }
  }
}

BOOST_AUTO_TEST_SUITE_END()
