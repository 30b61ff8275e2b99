#pragma once
// Waits, on an io_context, for the stop signals app/stop_signals.hpp counts, and hands each one to its
// owner (the run, a listing, the own-key lookup). Only meaningful inside a stop_deferral: outside one
// the handler ends the process itself.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>

#include <functional>

namespace keyrevoke::app {

class stop_watch {
 public:
  // signal_number: the signal (SIGINT, SIGTERM, SIGHUP); count: how many stops so far, this one included.
  using handler = std::function<void(int signal_number, unsigned count)>;

  explicit stop_watch(const boost::asio::any_io_executor& executor);

  // Calls on_stop on the executor once per stop signal received since the process started that this
  // watch has not reported yet, those already received first (at once, posted). Without
  // install_stop_handlers() (unit tests) it never calls. Call once.
  void start(handler on_stop);

  // No more calls; the pending wait ends (so io_context::run can return). Idempotent.
  void cancel();

 private:
  void check();
  void arm();

  boost::asio::posix::stream_descriptor pipe_;  // a dup of the handlers' self-pipe read end
  handler on_stop_;
  unsigned reported_ = 0;
  bool cancelled_ = false;
};

}  // namespace keyrevoke::app
