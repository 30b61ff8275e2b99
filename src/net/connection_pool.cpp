// Over 400 lines on purpose: the pool, its TLS session stock and one exchange (dial, write, read with
// bounded drain) share the connection type and the pool's state; Beast is compiled into one unit.
#include "keyrevoke/net/connection_pool.hpp"
#include "keyrevoke/net/nothrow_awaitable.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <ctime>
#include <optional>

namespace keyrevoke::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

constexpr std::uint32_t header_limit = std::uint32_t{16} * 1024;
constexpr int max_interim_answers = 8;
// The first step of a body of unknown length kept in memory; later steps double it.
constexpr std::uint64_t body_step = 4096;
// Bytes read at a time from an oversized body that is discarded.
constexpr std::size_t drain_step = std::size_t{16} * 1024;
// Waiters of the warm-up wait at least this long after its handshake for the session ticket
// (TLS 1.3 tickets come one round trip after the handshake, plus the server's time to make them).
constexpr core::millis ticket_wait_floor{50};

bool is_ip_literal(const std::string& host) {
  error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}

bool is_tls_verify_failure(const error_code& ec) {
  if (ec.category() != asio::error::get_ssl_category()) return false;
  return ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED;
}

// Nothing to read and no end of stream on an idle socket (one non-blocking peek, no waiting).
// The calling coroutine's cancellation slot was emitted (its owner cut the exchange): an
// operation_aborted then means "cancelled", and only then (a timer or socket the pool itself cancels or
// closes never makes it one).
bool cancelled(const asio::cancellation_state& state) {
  return state.cancelled() != asio::cancellation_type::none;
}

bool is_quiet(tcp::socket& socket) {
  char byte = 0;
  const ssize_t n = ::recv(socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void keep_first(std::string& into, beast::string_view value) {
  if (into.empty()) into.assign(value.data(), value.size());
}

void join_list(std::string& into, beast::string_view value) {
  if (!into.empty()) into.append(", ");
  into.append(value.data(), value.size());
}

// One pass over the answer's header: copies only the fields the classifier reads, if present.
void copy_fields(const http::fields& fields, http_answer& answer) {
  for (const auto& f : fields) {
    switch (f.name()) {
      case http::field::retry_after:
        keep_first(answer.retry_after, f.value());
        break;
      case http::field::content_type:
        keep_first(answer.content_type, f.value());
        break;
      case http::field::date:
        keep_first(answer.date, f.value());
        break;
      case http::field::unknown: {
        const beast::string_view name = f.name_string();
        if (beast::iequals(name, "retry-after-ms")) {
          keep_first(answer.retry_after_ms, f.value());
        } else if (beast::iequals(name, "x-ratelimit-reset")) {
          keep_first(answer.ratelimit_reset, f.value());
        } else if (beast::iequals(name, "x-ratelimit-remaining")) {
          keep_first(answer.x_ratelimit_remaining, f.value());
        } else if (beast::iequals(name, "x-ratelimit-limit")) {
          keep_first(answer.x_ratelimit_limit, f.value());
        } else if (beast::iequals(name, "ratelimit")) {
          join_list(answer.ratelimit, f.value());
        } else if (beast::iequals(name, "ratelimit-policy")) {
          join_list(answer.ratelimit_policy, f.value());
        }
        break;
      }
      default:
        break;
    }
  }
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
  connection(const asio::any_io_executor& executor, ssl::context& tls) : stream_{executor, tls} {}
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

  beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream_); }

  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  bool connected_ = false;
  unsigned served_ = 0;
};

connection_pool::connection_pool(asio::any_io_executor executor, ssl::context& tls, core::base_url origin,
                                 core::millis timeout, std::size_t max_connections, std::uint64_t max_body)
    : executor_{std::move(executor)},
      tls_{tls},
      origin_{std::move(origin)},
      timeout_{timeout},
      max_connections_{std::max<std::size_t>(1, max_connections)},
      max_body_{max_body},
      session_stock_{std::clamp<std::size_t>(max_connections, 2, 64)},
      warm_up_done_{executor_} {
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

asio::awaitable<std::string> connection_pool::resolve() {
  tcp::resolver resolver{executor_};
  auto [ec, results] = co_await resolver.async_resolve(origin_.host, origin_.port, nothrow_awaitable);
  if (ec) co_return "cannot resolve host '" + origin_.host + "': " + ec.message();
  endpoints_ = std::move(results);
  co_return std::string{};
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
    if (is_quiet(conn->tcp().socket()) && conn->buffer_.size() == 0) {
      ++stats_.reuses;
      break;
    }
    conn->tcp().close();
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
    idle_.push_back(std::move(conn));
  } else if (conn->connected_) {
    error_code ignored;
    conn->tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    conn->tcp().close();
    --stats_.open;
  }
}

