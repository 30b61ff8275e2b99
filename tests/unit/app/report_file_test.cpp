// The report on disk: refuse to clobber, overwrite on --force, resume past a torn last line, lock.
#include "keyrevoke/app/report_file.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace keyrevoke::app;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() {
    char pattern[] = "/tmp/keyrevoke-report-test-XXXXXX";
    path = ::mkdtemp(pattern);
  }
  ~temp_dir() { fs::remove_all(path); }
};

std::string slurp(const fs::path& p) {
  std::ifstream in{p};
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void spit(const fs::path& p, const std::string& text) { std::ofstream{p} << text; }

const std::string row_a =
    R"({"hash":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","outcome":"deleted","http_status":200,"attempts":1,"elapsed_ms":1.0,"error":null})"
    "\n";
const std::string row_b =
    R"({"hash":"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","outcome":"failed","http_status":500,"attempts":8,"elapsed_ms":1.0,"error":"HTTP 500"})"
    "\n";

}  // namespace

BOOST_AUTO_TEST_SUITE(report_file_on_disk)

BOOST_AUTO_TEST_CASE(create_refuses_a_non_empty_report_and_leaves_it_alone) {
  temp_dir dir;
  const fs::path p = dir.path / "r.jsonl";
  spit(p, row_a);
  auto opened = report_file::open(p.string(), report_mode::create, nullptr);
  BOOST_TEST_REQUIRE(std::holds_alternative<std::string>(opened));
  BOOST_TEST(std::get<std::string>(opened).find("--resume") != std::string::npos);
  BOOST_TEST(slurp(p) == row_a);
}

BOOST_AUTO_TEST_CASE(create_writes_rows_and_overwrite_truncates) {
  temp_dir dir;
  const fs::path p = dir.path / "r.jsonl";
  {
    auto opened = report_file::open(p.string(), report_mode::create, nullptr);
    BOOST_TEST_REQUIRE(std::holds_alternative<report_file>(opened));
    auto& file = std::get<report_file>(opened);
    file.append(row_a);
    BOOST_TEST(file.flush());
    BOOST_TEST(file.sync());
    BOOST_TEST(slurp(p) == row_a);
  }
  auto again = report_file::open(p.string(), report_mode::overwrite, nullptr);
  BOOST_TEST_REQUIRE(std::holds_alternative<report_file>(again));
  BOOST_TEST(slurp(p).empty());
}

BOOST_AUTO_TEST_CASE(resume_reads_done_hashes_and_cuts_a_torn_tail) {
  temp_dir dir;
  const fs::path p = dir.path / "r.jsonl";
  spit(p, row_a + row_b + R"({"hash":"cccc","outc)");  // kill -9 mid-row
  keyrevoke::core::resume_scan scan;
  {
    auto opened = report_file::open(p.string(), report_mode::resume, &scan);
    BOOST_TEST_REQUIRE(std::holds_alternative<report_file>(opened));
    BOOST_TEST(scan.torn_tail);
    BOOST_TEST(scan.done.size() == 1U);  // deleted counts, failed does not
    BOOST_TEST(slurp(p) == row_a + row_b);  // the fragment is gone
    auto& file = std::get<report_file>(opened);
    file.append(row_b);
    BOOST_TEST(file.flush());
  }
  BOOST_TEST(slurp(p) == row_a + row_b + row_b);  // the new row starts on a line of its own
}

BOOST_AUTO_TEST_CASE(two_runs_cannot_share_a_report) {
  temp_dir dir;
  const fs::path p = dir.path / "r.jsonl";
  auto first = report_file::open(p.string(), report_mode::create, nullptr);
  BOOST_TEST_REQUIRE(std::holds_alternative<report_file>(first));
  auto second = report_file::open(p.string(), report_mode::resume, nullptr);
  BOOST_TEST_REQUIRE(std::holds_alternative<std::string>(second));
  BOOST_TEST(std::get<std::string>(second).find("in use") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(an_unwritable_place_is_an_error_before_anything_is_sent) {
  auto opened = report_file::open("/proc/keyrevoke-cannot-write-here.jsonl", report_mode::create, nullptr);
  BOOST_TEST(std::holds_alternative<std::string>(opened));
}

BOOST_AUTO_TEST_CASE(force_on_a_report_in_use_is_refused_and_truncates_nothing) {
  temp_dir dir;
  const std::string path = (dir.path / "r.jsonl").string();
  {
    auto first = report_file::open(path, report_mode::create, nullptr);
    BOOST_TEST_REQUIRE(std::holds_alternative<report_file>(first));
    std::get<report_file>(first).append("{\"row\":1}\n");
    BOOST_TEST(std::get<report_file>(first).flush());
    auto second = report_file::open(path, report_mode::overwrite, nullptr);
    BOOST_TEST(std::holds_alternative<std::string>(second));
    BOOST_TEST(slurp(path) == "{\"row\":1}\n");
  }
}

BOOST_AUTO_TEST_SUITE_END()
