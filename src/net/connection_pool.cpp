// Over 400 lines on purpose: the pool, its TLS session stock and one exchange (dial, write, read with
// bounded drain) share the connection type and the pool's state; Beast is compiled into one unit.
#include "keyrevoke/net/connection_pool.hpp"
#include "keyrevoke/net/nothrow_awaitable.hpp"
#include "keyrevoke/net/proxy_tunnel.hpp"
#include "keyrevoke/net/tls_stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/asio/ssl/context.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>

namespace keyrevoke::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

constexpr std::uint32_t header_limit_bytes = std::uint32_t{16} * 1024;
constexpr int max_interim_answers = 8;
// Waiters of the warm-up wait at least this long after its handshake for the session ticket
// (TLS 1.3 tickets come one round trip after the handshake, plus the server's time to make them).
constexpr core::millis ticket_wait_floor{50};
// How long a stale connection's exchange waits for the reset that proves its request went unread
// (one round trip after the write), and the step of that wait.
constexpr core::millis stale_proof_wait{200};
constexpr core::millis stale_proof_step{2};
// core::dial_limit's first limit: connections dialled at once while opening (RFC 6928's 10).
constexpr unsigned initial_dial_limit = 10;

// A dial failure that says the server took no more connections (core::dial_limit cuts on it), as
// opposed to one that says nothing of its capacity.
bool is_capacity_failure(const std::error_code& e) {
  return e == core::errc::connect_failed || e == core::errc::timeout || e == core::errc::connection_reset;
}

bool is_ip_literal(const std::string& host) {
  error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}

bool is_tls_verify_failure(const error_code& ec) {
  if (ec.category() != asio::error::get_ssl_category()) return false;
  return ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED;
}

// The calling coroutine's cancellation slot was emitted (its owner cut the exchange): an
// operation_aborted then means "cancelled", and only then (a timer or socket the pool itself cancels or
// closes never makes it one).
bool cancelled(const asio::cancellation_state& state) {
  return state.cancelled() != asio::cancellation_type::none;
}

// Nothing to read and no end of stream on an idle socket (one non-blocking peek, no waiting).
bool is_quiet(tcp::socket& socket) {
  char byte = 0;
  const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// Bytes that would be an answer: anything but the empty lines (CRLF) a client ignores before a status
// line (RFC 9112 2.2).
bool holds_an_answer(std::string_view bytes) { return bytes.find_first_not_of("\r\n") != std::string_view::npos; }

// An answer whose status is 408 (Request Timeout), which a server may send on an idle connection it
// is closing (RFC 9110 15.5.9): a notice, not an answer to a request.
bool is_request_timeout(std::string_view bytes) {
  const std::size_t start = bytes.find_first_not_of("\r\n");
  if (start == std::string_view::npos) return false;
  const std::string_view line = bytes.substr(start);
  return line.size() >= 12 && line.substr(0, 7) == "HTTP/1." && line.substr(8, 4) == " 408";
}

// Up to 64 of the bytes readable on the socket now, without taking them (one non-blocking peek; end of
// stream and errors give none).
std::string peek_waiting(tcp::socket& socket) {
  char bytes[64];
  const ssize_t n = ::recv(socket.native_handle(), bytes, sizeof bytes, MSG_PEEK | MSG_DONTWAIT);
  return n > 0 ? std::string(bytes, static_cast<std::size_t>(n)) : std::string{};
}

// A TLS alert with which the server refused the session after the handshake, as TLS 1.3 servers do for a
// missing or refused client certificate (RFC 8446 4.4.2.4): a refusal, not a network failure.
bool is_tls_refusal(const error_code& ec) {
  if (ec.category() != asio::error::get_ssl_category()) return false;
  switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED: return true;
    default: return false;
  }
}

std::string tls_refusal_detail(const error_code& ec) {
  return "the server refused the TLS session (a client certificate required?): " + ec.message();
}

void keep_first(std::string& into, beast::string_view value) {
  if (into.empty()) into.assign(value.data(), value.size());
}

void join_list(std::string& into, beast::string_view value) {
  if (!into.empty()) into.append(", ");
  into.append(value.data(), value.size());
}

// Parses one answer straight into an http_answer: the status, the header fields a classifier reads
// (copied as they are parsed: no fields container, no allocation per field), and the body, of which
// the first max_body bytes are kept and the rest counted and dropped. Past max_body + drain_limit it
// stops the read (http::error::body_limit, with stopped_reading() true): the answer stands, truncated,
// and the connection is closed rather than drained further.
class answer_parser final : public http::basic_parser<false> {
 public:
  // header: when not null (--trace), every field of the answer is appended to it as "Name: value\r\n".
  answer_parser(http_answer& answer, std::uint64_t max_body, std::string* header = nullptr)
      : answer_{answer}, max_body_{max_body}, header_{header} {
    if (header_ != nullptr) header_->clear();
    header_limit(header_limit_bytes);
    body_limit(boost::none);  // bounded here: kept up to max_body, dropped up to drain_limit
  }

  // An interim answer (1xx but 101, RFC 9110 15.2): read and dropped, the final one follows.
  bool interim() const noexcept { return answer_.status >= 100 && answer_.status < 200 && answer_.status != 101; }
  bool stopped_reading() const noexcept { return stopped_; }