asio::awaitable<std::error_code> connection_pool::dial(connection& conn, std::string& detail) {
  const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
  // Connect to the resolved endpoints. The connect's duration is one round trip.
  const auto connect_started = std::chrono::steady_clock::now();
  conn.tcp().expires_after(timeout_);
  auto [ec, endpoint] = co_await conn.tcp().async_connect(endpoints_, nothrow_awaitable);
  if (ec) {
    detail = "connect: " + ec.message();
    if (ec == beast::error::timeout) co_return core::errc::timeout;
    if (cancelled(state)) co_return core::errc::cancelled;
    co_return core::errc::connect_failed;
  }
  const auto round_trip = std::chrono::steady_clock::now() - connect_started;
  conn.connected_ = true;
  ++stats_.dials;
  stats_.max_open = std::max(stats_.max_open, ++stats_.open);
  conn.tcp().socket().set_option(tcp::no_delay{true}, ec);

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

  conn.tcp().expires_after(timeout_);
  auto [hs_ec] = co_await conn.stream_.async_handshake(ssl::stream_base::client, nothrow_awaitable);
  if (hs_ec) {
    const long verify = SSL_get_verify_result(ssl_handle);
    if (verify != X509_V_OK) {
      detail = std::string{"TLS certificate not trusted: "} + X509_verify_cert_error_string(verify);
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

asio::awaitable<exchange_result> connection_pool::exchange(request req, send_observer& observer) {
  exchange_result result;
  // The first exchange fetches a TLS session (ticket) that every later dial resumes; the others
  // wait for it (bounded: see dial).
  co_await wait_for_warm_up();
  const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
  if (shut_down_ || cancelled(state)) {
    result.error = core::errc::cancelled;
    co_return result;
  }
  const bool warm_up = origin_.tls && warm_up_ == warm_up_phase::not_started && idle_.empty();
  auto conn = borrow();
  if (warm_up) {
    warm_up_ = warm_up_phase::handshaking;
    warm_up_connection_ = conn.get();
    warm_up_done_.expires_at(asio::steady_timer::time_point::max());
  }
  result = co_await exchange_on(std::move(conn), req, observer);
  if (warm_up) {
    warm_up_connection_ = nullptr;
    end_warm_up();
  }
  co_return result;
}

asio::awaitable<exchange_result> connection_pool::exchange_on(std::unique_ptr<connection> conn, request req,
                                                              send_observer& observer) {
  exchange_result result;
  result.reused_connection = conn->served_ > 0;
  const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;

  if (!conn->connected_) {
    result.error = co_await dial(*conn, result.detail);
    if (result.error) {
      give_back(std::move(conn), false);
      co_return result;
    }
  }

  // Write the request.
  conn->tcp().expires_after(timeout_);
  auto [write_ec, written] =
      origin_.tls ? co_await asio::async_write(conn->stream_, asio::buffer(req), nothrow_awaitable)
                  : co_await asio::async_write(conn->tcp(), asio::buffer(req), nothrow_awaitable);
  (void)written;
  if (write_ec) {
    result.detail = "write: " + write_ec.message();
    if (write_ec == beast::error::timeout) {
      result.error = core::errc::timeout;
    } else if (cancelled(state)) {
      result.error = core::errc::cancelled;
    } else {
      result.error = core::errc::connection_reset;
    }
    give_back(std::move(conn), false);
    co_return result;
  }
  result.written = true;
  result.written_at = std::chrono::steady_clock::now();
  observer.on_request_written(result.written_at);

  bool reusable = false;
  co_await read_answer(*conn, result, reusable);
  give_back(std::move(conn), reusable);
  co_return result;
}

asio::awaitable<void> connection_pool::read_answer(connection& conn, exchange_result& result,
                                                   bool& reusable) {
  reusable = false;
  const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
  // The whole answer, header and body, within one timeout.
  conn.tcp().expires_after(timeout_);

  // Read the header, bounded. Interim 1xx answers (RFC 9110 15.2) are read and dropped.
  std::optional<http::response_parser<http::buffer_body>> parser;
  error_code ec;
  for (int interim = 0; interim < max_interim_answers; ++interim) {
    parser.emplace();
    parser->header_limit(header_limit);
    parser->body_limit(boost::none);  // bounded below: kept up to max_body_, drained up to drain_limit
    auto [header_ec, read] =
        origin_.tls ? co_await http::async_read_header(conn.stream_, conn.buffer_, *parser, nothrow_awaitable)
                    : co_await http::async_read_header(conn.tcp(), conn.buffer_, *parser, nothrow_awaitable);
    (void)read;
    ec = header_ec;
    if (parser->got_some()) result.answer_started = true;
    const unsigned status = ec ? 0U : parser->get().result_int();
    if (ec || status < 100 || status >= 200 || status == 101) break;
  }
  if (ec) {
    result.detail = "read: " + ec.message();
    if (ec == beast::error::timeout) {
      result.error = core::errc::timeout;
    } else if (cancelled(state)) {
      result.error = core::errc::cancelled;
    } else if (result.answer_started) {
      result.error = core::errc::torn_response;  // the answer stopped midway
    } else if (ec == asio::error::connection_reset) {
      result.error = core::errc::connection_reset;
    } else if (ec == http::error::end_of_stream || ec == asio::error::eof ||
               ec == ssl::error::stream_truncated) {
      result.error = core::errc::eof_before_response;
    } else {
      result.error = core::errc::other;
    }
    co_return;
  }
  http_answer& answer = result.answer;
  answer.status = parser->get().result_int();
  copy_fields(parser->get(), answer);

  // Read the body: its first max_body_ bytes into answer.body; the rest of a longer one is read and
  // discarded up to drain_limit (the connection stays usable), beyond that left unread.
  const boost::optional<std::uint64_t> length = parser->content_length();
  if (length && *length > max_body_) {
    answer.body_truncated = true;
    if (*length - max_body_ > drain_limit) co_return;  // not worth reading: the connection is closed
  }
  std::string& body = answer.body;
  std::string discard;  // allocated only to drain an oversized body
  std::uint64_t drained = 0;
  while (!parser->is_done()) {
    const std::size_t kept = body.size();
    const bool keeping = kept < max_body_;
    std::size_t room = 0;
    char* into = nullptr;
    if (keeping) {
      const std::uint64_t wanted = length ? *length - kept : std::max<std::uint64_t>(body_step, kept);
      room = static_cast<std::size_t>(std::max<std::uint64_t>(1, std::min(wanted, max_body_ - kept)));
      body.resize(kept + room);
      into = body.data() + kept;
    } else {
      if (drained >= drain_limit) co_return;  // long enough: the connection is closed
      discard.resize(drain_step);
      room = static_cast<std::size_t>(std::min<std::uint64_t>(drain_step, drain_limit - drained));
      into = discard.data();
    }
    http::buffer_body::value_type& sink = parser->get().body();
    sink.data = into;
    sink.size = room;
    auto [body_ec, read] =
        origin_.tls ? co_await http::async_read(conn.stream_, conn.buffer_, *parser, nothrow_awaitable)
                    : co_await http::async_read(conn.tcp(), conn.buffer_, *parser, nothrow_awaitable);
    (void)read;
    const std::size_t got = room - sink.size;
    sink.data = nullptr;
    if (keeping) {
      body.resize(kept + got);
    } else {
      drained += got;
      if (got > 0) answer.body_truncated = true;
    }
    if (!body_ec || body_ec == http::error::need_buffer) continue;
    if (cancelled(state)) {
      result.error = core::errc::cancelled;
      result.detail = "read: " + body_ec.message();
    } else if (answer.body_truncated) {
      // Status and header fields are whole, and the body was going to be cut anyway: the answer
      // stands; only the connection is lost.
    } else {
      result.detail = "read: " + body_ec.message();
      result.error =
          body_ec == beast::error::timeout ? core::errc::timeout : core::errc::torn_response;
      body.clear();
    }
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
  const bool clean =
      conn.buffer_.size() == 0 && (!origin_.tls || SSL_pending(conn.stream_.native_handle()) == 0);
  const auto& res = parser->get();
  reusable = res.keep_alive() && !res.need_eof() && clean && answer.status >= 200;
}

void connection_pool::shut_down() {
  shut_down_ = true;
  warm_up_done_.cancel();
  for (auto& conn : idle_) {
    conn->tcp().close();
    --stats_.open;
  }
  idle_.clear();
}

}  // namespace keyrevoke::net
