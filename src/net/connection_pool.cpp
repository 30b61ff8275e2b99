#include "keyrevoke/net/connection_pool.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <optional>

namespace keyrevoke::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

// Expected conditions (eof, timeouts, resets) are values, not exceptions.
constexpr auto nothrow_awaitable = asio::as_tuple(asio::use_awaitable);

constexpr std::uint32_t header_limit = std::uint32_t{16} * 1024;

bool is_ip_literal(const std::string& host) {
  error_code ec;
  (void)asio::ip::make_address(host, ec);
  return !ec;
}

std::string header_value(const http::fields& fields, std::string_view name) {
  const auto it = fields.find(name);
  return it == fields.end() ? std::string{} : std::string{it->value()};
}

bool is_tls_verify_failure(const error_code& ec) {
  if (ec.category() != asio::error::get_ssl_category()) return false;
  return ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED;
}

}  // namespace

// One TCP (+TLS) connection. Single-use: once closed it is destroyed and a new one is dialled.
class connection {
 public:
  connection(const asio::any_io_executor& executor, ssl::context& tls) : stream_{executor, tls} {}

  beast::tcp_stream& tcp() { return beast::get_lowest_layer(stream_); }

  beast::ssl_stream<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
  bool connected_ = false;
  unsigned served_ = 0;
};

connection_pool::connection_pool(asio::any_io_executor executor, ssl::context& tls,
                                 core::base_url origin, core::millis timeout,
                                 std::size_t max_connections, std::uint64_t max_body)
    : executor_{std::move(executor)},
      tls_{tls},
      origin_{std::move(origin)},
      timeout_{timeout},
      max_connections_{std::max<std::size_t>(1, max_connections)},
      max_body_{max_body},
      warm_up_done_{executor_} {}

connection_pool::~connection_pool() {
  if (session_ != nullptr) SSL_SESSION_free(session_);
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
    // request (which must never be taken for the next request's answer). Either way, a new one.
    error_code ec;
    const std::size_t waiting = conn->tcp().socket().available(ec);
    if (!ec && waiting == 0 && conn->buffer_.size() == 0) {
      ++stats_.reuses;
      break;
    }
    conn->tcp().close();
    --stats_.open;
    conn.reset();
  }
  if (!conn) {
    conn = std::make_unique<connection>(executor_, tls_);
  }
  busy_.push_back(conn.get());
  return conn;
}

void connection_pool::give_back(std::unique_ptr<connection> conn, bool reusable) {
  busy_.erase(std::remove(busy_.begin(), busy_.end(), conn.get()), busy_.end());
  if (reusable && !closed_ && idle_.size() + busy_.size() < max_connections_) {
    idle_.push_back(std::move(conn));
  } else if (conn->connected_) {
    error_code ignored;
    conn->tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    conn->tcp().close();
    --stats_.open;
  }
}

asio::awaitable<exchange_error> connection_pool::dial(connection& conn, std::string& detail) {
  // Connect to the resolved endpoints.
  conn.tcp().expires_after(timeout_);
  auto [ec, endpoint] = co_await conn.tcp().async_connect(endpoints_, nothrow_awaitable);
  if (ec) {
    detail = "connect: " + ec.message();
    if (ec == beast::error::timeout) co_return exchange_error::timeout;
    if (closed_) co_return exchange_error::cancelled;
    co_return exchange_error::connect_failed;
  }
  conn.connected_ = true;
  ++stats_.dials;
  stats_.max_open = std::max(stats_.max_open, ++stats_.open);
  conn.tcp().socket().set_option(tcp::no_delay{true}, ec);

  if (!origin_.tls) co_return exchange_error::none;

  // TLS: SNI for names, chain + host name (or IP) verification, resume the pool's last session.
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
  if (session_ != nullptr) SSL_set_session(ssl_handle, session_);

  conn.tcp().expires_after(timeout_);
  auto [hs_ec] = co_await conn.stream_.async_handshake(ssl::stream_base::client, nothrow_awaitable);
  if (hs_ec) {
    const long verify = SSL_get_verify_result(ssl_handle);
    if (verify != X509_V_OK) {
      detail = std::string{"TLS certificate not trusted: "} + X509_verify_cert_error_string(verify);
      co_return exchange_error::tls_untrusted;
    }
    detail = "TLS handshake: " + hs_ec.message();
    if (is_tls_verify_failure(hs_ec)) co_return exchange_error::tls_untrusted;
    if (hs_ec == beast::error::timeout) co_return exchange_error::timeout;
    if (closed_) co_return exchange_error::cancelled;
    if (hs_ec.category() == asio::error::get_ssl_category() &&
        hs_ec != ssl::error::stream_truncated) {
      co_return exchange_error::tls_handshake_failed;
    }
    co_return exchange_error::connection_reset;
  }
  ++stats_.tls_handshakes;
  if (SSL_session_reused(ssl_handle) != 0) ++stats_.tls_resumed;
  co_return exchange_error::none;
}

