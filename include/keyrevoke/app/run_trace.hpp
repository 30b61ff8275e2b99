#pragma once
// -v/--verbose and --trace FILE (issue 11): the connection pool's dials and exchanges, as lines for a
// person on stderr (-v) and as full header fields in a file (--trace). The management key never gets
// there: Authorization and Proxy-Authorization values are replaced (core::redact_header_block), and
// anything else that quotes it (a server echoing it) is redacted. Never blocks the event loop: -v
// lines go through the run's non-blocking stderr writer; the file is written once per loop turn,
// non-blocking, from a bounded buffer (beyond it, entries are dropped and the file says how many).

#include "keyrevoke/net/trace_sink.hpp"

#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace keyrevoke::app {

class run_trace final : public net::trace_sink {
 public:
  // say: writes one -v line (with its newline) to stderr without blocking (null: no -v).
  run_trace(boost::asio::io_context& io, std::string_view key, std::function<void(std::string_view)> say);
  ~run_trace();
  run_trace(const run_trace&) = delete;
  run_trace& operator=(const run_trace&) = delete;

  // Creates (or truncates) the trace file, mode 0600. Returns an error sentence, or empty.
  std::string open(const std::string& path);

  bool wants_header() const noexcept override { return fd_ >= 0; }
  void on_dial(const net::dial_event& dial) override;
  void on_exchange(const net::exchange_event& exchange) override;

  // Writes what is buffered (non-blocking; at the end of a run too).
  void flush();

  // The most the file's buffer holds before entries are dropped, bytes.
  static constexpr std::size_t buffer_limit = std::size_t{8} * 1024 * 1024;

 private:
  void add(std::string entry);

  boost::asio::io_context& io_;
  std::string key_;
  std::function<void(std::string_view)> say_;
  int fd_ = -1;
  std::string pending_;
  std::uint64_t dropped_ = 0;
  bool flush_posted_ = false;
};

}  // namespace keyrevoke::app
