#include "keyrevoke/app/run_trace.hpp"

#include "keyrevoke/core/redact.hpp"
#include "keyrevoke/core/report_row.hpp"
#include "keyrevoke/core/trace_format.hpp"
#include "keyrevoke/net/connection_pool.hpp"

#include <boost/asio/post.hpp>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace keyrevoke::app {

namespace {

constexpr std::size_t body_preview_bytes = 200;

// The rate-limit fields an answer carried, for the -v line.
std::vector<std::pair<std::string_view, std::string_view>> rate_fields(const net::http_answer& a) {
  std::vector<std::pair<std::string_view, std::string_view>> fields;
  const auto add = [&](std::string_view name, const std::string& value) {
    if (!value.empty()) fields.emplace_back(name, value);
  };
  add("retry-after", a.retry_after);
  add("retry-after-ms", a.retry_after_ms);
  add("x-ratelimit-limit", a.x_ratelimit_limit);
  add("x-ratelimit-remaining", a.x_ratelimit_remaining);
  add("x-ratelimit-reset", a.ratelimit_reset);
  add("ratelimit", a.ratelimit);
  add("ratelimit-policy", a.ratelimit_policy);
  return fields;
}

std::string with_prefix(std::string_view block, std::string_view prefix) {
  std::string out;
  std::size_t pos = 0;
  while (pos < block.size()) {
    const std::size_t end = block.find('\n', pos);
    out.append(prefix).append(block.substr(pos, end - pos)).append("\n");
    if (end == std::string_view::npos) break;
    pos = end + 1;
  }
  return out;
}

}  // namespace

run_trace::run_trace(boost::asio::io_context& io, std::string_view key,
                     std::function<void(std::string_view)> say)
    : io_{io}, key_{key}, say_{std::move(say)} {}

run_trace::~run_trace() {
  flush();
  if (fd_ >= 0) ::close(fd_);
}

std::string run_trace::open(const std::string& path) {
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0600);
  if (fd_ < 0)
    return "cannot open the trace file '" + core::safe_display(path) + "': " + std::strerror(errno);
  // An existing file keeps its mode through open(): a trace holds header fields, so it is made 0600
  // (a FIFO or a device is left as it is).
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0077) != 0 && ::fchmod(fd_, 0600) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    return "cannot make the trace file '" + core::safe_display(path) + "' private (chmod 600): " + std::strerror(err);
  }
  return {};
}

void run_trace::add(std::string entry) {
  // A server may echo the key in a header field or body: gone before anything is written.
  core::redact_secret(entry, key_);
  if (pending_.size() + entry.size() > buffer_limit) {
    ++dropped_;
    return;
  }
  if (dropped_ != 0) {
    pending_ += "== " + std::to_string(dropped_) + " entries dropped (the trace file was not taking them)\n";
    dropped_ = 0;
  }
  pending_ += entry;
  if (!flush_posted_) {
    flush_posted_ = true;
    boost::asio::post(io_, [this] {
      flush_posted_ = false;
      flush();
    });
  }
}

void run_trace::flush() {
  if (fd_ < 0 || pending_.empty()) return;
  std::size_t done = 0;
  while (done < pending_.size()) {
    const ssize_t n = ::write(fd_, pending_.data() + done, pending_.size() - done);
    if (n > 0) {
      done += static_cast<std::size_t>(n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;  // EAGAIN (a FIFO not drained): the rest waits for the next turn; an error: kept, bounded
    }
  }
  pending_.erase(0, done);
}

void run_trace::on_dial(const net::dial_event& dial) {
  const std::string line = core::dial_line(
      {dial.address, dial.connection, dial.tls, dial.tls_version, dial.tls_resumed, dial.ms, dial.error});
  if (say_) {
    std::string text = "keyrevoke: " + line + "\n";
    core::redact_secret(text, key_);
    say_(text);
  }
  if (fd_ >= 0) add("== " + core::format_utc(std::chrono::system_clock::now()) + " " + line + "\n");
}

void run_trace::on_exchange(const net::exchange_event& exchange) {
  const net::exchange_result& result = *exchange.result;
  const auto [method, target] = core::request_line(exchange.request);
  const std::string error = result.error
                                ? result.error.message() + (result.detail.empty() ? "" : ": " + result.detail)
                                : std::string{};
  core::exchange_summary summary;
  summary.method = method;
  summary.target = target;
  summary.status = result.answer.status;
  summary.error = error;
  summary.rate_fields = rate_fields(result.answer);
  summary.ms = exchange.ms;
  summary.connection = exchange.connection;
  summary.reused = result.reused_connection;
  summary.tls = exchange.tls;
  summary.tls_resumed = exchange.tls_resumed;
  const std::string line = core::exchange_line(summary);
  if (say_) {
    std::string text = "keyrevoke: " + line + "\n";
    core::redact_secret(text, key_);
    say_(text);
  }
  if (fd_ < 0) return;
  std::string entry = "== " + core::format_utc(std::chrono::system_clock::now()) + " " + line + "\n";
  entry += with_prefix(core::redact_header_block(exchange.request), "> ");
  if (result.answer.status != 0) {
    entry += "< status " + std::to_string(result.answer.status) + "\n";
    if (!exchange.answer_header.empty()) {
      entry += with_prefix(core::redact_header_block("-\r\n" + std::string{exchange.answer_header}).substr(2),
                           "< ");
    }
    const std::string& body = result.answer.body;
    if (!body.empty()) {
      // Redacted whole (a cut through the key would leave a prefix no redaction recognises), then cut.
      std::string preview = body.substr(0, body_preview_bytes + key_.size());
      core::redact_secret(preview, key_);
      const bool cut = preview.size() > body_preview_bytes || body.size() > preview.size();
      preview.resize(std::min(preview.size(), body_preview_bytes));
      entry += "< body (" + std::to_string(body.size()) + (result.answer.body_truncated ? "+" : "") +
               " bytes" + (cut ? ", first " + std::to_string(body_preview_bytes) : "") +
               "): " + core::printable(preview) + "\n";
    }
  }
  if (!error.empty()) entry += "! " + error + "\n";
  add(std::move(entry));
}

}  // namespace keyrevoke::app