 private:
  void on_request_impl(http::verb, beast::string_view, beast::string_view, int, error_code& ec) override {
    ec = http::error::bad_version;  // a response parser never sees a request line
  }
  void on_response_impl(int code, beast::string_view, int, error_code&) override {
    answer_.status = static_cast<unsigned>(code);
  }
  void on_field_impl(http::field name, beast::string_view name_string, beast::string_view value,
                     error_code&) override {
    if (header_ != nullptr) {
      header_->append(name_string.data(), name_string.size())
          .append(": ")
          .append(value.data(), value.size())
          .append("\r\n");
    }
    switch (name) {
      case http::field::retry_after: keep_first(answer_.retry_after, value); break;
      case http::field::content_type: keep_first(answer_.content_type, value); break;
      case http::field::date: keep_first(answer_.date, value); break;
      case http::field::unknown:
        if (beast::iequals(name_string, "retry-after-ms")) {
          keep_first(answer_.retry_after_ms, value);
        } else if (beast::iequals(name_string, "x-ratelimit-reset")) {
          keep_first(answer_.ratelimit_reset, value);
        } else if (beast::iequals(name_string, "x-ratelimit-remaining")) {
          keep_first(answer_.x_ratelimit_remaining, value);
        } else if (beast::iequals(name_string, "x-ratelimit-limit")) {
          keep_first(answer_.x_ratelimit_limit, value);
        } else if (beast::iequals(name_string, "ratelimit")) {
          join_list(answer_.ratelimit, value);
        } else if (beast::iequals(name_string, "ratelimit-policy")) {
          join_list(answer_.ratelimit_policy, value);
        } else if (beast::iequals(name_string, "ratelimit-limit")) {
          keep_first(answer_.ratelimit_limit, value);
        } else if (beast::iequals(name_string, "ratelimit-remaining")) {
          keep_first(answer_.ratelimit_remaining, value);
        } else if (beast::iequals(name_string, "ratelimit-reset")) {
          keep_first(answer_.ratelimit_reset_delta, value);
        }
        break;
      default: break;
    }
  }
  void on_header_impl(error_code&) override {}
  void on_body_init_impl(const boost::optional<std::uint64_t>& length, error_code& ec) override {
    if (!length) return;
    if (*length > max_body_) {
      answer_.body_truncated = true;
      if (*length - max_body_ > connection_pool::drain_limit) stop(ec);  // not worth reading
    }
    answer_.body.reserve(static_cast<std::size_t>(std::min(*length, max_body_)));
  }
  std::size_t on_body_impl(beast::string_view body, error_code& ec) override {
    const std::uint64_t room = max_body_ - std::min<std::uint64_t>(max_body_, answer_.body.size());
    const std::size_t kept = static_cast<std::size_t>(std::min<std::uint64_t>(room, body.size()));
    answer_.body.append(body.data(), kept);
    if (kept < body.size()) {
      answer_.body_truncated = true;
      dropped_ += body.size() - kept;
      if (dropped_ > connection_pool::drain_limit) stop(ec);
    }
    return body.size();
  }
  void on_chunk_header_impl(std::uint64_t, beast::string_view, error_code&) override {}
  std::size_t on_chunk_body_impl(std::uint64_t, beast::string_view body, error_code& ec) override {
    return on_body_impl(body, ec);
  }
  void on_finish_impl(error_code&) override {}

  void stop(error_code& ec) {
    stopped_ = true;
    ec = http::error::body_limit;
  }

  http_answer& answer_;
  std::uint64_t max_body_;
  std::uint64_t dropped_ = 0;
  bool stopped_ = false;
  std::string* header_ = nullptr;
};

// Feeds what `buffer` holds to `parser` (eager: header and body at once). True when the message is
// whole or the parse failed (`ec` says which); false when more bytes are needed.
bool parse_buffered(beast::flat_buffer& buffer, answer_parser& parser, error_code& ec) {
  ec = {};
  while (buffer.size() != 0) {
    const std::size_t used = parser.put(buffer.data(), ec);
    buffer.consume(used);
    if (ec == http::error::need_more) {
      ec = {};
      return false;
    }
    if (ec || parser.is_done()) return true;
    if (used == 0) return false;
  }
  return false;
}

// One HTTP message into `parser`, as Beast's http::async_read does it (eager parsing; end of stream
// before any byte is http::error::end_of_stream, after some is the parser's put_eof) but without its
// composed-operation layers: one coroutine loop of read_some and put.
template <class Stream>
asio::awaitable<error_code> read_message(Stream& stream, beast::flat_buffer& buffer, answer_parser& parser) {
  parser.eager(true);
  error_code ec;
  while (!parse_buffered(buffer, parser, ec)) {
    // As Beast's read_size: at least 512 bytes of room, at most 64 KiB per read.
    const std::size_t room = std::clamp<std::size_t>(buffer.capacity() - buffer.size(), 512, 65536);
    error_code read_ec;
    std::size_t read = 0;
    if constexpr (std::is_same_v<Stream, tls_stream>) {
      std::tie(read_ec, read) = co_await stream.read_some(buffer.prepare(room));
    } else {
      std::tie(read_ec, read) = co_await stream.async_read_some(buffer.prepare(room), nothrow_awaitable);
    }
    buffer.commit(read);
    if (read_ec == asio::error::eof) {
      if (!parser.got_some()) co_return error_code{http::error::end_of_stream};
      parser.put_eof(ec);  // a message delimited by the end of the stream is whole here
      co_return ec;
    }
    if (read_ec) co_return read_ec;
  }
  co_return ec;
}

// The SSL object's pointer back to its pool, for the new-session callback.
int pool_ex_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

}  // namespace

