// `keyrevoke list`'s command line: filters parsed into the pure filter, and usage errors that name the
// option and never echo a value.
#include "keyrevoke/app/list_command.hpp"

#include <boost/test/unit_test.hpp>
#include <vector>

using namespace keyrevoke::app;
namespace core = keyrevoke::core;

namespace {

std::variant<list_options, early_exit> parse(std::vector<const char*> args, const char* env_url = nullptr) {
  args.insert(args.begin(), "list");
  return parse_list_command_line(static_cast<int>(args.size()), args.data(), env_url);
}

const char* const pasted_key = "sk-mg-v1-5f2b9c0e7d1a4b3c8e6f5f2b9c0e7d1a";

}  // namespace

BOOST_AUTO_TEST_SUITE(list_command_line)

BOOST_AUTO_TEST_CASE(defaults) {
  const auto parsed = parse({});
  BOOST_TEST_REQUIRE(std::holds_alternative<list_options>(parsed));
  const list_options& o = std::get<list_options>(parsed);
  BOOST_TEST(o.lister.base_url == "https://modelgates.ai/api/v1");
  BOOST_TEST(o.lister.max_attempts == 8u);
  BOOST_TEST(o.lister.timeout_s == 30.0);
  BOOST_TEST(o.lister.rate == 0.0);
  BOOST_TEST(!o.lister.quiet);
  BOOST_TEST(!o.lister.allow_insecure_http);
  BOOST_TEST(!o.lister.cacert.has_value());
  BOOST_TEST(!o.key_file.has_value());
  BOOST_TEST(!o.json);
  BOOST_TEST(o.filter.empty());
  const auto from_env = parse({}, "https://example.test/api");
  BOOST_TEST(std::get<list_options>(from_env).lister.base_url == "https://example.test/api");
  const auto option_wins = parse({"--base-url", "https://other.test"}, "https://example.test/api");
  BOOST_TEST(std::get<list_options>(option_wins).lister.base_url == "https://other.test");
}

BOOST_AUTO_TEST_CASE(filters_are_parsed) {
  const auto parsed = parse({"--name",
                             "key-*",
                             "--label",
                             "ci-[0-9]*",
                             "--created-before",
                             "2026-11-24",
                             "--created-after",
                             "2026-11-01T10:00:00+02:00",
                             "--updated-before",
                             "2026-11-25T00:00:00Z",
                             "--updated-after",
                             "2026-11-02",
                             "--disabled",
                             "--usage-above",
                             "1.5",
                             "--usage-below",
                             "100",
                             "--json",
                             "--quiet",
                             "--rate",
                             "5",
                             "--max-attempts",
                             "3",
                             "--timeout",
                             "2.5",
                             "--cacert",
                             "ca.pem",
                             "--key-file",
                             "k"});
  BOOST_TEST_REQUIRE(std::holds_alternative<list_options>(parsed));
  const list_options& o = std::get<list_options>(parsed);
  BOOST_TEST(o.filter.name_glob.value() == "key-*");
  BOOST_TEST(o.filter.label_glob.value() == "ci-[0-9]*");
  BOOST_TEST(o.filter.created_before.value() == core::parse_timestamp("2026-11-24").value());
  BOOST_TEST(o.filter.created_after.value() == core::parse_timestamp("2026-11-01T08:00:00Z").value());
  BOOST_TEST(o.filter.updated_before.value() == core::parse_timestamp("2026-11-25").value());
  BOOST_TEST(o.filter.updated_after.value() == core::parse_timestamp("2026-11-02").value());
  BOOST_TEST(o.filter.disabled.value() == true);
  BOOST_TEST(o.filter.usage_above.value() == 1.5);
  BOOST_TEST(o.filter.usage_below.value() == 100.0);
  BOOST_TEST(o.json);
  BOOST_TEST(o.lister.quiet);
  BOOST_TEST(o.lister.rate == 5.0);
  BOOST_TEST(o.lister.max_attempts == 3u);
  BOOST_TEST(o.lister.timeout_s == 2.5);
  BOOST_TEST(o.lister.cacert.value() == "ca.pem");
  BOOST_TEST(o.key_file.value() == "k");
  const auto enabled = parse({"--enabled"});
  BOOST_TEST(std::get<list_options>(enabled).filter.disabled.value() == false);
}

BOOST_AUTO_TEST_CASE(usage_errors_name_the_option_and_never_echo_the_value) {
  struct row {
    std::vector<const char*> args;
    const char* named;
  };
  const std::string key_equals = std::string{"--key="} + pasted_key;
  const row rows[] = {
      {{"--created-before", pasted_key}, "--created-before"},
      {{"--created-after", "2026-13-01"}, "--created-after"},
      {{"--updated-before", "yesterday"}, "--updated-before"},
      {{"--updated-after", "1700000000"}, "--updated-after"},
      {{"--label", "ci-["}, "--label"},
      {{"--name", "a\\"}, "--name"},
      {{"--label", "[z-a]"}, "--label"},
      {{"--usage-above", pasted_key}, "usage-above"},
      {{"--usage-below", "nan"}, "usage-below"},
      {{"--usage-below", "inf"}, "usage-below"},
      {{"--disabled", "--enabled"}, "--disabled"},
      {{"--max-attempts", "0"}, "--max-attempts"},
      {{"--timeout", "-1"}, "--timeout"},
      {{"--rate", "-3"}, "--rate"},
      {{"--key", pasted_key}, "--key"},
      {{key_equals.c_str()}, "--key"},
      {{pasted_key}, "no arguments"},
      {{"--base-url"}, "base-url"},
  };
  for (const row& r : rows) {
    std::string joined;
    for (const char* a : r.args) joined += std::string{a} + " ";
    BOOST_TEST_CONTEXT(joined) {
      const auto parsed = parse(r.args);
      BOOST_TEST_REQUIRE(std::holds_alternative<early_exit>(parsed));
      const early_exit& e = std::get<early_exit>(parsed);
      BOOST_TEST(e.code == 2);
      BOOST_TEST(e.text.find(r.named) != std::string::npos);
      BOOST_TEST(e.text.find("5f2b9c0e7d1a") == std::string::npos);
    }
  }
}

BOOST_AUTO_TEST_CASE(help_and_version) {
  const auto help = parse({"--help"});
  BOOST_TEST_REQUIRE(std::holds_alternative<early_exit>(help));
  BOOST_TEST(std::get<early_exit>(help).code == 0);
  for (const char* documented : {"--label", "--created-before", "--updated-after", "--disabled", "--enabled",
                                 "--usage-above", "--json", "--key-file", "Exit codes"}) {
    BOOST_TEST(std::get<early_exit>(help).text.find(documented) != std::string::npos, documented);
  }
  const auto version = parse({"--version"});
  BOOST_TEST(std::get<early_exit>(version).code == 0);
}

BOOST_AUTO_TEST_SUITE_END()
