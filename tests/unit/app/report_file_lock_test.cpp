// --force on a report that another run holds must not truncate it.
#include "keyrevoke/app/report_file.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace keyrevoke::app;

BOOST_AUTO_TEST_SUITE(report_file_lock)

BOOST_AUTO_TEST_CASE(force_on_a_report_in_use_is_refused_and_truncates_nothing) {
  char pattern[] = "/tmp/keyrevoke-lock-test-XXXXXX";
  const std::filesystem::path dir = ::mkdtemp(pattern);
  const std::string path = (dir / "r.jsonl").string();
  {
    auto first = report_file::open(path, report_mode::create, nullptr);
    BOOST_TEST_REQUIRE(std::holds_alternative<report_file>(first));
    std::get<report_file>(first).append("{\"row\":1}\n");
    BOOST_TEST(std::get<report_file>(first).flush());
    auto second = report_file::open(path, report_mode::overwrite, nullptr);
    BOOST_TEST(std::holds_alternative<std::string>(second));
    std::ifstream in{path};
    std::stringstream text;
    text << in.rdbuf();
    BOOST_TEST(text.str() == "{\"row\":1}\n");
  }
  std::filesystem::remove_all(dir);
}

BOOST_AUTO_TEST_SUITE_END()
