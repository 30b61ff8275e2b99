#pragma once
// The report on disk: rows are appended whole (one write per batch of rows that complete together),
// fsync'd on a timer and at the end. A row is on disk once its hash's outcome is final, so a
// kill -9 loses at most the rows of hashes still in flight; a torn last line is cut off on --resume.

#include "keyrevoke/core/report_reader.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace keyrevoke::app {

enum class report_mode { create, overwrite, resume };

class report_file {
 public:
  // Opens (and locks) the report. For resume, scans it first, cuts a torn tail, and fills scan.
  // Errors are sentences for the user (exit 2: nothing sent yet).
  static std::variant<report_file, std::string> open(const std::string& path, report_mode mode,
                                                      core::resume_scan* scan);

  report_file(report_file&& other) noexcept;
  report_file& operator=(report_file&&) = delete;
  report_file(const report_file&) = delete;
  report_file& operator=(const report_file&) = delete;
  ~report_file();

  void append(std::string_view rows) { pending_.append(rows); }
  bool has_pending() const noexcept { return !pending_.empty(); }
  // Writes what is pending. On failure the rows stay pending and error() says why.
  bool flush();
  bool sync();
  bool failed() const noexcept { return !error_.empty(); }
  const std::string& error() const noexcept { return error_; }
  // The rows that could not be written (after a failure), for stderr.
  const std::string& pending() const noexcept { return pending_; }
  const std::string& path() const noexcept { return path_; }
  std::uint64_t bytes_written() const noexcept { return written_; }

 private:
  report_file(int fd, std::string path) : fd_{fd}, path_{std::move(path)} {}

  int fd_ = -1;
  std::string path_;
  std::string pending_;
  std::string error_;
  std::uint64_t written_ = 0;
  bool dirty_ = false;
};

}  // namespace keyrevoke::app