// One TCP (+TLS) connection. Single-use: once closed it is destroyed and a new one is dialled.
class connection {
 public:
  connection(const asio::any_io_executor& executor, ssl::context& tls)
      : socket_{executor}, stream_{socket_, tls.native_handle()} {}
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  ~connection() {
    // SSL_free of a connection that saw no close_notify marks its session not resumable (OpenSSL's
    // ssl_clear_bad_session, the rule of RFC 2246 7.2.1), and the sessions the pool keeps for its
    // next dials are those very SSL_SESSION objects. TLS 1.1+ dropped the rule (RFC 4346 / 5246
    // 7.2.1: a premature close does not make a session unresumable), and fatal alerts invalidate it
    // on their own; so the close counts as a proper one and the session stays usable.
    SSL_set_shutdown(stream_.native_handle(), SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  }

  tcp::socket& socket() { return socket_; }
  // Up to 64 of the bytes the server sent on this connection that no read has taken: the HTTP
  // buffer's, else (tls) the application data OpenSSL holds or has received, else (plain HTTP, with
  // read_socket) what the socket holds now. With read_socket false it makes no system call.
  std::string unread(bool tls, bool read_socket) {
    std::string bytes{static_cast<const char*>(buffer_.data().data()), std::min<std::size_t>(buffer_.size(), 64)};
    if (holds_an_answer(bytes)) return bytes;
    if (tls) {
      (void)stream_.application_data_waiting(read_socket, bytes);
    } else if (read_socket) {
      bytes = peek_waiting(socket_);
    }
    return bytes;
  }
  void close() {
    error_code ignored;
    socket_.close(ignored);
  }

  // TLS straight on the socket (net/tls_stream.hpp): no Beast stream layers (their timers and buffers
  // cost a composed operation per read and per write; the pool's watchdog times every phase instead)
  // and no asio::ssl::stream (its memory BIO pair). Unused for plain HTTP.
  tcp::socket socket_;
  tls_stream stream_;
  beast::flat_buffer buffer_;
  bool connected_ = false;
  unsigned served_ = 0;
  std::chrono::steady_clock::time_point idle_since_{};  // when it last went back to the pool
  // Tracing only (connection_pool::set_trace): the pool's number for it (1, 2, ...), and with --trace
  // the last answer's header fields.
  std::uint64_t number_ = 0;
  std::string header_;
  // The current phase's deadline (connect, handshake, write, read), checked by the pool's watchdog;
  // time_point::max() between phases. timed_out_: the watchdog closed the socket at the deadline.
  std::chrono::steady_clock::time_point deadline_ = std::chrono::steady_clock::time_point::max();
  bool timed_out_ = false;
};

connection_pool::connection_pool(asio::any_io_executor executor, ssl::context& tls, core::base_url origin,
                                 core::millis timeout, std::size_t max_connections, std::uint64_t max_body)
    : executor_{std::move(executor)},
      tls_{tls},
      origin_{std::move(origin)},
      timeout_{timeout},
      max_connections_{std::max<std::size_t>(1, max_connections)},
      max_body_{max_body},
      addresses_{core::dial_addresses_config{}},
      resolved_{executor_},
      dial_limit_{core::dial_limit_config{
          static_cast<unsigned>(std::min<std::size_t>(max_connections_, 1U << 20)), initial_dial_limit}},
      slot_free_{executor_},
      session_stock_{std::clamp<std::size_t>(max_connections, 2, 64)},
      warm_up_done_{executor_},
      watchdog_{executor_} {
  slot_free_.expires_at(asio::steady_timer::time_point::max());
  // Every session (TLS 1.3: every ticket) a connection receives comes here, for the next dials.
  // Tickets arrive on each connection, resumed ones included, so the pool has fresh ones for as
  // long as the server issues them.
  SSL_CTX_sess_set_new_cb(tls_.native_handle(), &connection_pool::on_new_session);
}

connection_pool::~connection_pool() {
  for (SSL_SESSION* session : sessions_) SSL_SESSION_free(session);
}

int connection_pool::on_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* pool = static_cast<connection_pool*>(SSL_get_ex_data(ssl, pool_ex_index()));
  if (pool == nullptr) return 0;  // not a pool's connection: OpenSSL keeps its reference
  pool->keep_session(session);
  return 1;  // the reference is ours now
}

void connection_pool::keep_session(SSL_SESSION* session) {
  if (SSL_SESSION_is_resumable(session) == 0) {
    SSL_SESSION_free(session);
    return;
  }
  sessions_.push_back(session);
  if (sessions_.size() > session_stock_) {
    SSL_SESSION_free(sessions_.front());
    sessions_.erase(sessions_.begin());
  }
  end_warm_up();  // the waiters can resume it
}

SSL_SESSION* connection_pool::take_session() {
  // The newest is the last to expire: once it has, they all have.
  if (!sessions_.empty()) {
    const SSL_SESSION* newest = sessions_.back();
    const auto age = std::time(nullptr) - SSL_SESSION_get_time(newest);
    if (SSL_SESSION_is_resumable(newest) == 0 || age < 0 || age >= SSL_SESSION_get_timeout(newest)) {
      for (SSL_SESSION* session : sessions_) SSL_SESSION_free(session);
      sessions_.clear();
    }
  }
  if (sessions_.empty()) return nullptr;
  if (sessions_.size() > 1) {
    SSL_SESSION* session = sessions_.back();  // used once, as RFC 8446 C.4 asks
    sessions_.pop_back();
    return session;
  }
  // The last one is kept and lent as a copy: OpenSSL marks a TLS 1.3 session not resumable once a
  // handshake has resumed it (the client's half of single use), but a server that accepts a ticket
  // again saves a full handshake; one that does not answers with a full one and new tickets.
  return SSL_SESSION_dup(sessions_.back());
}

