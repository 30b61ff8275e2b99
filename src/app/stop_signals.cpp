#include "keyrevoke/app/stop_signals.hpp"

#include "keyrevoke/app/stderr_output.hpp"
#include "keyrevoke/core/exit_status.hpp"

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>

#include <fcntl.h>
#include <unistd.h>

namespace keyrevoke::app {

namespace {

// Shared with the handlers: lock-free atomics only (async-signal-safe).
std::atomic<unsigned> requests{0};
std::atomic<int> last_signal{0};
std::atomic<int> deferrals{0};
std::atomic<int> notify_read{-1};
std::atomic<int> notify_write{-1};
std::atomic<bool> installed{false};

static_assert(std::atomic<unsigned>::is_always_lock_free && std::atomic<int>::is_always_lock_free);

// What the handler says before it ends a process that had nothing in flight.
constexpr std::string_view exit_message(int signal_number) noexcept {
  switch (signal_number) {
    case SIGINT: return "keyrevoke: interrupted (SIGINT); exiting: no key was changed\n";
    case SIGTERM: return "keyrevoke: terminated (SIGTERM); exiting: no key was changed\n";
    default: return "keyrevoke: hung up (SIGHUP); exiting: no key was changed\n";
  }
}

extern "C" void on_stop_signal(int signal_number) {
  const int saved_errno = errno;
  // The terminal that hung up is gone, or belongs to the next session: nothing more goes to it.
  if (signal_number == SIGHUP) forget_terminal();
  last_signal.store(signal_number);
  requests.fetch_add(1);
  const int fd = notify_write.load();
  // Nobody to hand it to (or no self-pipe to do it with: descriptors ran out at start): end now.
  if (const bool deferred = deferrals.load() != 0; !deferred || fd < 0) {
    constexpr std::string_view cut = "keyrevoke: stopped: exiting at once; rerun with --resume\n";
    const std::string_view text = deferred ? cut : exit_message(signal_number);
    write_stderr_from_signal_handler(text.data(), text.size());
    ::_exit(core::exit_interrupted);
  }
  const char byte = 's';
  (void)!::write(fd, &byte, 1);  // non-blocking: a full pipe already wakes the watch
  errno = saved_errno;
}

}  // namespace

void install_stop_handlers() noexcept {
  if (installed.exchange(true)) return;
  int fds[2];
  if (::pipe2(fds, O_NONBLOCK | O_CLOEXEC) == 0) {
    notify_read.store(fds[0]);
    notify_write.store(fds[1]);
  }
  struct sigaction action {};
  action.sa_handler = on_stop_signal;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  // One handler at a time: a second signal waits until the first one's handler returned.
  for (const int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&action.sa_mask, s);
  for (const int s : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(s, &action, nullptr);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  ::sigaction(SIGPIPE, &ignore, nullptr);  // a closed pipe or socket is an error value, not death
}

unsigned stop_requests() noexcept { return requests.load(); }

int last_stop_signal() noexcept { return last_signal.load(); }

std::string_view stop_word(int signal_number) noexcept {
  switch (signal_number) {
    case SIGINT: return "interrupted";
    case SIGTERM: return "terminated";
    case SIGHUP: return "hung up";
    default: return "stopped";
  }
}

int stop_notify_fd() noexcept { return notify_read.load(); }

stop_deferral::stop_deferral() noexcept { deferrals.fetch_add(1); }

stop_deferral::~stop_deferral() { deferrals.fetch_sub(1); }

void defer_stops_until_exit() noexcept { deferrals.fetch_add(1); }

}  // namespace keyrevoke::app
