// The report on disk: refuse to clobber, overwrite on --force, resume past a torn last line, lock.
#include "keyrevoke/app/report_file.hpp"

#include <boost/test/unit_test.hpp>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <vector>

#include <unistd.h>

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

BOOST_AUTO_TEST_CASE(a_discarded_report_is_gone_and_stays_gone) {
  // A run that sent nothing (an input refused as empty) leaves no report: not even the relocation of
  // check_path(), which would otherwise put back a report whose path went away.
  temp_dir dir;
  const fs::path p = dir.path / "r.jsonl";
  {
    auto opened = report_file::open(p.string(), report_mode::create, nullptr);
    BOOST_TEST_REQUIRE(std::holds_alternative<report_file>(opened));
    auto& file = std::get<report_file>(opened);
    file.append("{\"type\":\"header\"}\n");
    BOOST_TEST(file.flush());
    file.append("{\"type\":\"summary\"}\n");
    BOOST_TEST(file.discard());
    BOOST_TEST(!fs::exists(p));
  }
  BOOST_TEST(!fs::exists(p));  // the destructor wrote nothing back
  auto again = report_file::open(p.string(), report_mode::create, nullptr);  // and nothing is locked
  BOOST_TEST(std::holds_alternative<report_file>(again));
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

// Only EWOULDBLOCK means another run holds the report; any other lock failure says what happened
// (errno text) and how to run without the lock. ENOLCK: a file system without locking (some NFS mounts).
BOOST_AUTO_TEST_CASE(lock_failures_say_what_happened) {
  struct row {
    int err;
    std::vector<std::string> says;
    std::vector<std::string> never;
  };
  const std::vector<row> rows = {
      {EWOULDBLOCK,
       {"'r.jsonl' is in use by another keyrevoke run", "choose another --report"},
       {"--no-lock"}},
      {ENOLCK,
       {"cannot lock report 'r.jsonl'", "No locks available", "does not support locking",
        "if you know no other run writes this report, --no-lock runs without the lock"},
       {"in use"}},
      {EOPNOTSUPP, {"cannot lock report", "does not support locking", "--no-lock"}, {"in use"}},
      {EIO,
       {"cannot lock report 'r.jsonl'", "Input/output error", "--no-lock"},
       {"in use", "does not support"}},
      {ENOMEM, {"Cannot allocate memory", "--no-lock"}, {"in use"}},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT("errno " << r.err) {
      const std::string text = lock_failure_message("r.jsonl", r.err);
      for (const std::string& part : r.says)
        BOOST_TEST(text.find(part) != std::string::npos, text << " says " << part);
      for (const std::string& part : r.never)
        BOOST_TEST(text.find(part) == std::string::npos, text << " not " << part);
    }
  }
}

BOOST_AUTO_TEST_CASE(without_the_lock_a_second_open_is_not_refused) {
  temp_dir dir;
  const std::string path = (dir.path / "r.jsonl").string();
  auto first = report_file::open(path, report_mode::create, nullptr, false);
  BOOST_TEST_REQUIRE(std::holds_alternative<report_file>(first));
  auto locked = report_file::open(path, report_mode::resume, nullptr);  // --no-lock took no lock
  BOOST_TEST(std::holds_alternative<report_file>(locked));
}

// The report's path removed or replaced mid-run: every row written so far is copied back to where
// the user looks (or beside it), later rows follow it, and path() and relocation() say where.
BOOST_AUTO_TEST_CASE(a_removed_report_is_written_again_at_its_path_with_every_row) {
  struct row {
    const char* name;
    std::function<void(const fs::path& dir, const fs::path& report)> remove;
    bool at_same_path;
  };
  const std::vector<row> rows = {
      {"the file unlinked", [](const fs::path&, const fs::path& p) { fs::remove(p); }, true},
      {"its directory removed", [](const fs::path& d, const fs::path&) { fs::remove_all(d); }, true},
      {"the file renamed", [](const fs::path&, const fs::path& p) { fs::rename(p, p.string() + ".moved"); },
       true},
      {"another file now at the path",
       [](const fs::path&, const fs::path& p) {
         fs::remove(p);
         spit(p, "someone else's\n");
       },
       false},
  };
  for (const row& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      temp_dir dir;
      const fs::path sub = dir.path / "reports";
      fs::create_directories(sub);
      const fs::path p = sub / "r.jsonl";
      auto opened = report_file::open(p.string(), report_mode::create, nullptr);
      BOOST_TEST_REQUIRE(std::holds_alternative<report_file>(opened));
      auto& file = std::get<report_file>(opened);
      file.append(row_a);
      BOOST_TEST(file.flush());
      BOOST_TEST(file.sync());
      BOOST_TEST(file.relocation().empty());
      r.remove(sub, p);
      file.append(row_b);
      BOOST_TEST(file.flush());  // into the file no path names any more
      BOOST_TEST(file.sync());   // noticed here: copied back
      BOOST_TEST(!file.failed());
      BOOST_TEST(!file.relocation().empty());
      const fs::path expected =
          r.at_same_path ? p : fs::path{p.string() + ".recovered-" + std::to_string(::getpid())};
      BOOST_TEST(file.path() == expected.string());
      BOOST_TEST((file.relocation().find(expected.string()) != std::string::npos));
      BOOST_TEST(file.relocation().find(p.string()) != std::string::npos);
      BOOST_TEST(slurp(expected) == row_a + row_b);
      file.append(row_a);  // later rows follow the copy
      BOOST_TEST(file.flush());
      BOOST_TEST(file.sync());
      BOOST_TEST(slurp(expected) == row_a + row_b + row_a);
      if (!r.at_same_path) BOOST_TEST(slurp(p) == "someone else's\n");  // never overwritten
    }
  }
}

BOOST_AUTO_TEST_CASE(a_removed_report_that_cannot_be_written_again_hands_every_row_to_stderr) {
  temp_dir dir;
  const fs::path sub = dir.path / "reports";
  fs::create_directories(sub);
  const fs::path p = sub / "r.jsonl";
  auto opened = report_file::open(p.string(), report_mode::create, nullptr);
  BOOST_TEST_REQUIRE(std::holds_alternative<report_file>(opened));
  auto& file = std::get<report_file>(opened);
  file.append(row_a);
  BOOST_TEST(file.flush());
  fs::remove_all(sub);
  spit(sub, "a file where the directory was\n");  // neither the path nor a place beside it can be made
  file.append(row_b);
  BOOST_TEST(file.flush());
  BOOST_TEST(!file.sync());
  BOOST_TEST(file.failed());
  BOOST_TEST(file.error().find("no copy could be made") != std::string::npos);
  BOOST_TEST(file.pending() == row_a + row_b);  // the lost file's rows, for stderr
  file.append(row_a);
  BOOST_TEST(!file.flush());  // closed to new rows, as after a write error
  BOOST_TEST(file.pending() == row_a + row_b + row_a);
}

BOOST_AUTO_TEST_SUITE_END()
