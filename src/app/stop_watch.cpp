#include "keyrevoke/app/stop_watch.hpp"

#include "keyrevoke/app/stop_signals.hpp"

#include <boost/asio/post.hpp>

#include <cerrno>

#include <fcntl.h>
#include <unistd.h>

namespace keyrevoke::app {

stop_watch::stop_watch(const boost::asio::any_io_executor& executor) : pipe_{executor} {}

void stop_watch::start(handler on_stop) {
  on_stop_ = std::move(on_stop);
  const int fd = stop_notify_fd();
  if (fd < 0) return;
  const int own = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  if (own < 0) return;
  pipe_.assign(own);
  // Signals that came before the watch began are reported first, from the loop.
  boost::asio::post(pipe_.get_executor(), [this] {
    if (!cancelled_) check();
  });
}

void stop_watch::cancel() {
  cancelled_ = true;
  boost::system::error_code ignored;
  if (pipe_.is_open()) pipe_.close(ignored);
}

// Empties the self-pipe, then reports what the counter says: a signal after the read leaves a byte that
// wakes the next wait, so none is missed.
void stop_watch::check() {
  char drain[64];
  while (::read(pipe_.native_handle(), drain, sizeof drain) > 0) {
  }
  const unsigned total = stop_requests();
  while (reported_ < total && !cancelled_) {
    ++reported_;
    on_stop_(last_stop_signal(), reported_);
  }
  if (!cancelled_) arm();
}

void stop_watch::arm() {
  using boost::asio::posix::stream_descriptor;
  pipe_.async_wait(stream_descriptor::wait_read, [this](const boost::system::error_code& ec) {
    if (!ec && !cancelled_) check();
  });
}

}  // namespace keyrevoke::app