void connection_pool::end_warm_up() {
  if (warm_up_ == warm_up_phase::handshaking || warm_up_ == warm_up_phase::awaiting_session) {
    warm_up_ = warm_up_phase::done;
    warm_up_done_.cancel();
  }
}

asio::awaitable<void> connection_pool::wait_for_warm_up() {
  // Wakes when the warm-up moves the timer (once, after its handshake) or cancels it (once, at the
  // end), or when the timer expires; never re-arms it.
  const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
  while (!shut_down_ && !cancelled(state) &&
         (warm_up_ == warm_up_phase::handshaking || warm_up_ == warm_up_phase::awaiting_session) &&
         warm_up_done_.expiry() > std::chrono::steady_clock::now()) {
    co_await warm_up_done_.async_wait(nothrow_awaitable);
  }
}

asio::awaitable<std::string> connection_pool::resolve() { co_return co_await resolve_now(); }

asio::awaitable<std::string> connection_pool::resolve_now() {
  // What is dialled (route_): the origin, its --connect-to target, or the proxy; --resolve's addresses
  // instead of a lookup when given.
  std::vector<tcp::endpoint> results;
  error_code ec;
  if (route_.pinned.empty()) {
    tcp::resolver resolver{executor_};
    auto [resolve_ec, found] = co_await resolver.async_resolve(route_.dial_host, route_.dial_port, nothrow_awaitable);
    ec = resolve_ec;
    for (const auto& entry : found) results.push_back(entry.endpoint());
  } else {
    for (const std::string& address : route_.pinned) {
      results.emplace_back(asio::ip::make_address(address), static_cast<unsigned short>(std::stoul(route_.dial_port)));
    }
  }
  const auto now = std::chrono::steady_clock::now();
  ++stats_.resolutions;
  if (ec || results.empty()) {
    // The addresses there were stay: a resolver outage alone does not stop a server that answers.
    ++stats_.resolution_failures;
    addresses_.on_resolve_failed(now);
    resolve_error_ = (route_.proxy ? "cannot resolve proxy " + route_.proxy->display : "cannot resolve host '" + route_.dial_host + "'") +
                     ": " + (ec ? ec.message() : "no address");
    co_return resolve_error_;
  }
  std::optional<tcp::endpoint> last;  // the address that last connected, tried first if still there
  if (addresses_.count() != 0 && addresses_.preferred() < endpoints_.size()) {
    last = endpoints_[addresses_.preferred()];
  }
  endpoints_.clear();
  std::optional<std::size_t> kept;
  for (const auto& endpoint : results) {
    if (last && endpoint == *last) kept = endpoints_.size();
    endpoints_.push_back(endpoint);
  }
  addresses_.on_resolved(now, endpoints_.size(), kept);
  co_return std::string{};
}

asio::awaitable<void> connection_pool::refresh_addresses() {
  if (!addresses_.needs_resolution(std::chrono::steady_clock::now())) co_return;
  if (resolving_) {
    // Another dial is resolving: wait for it (at most the timeout), then go on with what there is.
    co_await resolved_.async_wait(nothrow_awaitable);
    co_return;
  }
  resolving_ = true;
  resolved_.expires_after(timeout_);  // no waiter yet: it is the first
  co_await resolve_now();             // a failure keeps the addresses there were
  resolving_ = false;
  resolved_.cancel();
}

asio::awaitable<void> connection_pool::wait_for_connection() {
  // Woken (cancel_one) when an exchange ends, a dial ends or the limit grows; a waiter that finds no
  // place waits again. Another place is always coming: while nothing is in use, any limit (>= 1)
  // allows a dial.
  const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
  while (!shut_down_ && !cancelled(state) && idle_.empty() && !dial_limit_.may_dial(in_use())) {
    co_await slot_free_.async_wait(nothrow_awaitable);
  }
}

std::unique_ptr<connection> connection_pool::borrow() {
  std::unique_ptr<connection> conn;
  while (!idle_.empty()) {
    conn = std::move(idle_.back());  // LIFO: the warmest connection first
    idle_.pop_back();
    // An idle connection has nothing to say: bytes waiting on it are a close, or an answer to no
    // request (which must never be taken for the next request's answer); end of stream is the
    // server's keep-alive timeout (a request written there would meet EOF or a reset, unanswered).
    // Either way, a new one.
    if (is_quiet(conn->socket()) && conn->buffer_.size() == 0 && conn->stream_.buffered() == 0) {
      ++stats_.reuses;
      break;
    }
    // An answer waiting there, other than the 408 a server may send on an idle connection before it
    // closes it (RFC 9110 15.5.9), answers no request of ours: the exchange that wanted a connection
    // reports it (exchange_on), and the run stops taking this server's answers.
    const std::string waiting = conn->unread(origin_.tls, true);
    if (holds_an_answer(waiting) && !is_request_timeout(waiting)) stray_on_idle_ = true;
    conn->close();
    --stats_.open;
    conn.reset();
  }
  if (!conn) {
    conn = std::make_unique<connection>(executor_, tls_);
    SSL_set_ex_data(conn->stream_.native_handle(), pool_ex_index(), this);
  }
  busy_.push_back(conn.get());
  return conn;
}

void connection_pool::give_back(std::unique_ptr<connection> conn, bool reusable) {
  busy_.erase(std::remove(busy_.begin(), busy_.end(), conn.get()), busy_.end());
  if (reusable && !shut_down_ && idle_.size() + busy_.size() < max_connections_) {
    conn->idle_since_ = std::chrono::steady_clock::now();
    idle_.push_back(std::move(conn));
  } else if (conn->connected_) {
    error_code ignored;
    conn->socket().shutdown(tcp::socket::shutdown_both, ignored);
    conn->close();
    --stats_.open;
  }
}

