// --config FILE through the command line parser: the file's options under the command line's, and
// every bad file refused (exit 2) naming the file and line without echoing what it holds.
#include "keyrevoke/app/config_file.hpp"

#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "keyrevoke/app/list_command.hpp"
#include "keyrevoke/app/options.hpp"

using namespace keyrevoke::app;
namespace fs = std::filesystem;

namespace {

struct config_file {
  fs::path dir;
  fs::path path;
  explicit config_file(const std::string& text) {
    char pattern[] = "/tmp/keyrevoke-config-test-XXXXXX";
    dir = ::mkdtemp(pattern);
    path = dir / "keyrevoke.conf";
    std::ofstream{path} << text;
  }
  ~config_file() { fs::remove_all(dir); }
};

std::variant<options, early_exit> parse(std::vector<const char*> args) {
  args.insert(args.begin(), "keyrevoke");
  return parse_command_line(static_cast<int>(args.size()), args.data(), nullptr);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(config_file_options)

BOOST_AUTO_TEST_CASE(the_file_sets_options_and_the_command_line_wins) {
  const config_file file{
      "# incident 42\n"
      "base-url = https://gw.example/api/v1\n"
      "concurrency = 4   # gentle\n"
      "rate=50\n"
      "\n"
      "verify = true\n"
      "disable =\n"
      "key-file = /run/secrets/mg\n"
      "report = from-file.jsonl\n"};
  const std::string path = file.path.string();
  const auto parsed = parse({"--config", path.c_str(), "--concurrency", "8", "in.txt"});
  BOOST_TEST_REQUIRE(std::holds_alternative<options>(parsed));
  const options& o = std::get<options>(parsed);
  BOOST_TEST(o.base_url == "https://gw.example/api/v1");
  BOOST_TEST(o.concurrency == 8U);  // the command line's
  BOOST_TEST(o.rate == 50.0);
  BOOST_TEST(o.verify);
  BOOST_TEST((o.act == keyrevoke::core::action::disable));
  BOOST_TEST(o.key_file.value_or("") == "/run/secrets/mg");
  BOOST_TEST(o.report == "from-file.jsonl");
  BOOST_TEST((o.inputs == std::vector<std::string>{"in.txt"}));
}

// One file for `keyrevoke list ... | keyrevoke ...`: each command reads its own options and skips the
// other's; a name that neither command has is still an error.
BOOST_AUTO_TEST_CASE(one_file_serves_the_revoker_and_list) {
  const config_file file{
      "base-url = https://gw.example/api/v1\n"
      "label = ci-*\n"
      "created-before = 7d\n"
      "json = true\n"
      "verify = true\n"
      "report = r.jsonl\n"};
  const std::string path = file.path.string();
  const auto run = parse({"--config", path.c_str(), "in.txt"});
  BOOST_TEST_REQUIRE(std::holds_alternative<options>(run));
  BOOST_TEST(std::get<options>(run).base_url == "https://gw.example/api/v1");
  BOOST_TEST(std::get<options>(run).verify);
  BOOST_TEST(std::get<options>(run).report == "r.jsonl");

  std::vector<const char*> list_args{"list", "--config", path.c_str()};
  const auto list = parse_list_command_line(static_cast<int>(list_args.size()), list_args.data(), nullptr);
  BOOST_TEST_REQUIRE(std::holds_alternative<list_options>(list));
  const list_options& l = std::get<list_options>(list);
  BOOST_TEST(l.lister.base_url == "https://gw.example/api/v1");
  BOOST_TEST(l.filter.label_glob.value_or("?") == "ci-*");
  BOOST_TEST(l.filter.created_before.has_value());
  BOOST_TEST(l.json);

  const config_file typo{"lable = ci-*\n"};
  const std::string typo_path = typo.path.string();
  const auto bad_run = parse({"--config", typo_path.c_str(), "in.txt"});
  BOOST_TEST_REQUIRE(std::holds_alternative<early_exit>(bad_run));
  BOOST_TEST(std::get<early_exit>(bad_run).code == 2);
  std::vector<const char*> bad_list_args{"list", "--config", typo_path.c_str()};
  const auto bad_list =
      parse_list_command_line(static_cast<int>(bad_list_args.size()), bad_list_args.data(), nullptr);
  BOOST_TEST_REQUIRE(std::holds_alternative<early_exit>(bad_list));
  BOOST_TEST(std::get<early_exit>(bad_list).code == 2);
  BOOST_TEST(std::get<early_exit>(bad_list).text.find("line 1") != std::string::npos);

  const config_file key_line{"label = x\napi-key = sk-mg-abc\n"};
  const std::string key_path = key_line.path.string();
  std::vector<const char*> key_args{"list", "--config", key_path.c_str()};
  const auto refused = parse_list_command_line(static_cast<int>(key_args.size()), key_args.data(), nullptr);
  BOOST_TEST_REQUIRE(std::holds_alternative<early_exit>(refused));
  BOOST_TEST(std::get<early_exit>(refused).text.find("sk-mg-abc") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_switch_in_the_file_can_be_false) {
  const config_file file{"verify = false\nresume = true\n"};
  const std::string path = file.path.string();
  const options o = std::get<options>(parse({"--config", path.c_str()}));
  BOOST_TEST(!o.verify);
  BOOST_TEST(o.resume);
}

BOOST_AUTO_TEST_CASE(bad_files_are_usage_errors_naming_file_and_line_never_their_content) {
  struct row {
    std::string text;
    std::string expected;  // in the error
  };
  const std::string secret = "sk-mg-v1-0123456789abcdef0123456789abcdef";
  const std::vector<row> rows = {
      {"rate = 5\nkey = " + secret + "\n", "line 2: the management key is never read from a config file"},
      {"management-key=" + secret + "\n", "line 1: the management key is never read"},
      {"MODELGATES_MANAGEMENT_KEY = " + secret + "\n", "line 1: the management key is never read"},
      {"api_key = " + secret + "\n", "line 1: the management key is never read"},
      {"\n\n" + secret + "\n", "line 3: expected 'name = value'"},
      {secret + "=x\n", "line 1: unknown option ("},
      {"concurency = 4\n", "line 1: unknown option 'concurency'"},
      {"[list]\nname = x\n", "line 1: sections are not supported"},
      {"help = true\n", "line 1: 'help' only works on the command line"},
      {"config = other.conf\n", "line 1: 'config' only works on the command line"},
      {"rate = 1\n\nconcurrency = " + secret + "\n", "line 3: invalid value for option 'concurrency'"},
      {"rate = 1\nrate = 2\n", "line 1: option 'rate' is given more than once"},
      {"concurrency = 0\n", "--concurrency must be 1 to 4096"},  // the same checks as the command line
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT("file " << r.expected) {
      const config_file file{r.text};
      const std::string path = file.path.string();
      const auto parsed = parse({"--config", path.c_str()});
      BOOST_TEST_REQUIRE(std::holds_alternative<early_exit>(parsed));
      const early_exit& e = std::get<early_exit>(parsed);
      BOOST_TEST(e.code == 2);
      BOOST_TEST(e.text.find(r.expected) != std::string::npos, e.text);
      if (r.expected.find("--concurrency") == std::string::npos) {
        BOOST_TEST(e.text.find("config file '" + path + "'") != std::string::npos, e.text);
      }
      BOOST_TEST(e.text.find("0123456789abcdef") == std::string::npos, e.text);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_missing_file_is_a_usage_error) {
  const auto parsed = parse({"--config", "/nonexistent/keyrevoke.conf"});
  BOOST_TEST_REQUIRE(std::holds_alternative<early_exit>(parsed));
  BOOST_TEST(std::get<early_exit>(parsed).code == 2);
  BOOST_TEST(std::get<early_exit>(parsed).text.find(
                 "cannot read config file '/nonexistent/keyrevoke.conf'") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(the_help_documents_config) {
  const std::string help = std::get<early_exit>(parse({"--help"})).text;
  BOOST_TEST(help.find("--config") != std::string::npos);
  BOOST_TEST(help.find("never the key") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