asio::awaitable<exchange_result> connection_pool::exchange(request req,
                                                           send_observer& observer) {
  exchange_result result;
  // The first exchange fetches a TLS session (ticket) that every later dial resumes.
  while (origin_.tls && session_ == nullptr && warming_up_ && idle_.empty() && !closed_) {
    warm_up_done_.expires_after(timeout_);
    co_await warm_up_done_.async_wait(nothrow_awaitable);
  }
  if (closed_) {
    result.error = exchange_error::cancelled;
    co_return result;
  }
  const bool warm_up = origin_.tls && session_ == nullptr && !warming_up_ && idle_.empty();
  if (warm_up) warming_up_ = true;
  result = co_await exchange_on(borrow(), req, observer);
  if (warm_up) {
    warming_up_ = false;
    warm_up_done_.cancel();
  }
  co_return result;
}

asio::awaitable<exchange_result> connection_pool::exchange_on(std::unique_ptr<connection> conn,
                                                              request req, send_observer& observer) {
  exchange_result result;
  result.reused_connection = conn->served_ > 0;

  if (!conn->connected_) {
    result.error = co_await dial(*conn, result.detail);
    if (result.error != exchange_error::none) {
      give_back(std::move(conn), false);
      co_return result;
    }
  }

  // Write the request.
  conn->tcp().expires_after(timeout_);
  auto [write_ec, written] = origin_.tls
      ? co_await asio::async_write(conn->stream_, asio::buffer(req), nothrow_awaitable)
      : co_await asio::async_write(conn->tcp(), asio::buffer(req), nothrow_awaitable);
  (void)written;
  if (!write_ec) {
    result.written = true;
    result.written_at = std::chrono::steady_clock::now();
    observer.on_request_written(result.written_at);

    // Read the answer, bounded. Interim 1xx answers (RFC 9110 15.2) are read and dropped.
    std::optional<http::response_parser<http::string_body>> parser;
    error_code read_ec;
    for (int interim = 0; interim < 8; ++interim) {
      parser.emplace();
      parser->body_limit(max_body_);
      parser->header_limit(header_limit);
      conn->tcp().expires_after(timeout_);
      auto [ec, read] = origin_.tls
          ? co_await http::async_read(conn->stream_, conn->buffer_, *parser, nothrow_awaitable)
          : co_await http::async_read(conn->tcp(), conn->buffer_, *parser, nothrow_awaitable);
      (void)read;
      read_ec = ec;
      const unsigned status = ec ? 0U : parser->get().result_int();
      if (ec || status < 100 || status >= 200 || status == 101) break;
    }
    if (!read_ec) {
      auto& res = parser->get();
      result.answer.status = res.result_int();
      result.answer.retry_after = header_value(res, "Retry-After");
      result.answer.retry_after_ms = header_value(res, "retry-after-ms");
      result.answer.ratelimit_reset = header_value(res, "X-RateLimit-Reset");
      result.answer.body = std::move(res.body());
      if (origin_.tls && conn->served_ == 0) {
        // Keep a resumable session for the next dial (TLS 1.3 tickets arrive after the handshake).
        SSL_SESSION* session = SSL_get1_session(conn->stream_.native_handle());
        if (session != nullptr && SSL_SESSION_is_resumable(session) != 0) {
          if (session_ != nullptr) SSL_SESSION_free(session_);
          session_ = session;
        } else if (session != nullptr) {
          SSL_SESSION_free(session);
        }
      }
      ++conn->served_;
      // We never pipeline: bytes beyond this answer answer no request, so the connection is done.
      const bool clean = conn->buffer_.size() == 0 &&
                         (!origin_.tls || SSL_pending(conn->stream_.native_handle()) == 0);
      const bool keep = res.keep_alive() && !res.need_eof() && clean && result.answer.status >= 200;
      give_back(std::move(conn), keep);
      co_return result;
    }
    result.detail = "read: " + read_ec.message();
    if (read_ec == beast::error::timeout) {
      result.error = exchange_error::timeout;
    } else if (read_ec == http::error::body_limit) {
      result.error = exchange_error::body_too_large;
    } else if (closed_ && read_ec == asio::error::operation_aborted) {
      result.error = exchange_error::cancelled;
    } else if (parser->got_some()) {
      result.error = exchange_error::torn_response;  // the answer stopped midway
    } else if (read_ec == asio::error::connection_reset) {
      result.error = exchange_error::connection_reset;
    } else if (read_ec == http::error::end_of_stream || read_ec == asio::error::eof ||
               read_ec == ssl::error::stream_truncated) {
      result.error = exchange_error::eof_before_response;
    } else {
      result.error = exchange_error::other;
    }
  } else {
    result.detail = "write: " + write_ec.message();
    if (write_ec == beast::error::timeout) {
      result.error = exchange_error::timeout;
    } else if (closed_ && write_ec == asio::error::operation_aborted) {
      result.error = exchange_error::cancelled;
    } else {
      result.error = exchange_error::connection_reset;
    }
  }
  give_back(std::move(conn), false);
  co_return result;
}

void connection_pool::close_all() {
  closed_ = true;
  warm_up_done_.cancel();
  for (auto& conn : idle_) {
    conn->tcp().close();
    --stats_.open;
  }
  idle_.clear();
  for (connection* conn : busy_) conn->tcp().cancel();
}

}  // namespace keyrevoke::net