void connection_pool::retire_idle_since(std::chrono::steady_clock::time_point idle_since) {
  const auto older = [idle_since](const std::unique_ptr<connection>& c) {
    return c->idle_since_ <= idle_since;
  };
  for (auto& conn : idle_) {
    if (older(conn)) {
      conn->close();
      --stats_.open;
    }
  }
  idle_.erase(std::remove_if(idle_.begin(), idle_.end(), older), idle_.end());
}

asio::awaitable<bool> connection_pool::refused_unread(connection& conn) {
  // The reset answers the request: it comes about one round trip after the write, and the FIN that
  // ended the read came before it. Waits for it a bounded time, in small steps (a rare path).
  const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
  const auto deadline = std::chrono::steady_clock::now() + std::min<core::millis>(timeout_, stale_proof_wait);
  asio::steady_timer step{executor_};
  for (;;) {
    int error = 0;
    socklen_t size = sizeof error;
    const int fd = conn.socket().native_handle();
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) == 0 && error != 0) {
      co_return error == EPIPE;  // a reset after the FIN (Linux: tcp_reset in CLOSE_WAIT)
    }
    if (shut_down_ || cancelled(state) || std::chrono::steady_clock::now() >= deadline) co_return false;
    step.expires_after(stale_proof_step);
    co_await step.async_wait(nothrow_awaitable);
  }
}

asio::awaitable<std::error_code> connection_pool::dial(connection& conn, std::string& detail) {
  // Resolve the name again first if its addresses may have moved (core::dial_addresses).
  co_await refresh_addresses();
  const std::uint64_t generation = addresses_.generation();
  const std::uint64_t ticket = dial_limit_.on_dial_started();
  const auto dial_begun =
      trace_ != nullptr ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
  const std::error_code ec = co_await connect(conn, detail);
  if (trace_ != nullptr) trace_dial(conn, ec, detail, dial_begun);
  if (!ec) {
    dial_limit_.on_dial_succeeded();
    slot_free_.cancel_one();  // while opening, one more dial may start
  } else if (ec == core::errc::cancelled) {
    dial_limit_.on_dial_abandoned();
  } else {
    ++stats_.dial_failures;
    if (ec != core::errc::tls_untrusted) addresses_.on_dial_failed(generation);
    if (is_capacity_failure(ec)) {
      dial_limit_.on_dial_failed(ticket, in_use());
      stats_.dial_limit_cuts = dial_limit_.cuts();
      stats_.dial_limit_lowest = dial_limit_.lowest();
    } else {
      dial_limit_.on_dial_abandoned();
    }
  }
  co_return ec;
}

asio::awaitable<std::error_code> connection_pool::connect(connection& conn, std::string& detail) {
  const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
  // Connect: every address, the one that last connected first, each within the timeout. A copy:
  // another dial may resolve the name again meanwhile. The connect's duration is one round trip.
  const std::vector<tcp::endpoint> endpoints = endpoints_;
  if (cancelled(state)) co_return core::errc::cancelled;  // while it waited for a resolution
  if (endpoints.empty()) {
    detail = resolve_error_.empty() ? "no address for '" + route_.dial_host + "'" : resolve_error_;
    co_return core::errc::connect_failed;
  }
  const std::uint64_t generation = addresses_.generation();
  std::vector<std::size_t> order(endpoints.size());
  for (std::size_t k = 0; k < order.size(); ++k) order[k] = addresses_.pick(k);
  error_code ec;
  auto connect_started = std::chrono::steady_clock::now();
  for (std::size_t k = 0; k < endpoints.size(); ++k) {
    const std::size_t index = order[k];
    if (k != 0) conn.close();  // a failed connect leaves its socket open
    connect_started = std::chrono::steady_clock::now();
    arm(conn);
    auto [connect_ec] = co_await conn.socket().async_connect(endpoints[index], nothrow_awaitable);
    ec = disarm(conn, connect_ec);
    if (!ec) {
      addresses_.on_connected(generation, index);
      break;
    }
    if (cancelled(state)) break;
  }
  if (ec) {
    detail = (route_.proxy ? "connect to proxy " + route_.proxy->display + ": " : std::string{"connect: "}) + ec.message();
    if (endpoints.size() > 1) detail += " (" + std::to_string(endpoints.size()) + " addresses tried)";
    if (ec == beast::error::timeout) co_return core::errc::timeout;
    if (cancelled(state)) co_return core::errc::cancelled;
    co_return core::errc::connect_failed;
  }
  const auto round_trip = std::chrono::steady_clock::now() - connect_started;
  conn.connected_ = true;
  ++stats_.dials;
  stats_.max_open = std::max(stats_.max_open, ++stats_.open);
  conn.socket().set_option(tcp::no_delay{true}, ec);

  if (route_.proxy) {
    // Through an HTTP proxy: a CONNECT tunnel to the origin (net/proxy_tunnel.hpp); the TLS below is
    // the origin's, inside it.
    arm(conn);
    tunnel_result tunnel = co_await open_tunnel(conn.socket(), route_);
    const bool tunnel_timed_out = conn.timed_out_;
    (void)disarm(conn, {});
    if (tunnel_timed_out) net::tunnel_timed_out(tunnel, route_);
    if (tunnel.error) {
      detail = std::move(tunnel.detail);
      co_return cancelled(state) ? std::error_code{core::errc::cancelled} : tunnel.error;
    }
  }
  if (!origin_.tls) co_return std::error_code{};

  // TLS: SNI for names, chain + host name (or IP) verification, resume the pool's newest session.
  SSL* ssl_handle = conn.stream_.native_handle();
  if (is_ip_literal(origin_.host)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl_handle), origin_.host.c_str());
  } else {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wold-style-cast"  // OpenSSL's macro
    SSL_set_tlsext_host_name(ssl_handle, origin_.host.c_str());
#pragma GCC diagnostic pop
    SSL_set1_host(ssl_handle, origin_.host.c_str());
  }
  if (SSL_SESSION* session = take_session(); session != nullptr) {
    SSL_set_session(ssl_handle, session);  // takes its own reference
    SSL_SESSION_free(session);
  }

  arm(conn);
  const error_code handshake_ec = co_await conn.stream_.handshake();
  const error_code hs_ec = disarm(conn, handshake_ec);
  if (hs_ec) {
    const long verify = SSL_get_verify_result(ssl_handle);
    if (verify != X509_V_OK) {
      detail = X509_verify_cert_error_string(verify);  // after errc::tls_untrusted's own message
      co_return core::errc::tls_untrusted;
    }
    detail = "TLS handshake: " + hs_ec.message();
    if (is_tls_verify_failure(hs_ec)) co_return core::errc::tls_untrusted;
    if (hs_ec == beast::error::timeout) co_return core::errc::timeout;
    if (cancelled(state)) co_return core::errc::cancelled;
    if (hs_ec.category() == asio::error::get_ssl_category() && hs_ec != ssl::error::stream_truncated) {
      co_return core::errc::tls_handshake_failed;
    }
    co_return core::errc::connection_reset;
  }
  ++stats_.tls_handshakes;
  if (SSL_session_reused(ssl_handle) != 0) ++stats_.tls_resumed;
  if (&conn == warm_up_connection_ && warm_up_ == warm_up_phase::handshaking) {
    // TLS 1.2 delivered its session during the handshake; a TLS 1.3 ticket follows within about one
    // round trip. The waiters give it that long, then go on without it.
    if (!sessions_.empty()) {
      end_warm_up();
    } else {
      warm_up_ = warm_up_phase::awaiting_session;
      const auto wait = std::min<std::chrono::steady_clock::duration>(
          std::max<std::chrono::steady_clock::duration>(2 * round_trip, ticket_wait_floor), timeout_);
      warm_up_done_.expires_after(wait);  // wakes the waiters once; they wait again until then
    }
  }
  co_return std::error_code{};
}

