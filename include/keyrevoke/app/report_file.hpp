#pragma once
// The report on disk: rows are appended whole (one write per batch of rows that complete together),
// fsync'd on a timer and at the end. A row is on disk once its hash's outcome is final, so a
// kill -9 loses at most the rows of hashes still in flight; a torn last line is cut off on --resume.
// Each sync also checks that the report's path still names the open file: rows written to a file
// whose directory was removed mid-run would vanish at exit (see check_path()).

#include "keyrevoke/core/report_reader.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace keyrevoke::app {

enum class report_mode { create, overwrite, resume };

// What to tell the user when flock(LOCK_EX | LOCK_NB) on the report failed with `err` (an errno
// value). Only EWOULDBLOCK means another process (another keyrevoke run) holds the lock; any other
// error (ENOLCK: a file system without locking, e.g. some NFS or FUSE mounts) is named with its
// errno text and points at --no-lock. Pure.
std::string lock_failure_message(const std::string& path, int err);

class report_file {
 public:
  // Opens (and, unless lock is false (--no-lock), locks) the report. For resume, scans it first, cuts
  // a torn tail, and fills scan. Errors are sentences for the user (exit 2: nothing sent yet).
  static std::variant<report_file, std::string> open(const std::string& path, report_mode mode,
                                                     core::resume_scan* scan, bool lock = true);

  report_file(report_file&& other) noexcept;
  report_file& operator=(report_file&&) = delete;
  report_file(const report_file&) = delete;
  report_file& operator=(const report_file&) = delete;
  ~report_file();

  void append(std::string_view rows) { pending_.append(rows); }
  bool has_pending() const noexcept { return !pending_.empty(); }
  // Writes what is pending. On failure the rows stay pending and error() says why.
  bool flush();
  // fsync, then check_path(). False once the report has failed (error() says why).
  bool sync();
  // Whether the report's path still names the open file (same st_dev and st_ino, st_nlink > 0). When
  // it does not (the file or its directory was removed, or the file renamed, mid-run), every row
  // written so far is read back through the open descriptor and copied to a new file at the path (its
  // missing directories re-created), or, when the path now names another file or cannot be created,
  // beside it as "<path>.recovered-<pid>"; the copy is fsync'd and later rows go to it. path() then
  // names the copy and relocation() says what happened. When no copy can be made the report fails:
  // error() says so and pending() holds every row of the lost file followed by the unwritten ones.
  bool check_path();
  // Removes the report this run created and closes it: nothing more is written (a run that sent
  // nothing and must leave no report behind, e.g. an input refused as empty). True when removed.
  bool discard();
  bool failed() const noexcept { return !error_.empty(); }
  const std::string& error() const noexcept { return error_; }
  // The rows that could not be written (after a failure), for stderr.
  const std::string& pending() const noexcept { return pending_; }
  // Where the rows are: the path opened, or after a relocation the copy's path.
  const std::string& path() const noexcept { return path_; }
  // After check_path() moved the rows: a sentence naming the lost path and the copy; else empty.
  const std::string& relocation() const noexcept { return relocation_; }
  std::uint64_t bytes_written() const noexcept { return written_; }

 private:
  report_file(int fd, std::string path, bool lock) : fd_{fd}, path_{std::move(path)}, lock_{lock} {}
  // Copies the open file's bytes to a new file, created with O_EXCL at `target`; its fd, or -1 with errno.
  int copy_to(const std::string& target) const;

  int fd_ = -1;
  std::string path_;
  std::string pending_;
  std::string error_;
  std::string relocation_;
  std::uint64_t written_ = 0;
  bool dirty_ = false;
  bool lock_ = true;
};

}  // namespace keyrevoke::app
