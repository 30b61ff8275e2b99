#include "keyrevoke/app/run_outputs.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <string>
#include <system_error>

#include "keyrevoke/core/action.hpp"
#include "keyrevoke/core/run_counts.hpp"
#include "keyrevoke/core/report_row.hpp"

namespace keyrevoke::app {

namespace {

std::string errno_text(int err) { return std::generic_category().message(err); }

}  // namespace

std::string write_file_atomically(const std::string& path, std::string_view content) {
  const std::size_t slash = path.rfind('/');
  const std::string directory = slash == std::string::npos ? std::string{"."}
                                : slash == 0               ? std::string{"/"}
                                                           : path.substr(0, slash);
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  if (name.empty()) return "cannot write '" + path + "': it names a directory";
  const std::string temporary = (slash == std::string::npos ? std::string{} : path.substr(0, slash + 1)) +
                                "." + name + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (fd < 0) return "cannot write '" + path + "': " + errno_text(errno);
  const auto failed = [&](int err) {
    ::close(fd);
    ::unlink(temporary.c_str());
    return "cannot write '" + path + "': " + errno_text(err);
  };
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failed(errno);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) return failed(errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(temporary.c_str());
    return "cannot write '" + path + "': " + errno_text(err);
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(temporary.c_str());
    return "cannot write '" + path + "': " + errno_text(err);
  }
  // The rename itself reaches the disk with the directory.
  if (const int dir = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
  return {};
}

std::string write_run_outputs(const options& opts, const core::run_summary& summary) {
  std::string errors;
  if (opts.summary_json) {
    if (std::string e = write_file_atomically(*opts.summary_json, core::summary_json(summary)); !e.empty())
      errors += e + "\n";
  }
  if (opts.metrics_file) {
    if (std::string e = write_file_atomically(*opts.metrics_file, core::prometheus_metrics(summary));
        !e.empty()) {
      errors += e + "\n";
    }
  }
  return errors;
}

std::string write_run_outputs_before_run(const options& opts, int code) {
  if (!opts.summary_json && !opts.metrics_file) return {};
  const auto now = std::chrono::system_clock::now();
  const std::string at = core::format_utc(now);
  const core::run_counts counts{};
  core::run_summary s;
  s.counts = &counts;
  s.exit_code = code;
  s.exit_reason = "before_run";
  s.started_at = at;
  s.finished_at = at;
  s.finished_unix_s = std::chrono::duration<double>(now.time_since_epoch()).count();
  s.version = KEYREVOKE_VERSION;
  s.action = core::to_string(opts.act);
  s.shard = opts.shard_text;
  s.report = opts.report;
  return write_run_outputs(opts, s);
}

}  // namespace keyrevoke::app
