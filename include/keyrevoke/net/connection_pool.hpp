#pragma once
// Keep-alive HTTPS (or, for local mocks, plain HTTP) connections to one origin, and one request/response
// exchange over them. No policy here: the caller classifies what comes back and decides what to do.

#include "keyrevoke/core/base_url.hpp"
#include "keyrevoke/core/clock.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct ssl_session_st;

namespace keyrevoke::net {

enum class exchange_error {
  none,
  connect_failed,
  connection_reset,
  eof_before_response,  // the peer closed before any byte of the answer
  torn_response,        // the answer stopped midway
  timeout,
  tls_untrusted,        // certificate chain or host name not trusted
  tls_handshake_failed,
  body_too_large,
  cancelled,            // the pool was closed (shutdown)
  other,
};

struct http_answer {
  unsigned status = 0;
  std::string body;
  std::string retry_after;
  std::string retry_after_ms;
  std::string ratelimit_reset;
};

struct exchange_result {
  exchange_error error = exchange_error::none;
  std::string detail;              // for the report when error != none
  http_answer answer;              // when error == none
  bool reused_connection = false;  // went over a connection that had served a request before
  bool written = false;            // the request reached the socket
  core::steady_time written_at{};
};

// Told when a request's bytes have been written (the rate controller measures sends there).
class send_observer {
 public:
  virtual void on_request_written(core::steady_time at) = 0;

 protected:
  ~send_observer() = default;
};

struct pool_stats {
  std::uint64_t dials = 0;
  std::uint64_t tls_handshakes = 0;
  std::uint64_t tls_resumed = 0;
  std::uint64_t reuses = 0;
  std::size_t open = 0;
  std::size_t max_open = 0;
};

class connection;

class connection_pool {
 public:
  // A complete HTTP/1.1 request, serialised once by the caller (headers and body): writing bytes
  // costs a fraction of Beast's serializer, and only the target changes from one request to the next.
  using request = std::string_view;

  // max_body: answers with a larger body end with exchange_error::body_too_large (a DELETE's answer
  // is tiny; a page of GET /keys is tens of KiB).
  connection_pool(boost::asio::any_io_executor executor, boost::asio::ssl::context& tls,
                  core::base_url origin, core::millis timeout, std::size_t max_connections,
                  std::uint64_t max_body = std::uint64_t{64} * 1024);
  ~connection_pool();
  connection_pool(const connection_pool&) = delete;
  connection_pool& operator=(const connection_pool&) = delete;

  // Resolves the origin once; returns an error sentence, or empty on success.
  boost::asio::awaitable<std::string> resolve();

  // One exchange: borrows an idle connection (or dials one), writes, reads the answer. The connection
  // goes back to the pool only after a complete answer that allows keep-alive.
  boost::asio::awaitable<exchange_result> exchange(request req, send_observer& observer);

  // Closes every connection, idle or busy: exchanges under way end with exchange_error::cancelled.
  void close_all();

  const pool_stats& stats() const noexcept { return stats_; }

 private:
  boost::asio::awaitable<exchange_result> exchange_on(std::unique_ptr<connection> conn, request req,
                                                      send_observer& observer);
  std::unique_ptr<connection> borrow();
  void give_back(std::unique_ptr<connection> conn, bool reusable);
  boost::asio::awaitable<exchange_error> dial(connection& conn, std::string& detail);

  boost::asio::any_io_executor executor_;
  boost::asio::ssl::context& tls_;
  core::base_url origin_;
  core::millis timeout_;
  std::size_t max_connections_;
  std::uint64_t max_body_;
  boost::asio::ip::tcp::resolver::results_type endpoints_;
  std::vector<std::unique_ptr<connection>> idle_;
  std::vector<connection*> busy_;
  ssl_session_st* session_ = nullptr;  // last resumable TLS session, owned (SSL_SESSION_free)
  // Until a session exists, one exchange goes first and the others wait for its ticket, so that
  // only one full TLS handshake is paid at start instead of one per connection.
  bool warming_up_ = false;
  boost::asio::steady_timer warm_up_done_;
  bool closed_ = false;
  pool_stats stats_;
};

}  // namespace keyrevoke::net
