#include "keyrevoke/app/report_file.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

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

// flock, retried when a signal interrupts it; 0 or an errno value.
int lock_exclusive(int fd) {
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EINTR) return errno;
  }
  return 0;
}

// fsync of the directory holding `path`, so that a file just created there survives a crash.
void sync_directory_of(const std::string& path) {
  std::string dir = std::filesystem::path{path}.parent_path().string();
  if (dir.empty()) dir = ".";
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

}  // namespace

std::string lock_failure_message(const std::string& path, int err) {
  if (err == EWOULDBLOCK || err == EAGAIN) {
    return "report '" + path +
           "' is in use by another keyrevoke run (another process holds its lock); "
           "wait for that run to end, or choose another --report";
  }
  std::string why = errno_text(err);
  if (err == ENOLCK || err == EOPNOTSUPP || err == EINVAL) {
    why += ": the file system does not support locking";
  }
  return "cannot lock report '" + path + "': " + why +
         "; if you know no other run writes this report, --no-lock runs without the lock";
}

std::variant<report_file, std::string> report_file::open(const std::string& path, report_mode mode,
                                                         core::resume_scan* scan, bool lock) {
  // Never O_TRUNC: a report in use by another run must be refused before anything is touched.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot open report '" + path + "': " + errno_text(errno);
  report_file file{fd, path, lock};

  // Two runs appending to one report would interleave rows: refuse the second.
  if (lock) {
    if (const int err = lock_exclusive(fd); err != 0) return lock_failure_message(path, err);
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
      relocation_{std::move(other.relocation_)},
      written_{other.written_},
      dirty_{other.dirty_},
      lock_{other.lock_} {
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

bool report_file::discard() {
  if (fd_ < 0) return false;
  pending_.clear();
  const bool removed = ::unlink(path_.c_str()) == 0;
  ::close(fd_);  // releases the lock too
  fd_ = -1;
  return removed;
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
  if (fd_ < 0 || !error_.empty()) return error_.empty();
  if (dirty_) {
    if (::fsync(fd_) != 0 && errno != EINVAL) {
      error_ = "cannot sync report '" + path_ + "': " + errno_text(errno);
      return false;
    }
    dirty_ = false;
  }
  return check_path();
}

bool report_file::check_path() {
  if (fd_ < 0 || !error_.empty()) return error_.empty();
  struct stat open_file {};
  struct stat named {};
  if (::fstat(fd_, &open_file) != 0) return true;  // cannot tell: keep writing where we are
  if (::stat(path_.c_str(), &named) == 0) {
    if (named.st_dev == open_file.st_dev && named.st_ino == open_file.st_ino && open_file.st_nlink > 0) return true;
  } else if (errno != ENOENT && errno != ENOTDIR && open_file.st_nlink > 0) {
    return true;  // cannot tell (e.g. EACCES on a directory): the file is still linked somewhere
  }
  // The path no longer names the file the rows go to: it was removed (the file alone, or its
  // directory) or renamed. Rows written on would vanish with the last descriptor, and the summary
  // would name a path that does not hold them. Put a copy where the user looks for it.
  const std::string lost = path_;
  const std::filesystem::path parent = std::filesystem::path{lost}.parent_path();
  bool made_directory = false;
  if (!parent.empty()) {
    std::error_code ec;
    made_directory = std::filesystem::create_directories(parent, ec);
  }
  std::string failures;
  const std::string beside = lost + ".recovered-" + std::to_string(::getpid());
  for (const std::string& target : {lost, beside}) {
    const int copy = copy_to(target);
    if (copy < 0) {
      failures += (failures.empty() ? "'" : "; '") + target + "': " + errno_text(errno);
      continue;
    }
    if (lock_) lock_exclusive(copy);  // a file we just created: nobody else holds it
    ::close(fd_);
    fd_ = copy;
    path_ = target;
    dirty_ = false;
    relocation_ =
        "the report '" + lost + "' was removed or renamed mid-run" +
        (made_directory ? " (its directory was gone and has been re-created)" : std::string{}) +
        (target == lost ? "; it was written again there" : "; it was written again as '" + target + "'") +
        " with every row so far, and the run's rows continue there";
    return true;
  }
  // No copy anywhere: the only rows are in a file that vanishes at exit. Hand them all to stderr.
  std::string rows;
  std::string chunk(1 << 16, '\0');
  for (off_t at = 0;;) {
    const ssize_t n = ::pread(fd_, chunk.data(), chunk.size(), at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    rows.append(chunk.data(), static_cast<std::size_t>(n));
    at += n;
  }
  pending_.insert(0, rows);
  error_ = "the report '" + lost + "' was removed or renamed mid-run and no copy could be made (" + failures +
           "); every row of the run so far follows";
  return false;
}

int report_file::copy_to(const std::string& target) const {
  const int out = ::open(target.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (out < 0) return -1;
  std::string chunk(1 << 16, '\0');
  int err = 0;
  for (off_t at = 0; err == 0;) {
    const ssize_t n = ::pread(fd_, chunk.data(), chunk.size(), at);
    if (n < 0) {
      if (errno != EINTR) err = errno;
      continue;
    }
    if (n == 0) break;
    for (ssize_t done = 0; done < n && err == 0;) {
      const ssize_t w = ::write(out, chunk.data() + done, static_cast<std::size_t>(n - done));
      if (w < 0) {
        if (errno != EINTR) err = errno;
        continue;
      }
      done += w;
    }
    at += n;
  }
  if (err == 0 && ::fsync(out) != 0 && errno != EINVAL) err = errno;
  if (err != 0) {
    ::close(out);
    ::unlink(target.c_str());
    errno = err;
    return -1;
  }
  sync_directory_of(target);
  return out;
}

}  // namespace keyrevoke::app