void http_answer::clear() noexcept {
  status = 0;
  body.clear();
  retry_after.clear();
  retry_after_ms.clear();
  ratelimit_reset.clear();
  body_truncated = false;
  content_type.clear();
  x_ratelimit_remaining.clear();
  x_ratelimit_limit.clear();
  ratelimit.clear();
  ratelimit_policy.clear();
  date.clear();
  ratelimit_limit.clear();
  ratelimit_remaining.clear();
  ratelimit_reset_delta.clear();
}

void exchange_result::clear() noexcept {
  error.clear();
  detail.clear();
  answer.clear();
  reused_connection = false;
  written = false;
  answer_started = false;
  refused_unread = false;
  written_at = {};
}

asio::awaitable<void> connection_pool::exchange(request req, send_observer& observer, exchange_result& result,
                                               std::uint64_t max_body) {
  result.clear();
  // The first exchange fetches a TLS session (ticket) that every later dial resumes; the others
  // wait for it (bounded: see dial).
  // (Each awaited coroutine costs a frame and a resumption: only awaited when it would wait.)
  if (warm_up_ == warm_up_phase::handshaking || warm_up_ == warm_up_phase::awaiting_session) {
    co_await wait_for_warm_up();
  }
  const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
  if (shut_down_ || cancelled(state)) {
    result.error = core::errc::cancelled;
    co_return;
  }
  // A connection within the dial limit: an idle one, or a new one if the limit allows.
  if (idle_.empty() && !dial_limit_.may_dial(in_use())) co_await wait_for_connection();
  if (shut_down_ || cancelled(state)) {
    result.error = core::errc::cancelled;
    co_return;
  }
  const bool warm_up = origin_.tls && warm_up_ == warm_up_phase::not_started && idle_.empty();
  auto conn = borrow();
  if (warm_up) {
    warm_up_ = warm_up_phase::handshaking;
    warm_up_connection_ = conn.get();
    warm_up_done_.expires_at(asio::steady_timer::time_point::max());
  }
  co_await exchange_on(std::move(conn), req, observer, result, max_body != 0 ? max_body : max_body_);
  if (warm_up) {
    warm_up_connection_ = nullptr;
    end_warm_up();
  }
  if (!result.error) dial_limit_.on_answer(in_use());
  slot_free_.cancel_one();  // the connection came back or closed (or the limit grew): a place for one
}

