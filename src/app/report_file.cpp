#include "keyrevoke/app/report_file.hpp"

#include <cerrno>
#include <system_error>
#include <cstring>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace keyrevoke::app {

namespace {

std::string errno_text(int err) { return std::generic_category().message(err); }

std::variant<core::resume_scan, std::string> scan_existing(int fd, const std::string& path) {
  core::report_reader reader;
  std::string chunk(1 << 16, '\0');
  for (;;) {
    const ssize_t n = ::read(fd, chunk.data(), chunk.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return "cannot read report '" + path + "': " + errno_text(errno);
    }
    if (n == 0) break;
    reader.feed(std::string_view{chunk.data(), static_cast<std::size_t>(n)});
  }
  return reader.finish();
}

}  // namespace

std::variant<report_file, std::string> report_file::open(const std::string& path, report_mode mode,
                                                          core::resume_scan* scan) {
  // Never O_TRUNC: a report in use by another run must be refused before anything is touched.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot open report '" + path + "': " + errno_text(errno);
  report_file file{fd, path};

  // Two runs appending to one report would interleave rows: refuse the second.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    return "report '" + path + "' is in use by another keyrevoke run";
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) return "cannot stat report '" + path + "': " + errno_text(errno);
  if (!S_ISREG(st.st_mode)) return "report '" + path + "' is not a regular file";

  if (mode == report_mode::overwrite && st.st_size > 0 && ::ftruncate(fd, 0) != 0) {
    return "cannot truncate report '" + path + "': " + errno_text(errno);
  }
  if (mode == report_mode::create && st.st_size > 0) {
    return "report '" + path + "' already exists and is not empty: use --resume to continue it, "
           "or --force to overwrite it";
  }
  if (mode == report_mode::resume && st.st_size > 0) {
    auto scanned = scan_existing(fd, path);
    if (auto* err = std::get_if<std::string>(&scanned)) return *err;
    auto& result = std::get<core::resume_scan>(scanned);
    if (result.torn_tail) {
      // A kill -9 mid-write left half a row: cut it so the next row starts on a fresh line.
      if (::ftruncate(fd, static_cast<off_t>(result.valid_bytes)) != 0) {
        return "cannot cut the torn last line of report '" + path + "': " + errno_text(errno);
      }
    }
    if (scan != nullptr) *scan = std::move(result);
  }
  if (::lseek(fd, 0, SEEK_END) < 0) return "cannot seek report '" + path + "': " + errno_text(errno);
  return file;
}

report_file::report_file(report_file&& other) noexcept
    : fd_{other.fd_},
      path_{std::move(other.path_)},
      pending_{std::move(other.pending_)},
      error_{std::move(other.error_)},
      written_{other.written_},
      dirty_{other.dirty_} {
  other.fd_ = -1;
}

report_file::~report_file() {
  if (fd_ >= 0) {
    if (error_.empty()) {  // after a failure nothing more is written: see flush()
      flush();
      sync();
    }
    ::close(fd_);
  }
}

bool report_file::flush() {
  // After a write error the report is closed to new rows: if the disk recovered later, a row written
  // then would follow a torn one mid-file, and rows already reported as unwritten would reappear.
  if (fd_ < 0 || !error_.empty()) return false;
  std::size_t done = 0;
  while (done < pending_.size()) {
    const ssize_t n = ::write(fd_, pending_.data() + done, pending_.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      error_ = "cannot write report '" + path_ + "': " + errno_text(errno);
      break;
    }
    done += static_cast<std::size_t>(n);
  }
  if (done > 0) {
    // Keep only the rows not yet written: whole in pending_ (shown on stderr).
    const std::size_t row_start = pending_.rfind('\n', done - 1);
    const std::size_t keep_from = done == pending_.size() ? done
                                  : (row_start == std::string::npos ? 0 : row_start + 1);
    pending_.erase(0, keep_from);
    written_ += done;
    dirty_ = true;
    if (!error_.empty() && done > keep_from) {
      // A partial row reached the file: cut it, so the file ends with whole rows (a --resume would
      // cut it too). If that fails as well, --resume still cuts it.
      const off_t end = ::lseek(fd_, 0, SEEK_END);
      const auto partial = static_cast<off_t>(done - keep_from);
      if (end >= partial && ::ftruncate(fd_, end - partial) == 0) written_ -= done - keep_from;
    }
  }
  return error_.empty();
}

bool report_file::sync() {
  if (fd_ < 0 || !dirty_) return error_.empty();
  if (::fsync(fd_) != 0 && errno != EINVAL) {
    error_ = "cannot sync report '" + path_ + "': " + errno_text(errno);
    return false;
  }
  dirty_ = false;
  return error_.empty();
}

}  // namespace keyrevoke::app
