#include "keyrevoke/app/stderr_output.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>

#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace keyrevoke::app {

namespace {

// Set once by open_stderr_output() before any signal handler is installed; read by handlers too
// (lock-free atomics are async-signal-safe).
std::atomic<bool> opened{false};
std::atomic<bool> stderr_tty{false};
std::atomic<bool> stdout_tty{false};
std::atomic<bool> terminal_lost{false};
std::atomic<int> nonblocking_fd{-1};  // our own O_NONBLOCK description of stderr; -1: write fd 2

static_assert(std::atomic<bool>::is_always_lock_free && std::atomic<int>::is_always_lock_free);

int target_fd() noexcept {
  const int fd = nonblocking_fd.load(std::memory_order_relaxed);
  return fd >= 0 ? fd : STDERR_FILENO;
}

// Whether fd 2 (written as it is) can take bytes now. Files and /dev/null always can.
bool fd2_ready(int timeout_ms) noexcept {
  pollfd p{STDERR_FILENO, POLLOUT, 0};
  int n = 0;
  do {
    n = ::poll(&p, 1, timeout_ms);
  } while (n < 0 && errno == EINTR);
  return n > 0 && (p.revents & POLLOUT) != 0;
}

using steady = std::chrono::steady_clock;

}  // namespace

void open_stderr_output() noexcept {
  if (opened.exchange(true)) return;
  stderr_tty.store(::isatty(STDERR_FILENO) != 0);
  stdout_tty.store(::isatty(STDOUT_FILENO) != 0);
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return;
  // Only what waits for a reader is reopened: a regular file reopened would not share fd 2's offset.
  if (!stderr_tty.load() && !S_ISFIFO(st.st_mode)) return;
  // A new open file description of the same terminal or pipe, non-blocking for us alone. Fails
  // without /proc, for a FIFO whose reader is gone, or a terminal opened exclusively: then fd 2.
  const int fd = ::open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
  if (fd >= 0) nonblocking_fd.store(fd);
}

bool stderr_is_terminal() noexcept {
  if (!opened.load()) return ::isatty(STDERR_FILENO) != 0;
  return stderr_tty.load() && !terminal_lost.load();
}

std::size_t stderr_columns() noexcept {
  winsize size{};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  if (const char* columns = std::getenv("COLUMNS"); columns != nullptr) {
    char* end = nullptr;
    const long n = std::strtol(columns, &end, 10);
    if (end != columns && *end == '\0' && n > 0 && n <= 100000) return static_cast<std::size_t>(n);
  }
  return 80;
}

bool write_stderr_now(std::string_view text) noexcept {
  const bool own = nonblocking_fd.load(std::memory_order_relaxed) >= 0;
  if (!own && !fd2_ready(0)) return false;
  const int fd = target_fd();
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      return false;  // EAGAIN: not draining (the rest is dropped); EIO, EPIPE: gone
    }
  }
  return true;
}

bool write_stderr_within(std::string_view text, std::chrono::milliseconds bound) noexcept {
  const auto deadline = steady::now() + bound;
  const int fd = target_fd();
  const bool own = fd != STDERR_FILENO;
  std::size_t done = 0;
  while (done < text.size()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
    if (left.count() < 0) return false;
    if (!own && !fd2_ready(static_cast<int>(left.count()))) return false;
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) == 0) return false;
    } else {
      return false;
    }
  }
  return true;
}

void forget_terminal() noexcept {
  const bool err = stderr_tty.load(), out = stdout_tty.load();
  if (!err && !out) return;  // a log file or a pipe outlives the session: keep writing there
  const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null_fd < 0) return;
  if (err) {
    ::dup2(null_fd, STDERR_FILENO);
    const int fd = nonblocking_fd.load();
    if (fd >= 0) ::dup2(null_fd, fd);
  }
  if (out) ::dup2(null_fd, STDOUT_FILENO);
  ::close(null_fd);
  terminal_lost.store(true);
}

void write_stderr_from_signal_handler(const char* text, std::size_t size) noexcept {
  const int saved = errno;
  if (nonblocking_fd.load() >= 0 || fd2_ready(0)) (void)!::write(target_fd(), text, size);
  errno = saved;
}

}  // namespace keyrevoke::app