asio::awaitable<void> connection_pool::exchange_on(std::unique_ptr<connection> conn, request req,
                                                   send_observer& observer, exchange_result& result,
                                                   std::uint64_t max_body) {
  result.reused_connection = conn->served_ > 0;
  const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
  const auto idle_since = conn->idle_since_;
  const auto begun =
      trace_ != nullptr ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};

  if (!conn->connected_) {
    result.error = co_await dial(*conn, result.detail);
    if (result.error) {
      if (trace_ != nullptr) trace_exchange(*conn, req, result, begun);
      give_back(std::move(conn), false);
      co_return;
    }
  }

  if (std::exchange(stray_on_idle_, false)) {
    result.error = core::errc::unrequested_answer;
    result.detail = "an idle connection held an answer";
    if (trace_ != nullptr) trace_exchange(*conn, req, result, begun);
    const bool reusable = conn->connected_ && conn->served_ > 0;  // this one was quiet
    give_back(std::move(conn), reusable);
    co_return;
  }
  if (!result.reused_connection) {
    // A new connection has nothing to say before its first request: an answer waiting now answers no
    // request of ours (a server speaking first, or one answering twice on its connections). Nothing was
    // written; the caller stops the run (run_scheduler: stop_reason::unattributable).
    if (holds_an_answer(conn->unread(origin_.tls, true))) {
      result.error = core::errc::unrequested_answer;
      result.detail = "the server sent an answer before the request was written";
      if (trace_ != nullptr) trace_exchange(*conn, req, result, begun);
      give_back(std::move(conn), false);
      co_return;
    }
  }

  // Write the request.
  arm(*conn);
  error_code write_result;
  if (origin_.tls) {  // (an if: see read_answer on GCC 12 and co_await in a conditional)
    write_result = co_await conn->stream_.write(asio::buffer(req));
  } else {
    auto [ec, written] = co_await asio::async_write(conn->socket(), asio::buffer(req), nothrow_awaitable);
    write_result = ec;
  }
  const error_code write_ec = disarm(*conn, write_result);
  if (write_ec) {
    result.detail = "write: " + write_ec.message();
    if (write_ec == beast::error::timeout) {
      result.error = core::errc::timeout;
    } else if (cancelled(state)) {
      result.error = core::errc::cancelled;
    } else if (is_tls_refusal(write_ec)) {  // met before the write: see tls_stream::failure()
      result.error = core::errc::tls_handshake_failed;
      result.detail = tls_refusal_detail(write_ec);
    } else {
      result.error = core::errc::connection_reset;
      if (result.reused_connection) retire_idle_since(idle_since);  // a stale connection: see below
    }
    if (trace_ != nullptr) trace_exchange(*conn, req, result, begun);
    give_back(std::move(conn), false);
    co_return;
  }
  result.written = true;
  result.written_at = std::chrono::steady_clock::now();
  observer.on_request_written(result.written_at);

  bool reusable = false;
  co_await read_answer(*conn, result, reusable, max_body);
  // A kept-alive connection closed before any byte of an answer: most likely the server closed it
  // while it sat idle (its FIN crossed the request). The caller resends once; the idle connections
  // as old as this one are closed, so that the resend goes on a fresh one.
  const std::error_code& e = result.error;
  if (result.reused_connection && !result.answer_started &&
      (e == core::errc::eof_before_response || e == core::errc::connection_reset || e == core::errc::other)) {
    retire_idle_since(idle_since);
    if (e == core::errc::eof_before_response) result.refused_unread = co_await refused_unread(*conn);
  }
  if (trace_ != nullptr) trace_exchange(*conn, req, result, begun);
  give_back(std::move(conn), reusable);
}

asio::awaitable<void> connection_pool::read_answer(connection& conn, exchange_result& result,
                                                   bool& reusable, std::uint64_t max_body) {
  reusable = false;
  const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
  // The whole answer, header and body, within one timeout, in one read: the parser keeps what the
  // classifier needs as it goes. Interim 1xx answers (RFC 9110 15.2) are read and dropped.
  arm(conn);
  http_answer& answer = result.answer;
  std::optional<answer_parser> parser;
  error_code ec;
  for (int interim = 0; interim < max_interim_answers; ++interim) {
    answer.clear();
    parser.emplace(answer, max_body, trace_ != nullptr && trace_->wants_header() ? &conn.header_ : nullptr);
    // (An if, not ?: : GCC 12 runs both operands of a conditional whose arms each co_await a coroutine.)
    if (origin_.tls) {
      ec = co_await read_message(conn.stream_, conn.buffer_, *parser);
    } else {
      ec = co_await read_message(conn.socket(), conn.buffer_, *parser);
    }
    if (parser->got_some()) result.answer_started = true;
    if (ec || !parser->interim()) break;
  }
  ec = disarm(conn, ec);
  if (ec && parser->stopped_reading()) {
    // An oversized body, cut: status and header fields are whole, the answer stands; only the
    // connection is lost (the rest of the body is left unread).
    co_return;
  }
  if (ec) {
    const bool header_done = parser->is_header_done();
    result.detail = "read: " + ec.message();
    if (cancelled(state)) {
      result.error = core::errc::cancelled;
    } else if (header_done && answer.body_truncated) {
      // The body was going to be cut anyway and the header is whole: the answer stands; only the
      // connection is lost.
      result.detail.clear();
      co_return;
    } else if (ec == beast::error::timeout) {
      result.error = core::errc::timeout;
    } else if (result.answer_started) {
      result.error = core::errc::torn_response;  // the answer stopped midway
    } else if (ec == asio::error::connection_reset) {
      result.error = core::errc::connection_reset;
    } else if (ec == http::error::end_of_stream || ec == asio::error::eof ||
               ec == ssl::error::stream_truncated) {
      result.error = core::errc::eof_before_response;
    } else if (is_tls_refusal(ec)) {
      result.error = core::errc::tls_handshake_failed;
      result.detail = tls_refusal_detail(ec);
    } else {
      result.error = core::errc::other;
    }
    // A complete header stays, for diagnostics only; a half-parsed one is no answer at all.
    answer.body.clear();
    if (!header_done) answer.clear();
    co_return;
  }
  if (parser->interim()) {
    // More interim answers than anyone sends: no final answer to read.
    result.detail = "read: more than " + std::to_string(max_interim_answers) + " interim (1xx) answers";
    result.error = core::errc::other;
    answer.clear();
    co_return;
  }

  // We never pipeline: an answer following this one answers no request, and which of the two is this
  // request's cannot be told (HTTP/1.1 has no request ids). Neither is taken, and the caller stops the run.
  // (Only what has arrived with this answer is seen here; an idle connection is checked again when it
  // is taken, and a new one before its first request.)
  if (holds_an_answer(conn.unread(origin_.tls, false))) {
    result.detail = "another answer followed this one (HTTP " + std::to_string(answer.status) + ")";
    result.error = core::errc::unrequested_answer;
    answer.clear();
    co_return;
  }

  ++conn.served_;
  if (origin_.tls && sessions_.empty()) {
    // No session came through the new-session callback (a context without a client cache mode):
    // keep this connection's, if resumable.
    if (SSL_SESSION* session = SSL_get1_session(conn.stream_.native_handle()); session != nullptr) {
      keep_session(session);
    }
  }
  // We never pipeline: bytes beyond this answer answer no request, so the connection is done.
  const bool clean = conn.buffer_.size() == 0 && (!origin_.tls || conn.stream_.buffered() == 0);
  reusable = parser->keep_alive() && !parser->need_eof() && clean && answer.status >= 200;
}

// --- tracing (-v, --trace): only with a sink set ---------------------------------------------------

void connection_pool::trace_dial(connection& conn, const std::error_code& ec, std::string_view detail,
                                 std::chrono::steady_clock::time_point begun) {
  if (ec == core::errc::cancelled) return;
  std::string address = origin_.host + ":" + origin_.port;
  SSL* ssl_handle = conn.stream_.native_handle();
  dial_event event;
  event.tls = origin_.tls;
  if (!ec) {
    conn.number_ = ++traced_connections_;
    error_code ignored;
    const tcp::endpoint peer = conn.socket().remote_endpoint(ignored);
    if (!ignored)
      address =
          (peer.address().is_v6() ? "[" + peer.address().to_string() + "]" : peer.address().to_string()) +
          ":" + std::to_string(peer.port());
    event.connection = conn.number_;
    if (origin_.tls) {
      event.tls_version = SSL_get_version(ssl_handle);
      event.tls_resumed = SSL_session_reused(ssl_handle) != 0;
    }
  } else {
    event.error = detail.empty() ? std::string_view{"failed"} : detail;
  }
  event.address = address;
  event.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begun).count();
  trace_->on_dial(event);
}

void connection_pool::trace_exchange(connection& conn, request req, const exchange_result& result,
                                     std::chrono::steady_clock::time_point begun) {
  exchange_event event;
  event.request = req;
  event.result = &result;
  if (trace_->wants_header() && result.answer.status != 0) event.answer_header = conn.header_;
  event.connection = conn.connected_ ? conn.number_ : 0;
  event.tls = origin_.tls;
  event.tls_resumed = origin_.tls && conn.connected_ && SSL_session_reused(conn.stream_.native_handle()) != 0;
  event.ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - begun).count();
  trace_->on_exchange(event);
}

void connection_pool::arm(connection& conn) {
  conn.deadline_ = std::chrono::steady_clock::now() + timeout_;
  conn.timed_out_ = false;
  if (watchdog_running_) return;
  watchdog_running_ = true;
  watch();
}

error_code connection_pool::disarm(connection& conn, const error_code& ec) {
  conn.deadline_ = std::chrono::steady_clock::time_point::max();
  if (conn.timed_out_) return beast::error::timeout;  // the error Beast's own stream timeouts give
  return ec;
}

void connection_pool::watch() {
  // One timer for the whole pool, ticking while a phase is under way: a phase ends in timeout at most
  // one tick after its deadline. (A deadline on each tcp_stream costs a timer wait and a cancel per
  // read and per write; this costs a few wake-ups a second.)
  const auto tick = std::clamp<core::millis>(timeout_ / 16, core::millis{5}, core::millis{250});
  watchdog_.expires_after(tick);
  watchdog_.async_wait([this, epoch = watch_epoch_](const error_code& ec) {
    if (epoch != watch_epoch_) return;  // stopped by shut_down(), maybe restarted since: not this wait's
    if (ec) {  // the pool is going away (exchanges after shut_down() still need their deadlines)
      watchdog_running_ = false;
      return;
    }
    const auto now = std::chrono::steady_clock::now();
    bool armed = false;
    for (connection* conn : busy_) {
      if (conn->deadline_ == std::chrono::steady_clock::time_point::max()) continue;
      if (conn->deadline_ <= now) {
        // As Beast's stream timeout does: close the socket, so the operation under way (and any that
        // a composed operation starts after it) ends at once; disarm() reports it as a timeout.
        conn->timed_out_ = true;
        conn->deadline_ = std::chrono::steady_clock::time_point::max();
        conn->close();
      } else {
        armed = true;
      }
    }
    if (armed) {
      watch();
    } else {
      watchdog_running_ = false;
    }
  });
}

void connection_pool::shut_down() {
  shut_down_ = true;
  warm_up_done_.cancel();
  slot_free_.cancel();
  for (auto& conn : idle_) {
    conn->close();
    --stats_.open;
  }
  idle_.clear();
  // With no phase under way the watchdog's pending tick (up to 250 ms) is all that would keep the
  // io_context running: the run would end that much later. An exchange armed after this starts it again.
  const bool armed = std::any_of(busy_.begin(), busy_.end(), [](const connection* conn) {
    return conn->deadline_ != std::chrono::steady_clock::time_point::max();
  });
  if (watchdog_running_ && !armed) {
    ++watch_epoch_;
    watchdog_running_ = false;
    watchdog_.cancel();
  }
}

}  // namespace keyrevoke::net
