#pragma once
// Keep-alive HTTPS (or, for local mocks, plain HTTP) connections to one origin, and one request/response
// exchange over them. No policy here: the caller classifies what comes back and decides what to do.

#include "keyrevoke/core/base_url.hpp"
#include "keyrevoke/core/clock.hpp"
#include "keyrevoke/core/dial_addresses.hpp"
#include "keyrevoke/core/dial_limit.hpp"
#include "keyrevoke/core/errc.hpp"
#include "keyrevoke/core/network_path.hpp"
#include "keyrevoke/net/trace_sink.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

struct ssl_st;
struct ssl_session_st;

namespace keyrevoke::net {


// An answer's status, the header fields a classifier reads, and its body. A field absent from the
// answer is empty. A field sent more than once keeps its first line, except RateLimit and
// RateLimit-Policy, which are lists: their lines are joined with ", " (RFC 9110 5.3).
struct http_answer {
  unsigned status = 0;
  std::string body;             // the whole body, or its first max_body bytes when body_truncated
  std::string retry_after;      // Retry-After (RFC 9110 10.2.3): seconds or an HTTP-date
  std::string retry_after_ms;   // retry-after-ms (milliseconds; sent by some API gateways)
  std::string ratelimit_reset;  // X-RateLimit-Reset
  // The body was longer than the pool's max_body: `body` holds only its first max_body bytes. The
  // rest was read and discarded (at most connection_pool::drain_limit bytes, and the connection
  // stays usable) or left unread (the connection is closed). Status and header fields are complete.
  bool body_truncated = false;
  std::string content_type;           // Content-Type
  std::string x_ratelimit_remaining;  // X-RateLimit-Remaining
  std::string x_ratelimit_limit;      // X-RateLimit-Limit
  std::string ratelimit;              // RateLimit (IETF draft-ietf-httpapi-ratelimit-headers)
  std::string ratelimit_policy;       // RateLimit-Policy (same draft)
  std::string date;                   // Date (RFC 9110 6.6.1): the server's clock, an IMF-fixdate
  std::string ratelimit_limit;        // RateLimit-Limit (the IETF drafts before -07)
  std::string ratelimit_remaining;    // RateLimit-Remaining (same)
  std::string ratelimit_reset_delta;  // RateLimit-Reset (same: delta-seconds)

  // Back to "no answer", keeping the strings' capacity (a reused http_answer allocates nothing for
  // answers no bigger than the ones before).
  void clear() noexcept;
};

struct exchange_result {
  // Empty when a complete answer arrived; else a core::errc (core/errc.hpp: the one taxonomy that
  // core::classify_transport_failure turns into a verdict).
  std::error_code error;
  std::string detail;              // for the report when error is set
  // When error is empty. With torn_response or timeout after a complete header: its status and
  // header fields (body empty), for diagnostics only.
  http_answer answer;
  bool reused_connection = false;  // went over a connection that had served a request before
  bool written = false;            // the request reached the socket
  // At least one byte of the answer was read. `written && reused_connection && !answer_started` with
  // eof_before_response or connection_reset is a stale keep-alive connection the server had closed:
  // the request may never have reached it. With answer_started, the server did answer something.
  bool answer_started = false;
  // With written && !answer_started: the server had closed the connection (a FIN) before the request
  // reached it, and its TCP stack refused the request (a reset; Linux reports one that follows a FIN
  // as EPIPE): no server process read it. A bare reset proves nothing (a server may read a request,
  // then reset), and neither does a FIN alone.
  bool refused_unread = false;
  core::steady_time written_at{};

  void clear() noexcept;  // back to a default-constructed result, keeping the strings' capacity
};

// Told when a request's bytes have been written (the rate controller measures sends there).
class send_observer {
 public:
  virtual void on_request_written(core::steady_time at) = 0;

 protected:
  ~send_observer() = default;
};

struct pool_stats {
  std::uint64_t dials = 0;  // TCP connects that succeeded
  std::uint64_t tls_handshakes = 0;
  std::uint64_t tls_resumed = 0;
  std::uint64_t reuses = 0;
  std::size_t open = 0;
  std::size_t max_open = 0;
  // Dials that failed: refused, reset, timed out (TCP or TLS), TLS refused, or no address; not
  // those the caller cut (core::errc::cancelled).
  std::uint64_t dial_failures = 0;
  std::uint64_t dial_limit_cuts = 0;     // times core::dial_limit halved the connections it allows
  unsigned dial_limit_lowest = 0;        // the lowest limit a cut set (0: never cut)
  std::uint64_t resolutions = 0;         // resolutions of the host name, the first included
  std::uint64_t resolution_failures = 0;
};

class connection;

class connection_pool {
 public:
  // A complete HTTP/1.1 request, serialised once by the caller (headers and body): writing bytes
  // costs a fraction of Beast's serializer, and only the target changes from one request to the next.
  using request = std::string_view;

  // Bytes of an oversized body read and discarded so that its connection can serve the next request;
  // a longer body closes the connection instead.
  static constexpr std::uint64_t drain_limit = std::uint64_t{1024} * 1024;

  // max_body (bytes): an answer with a longer body keeps its status and header fields, its body is
  // cut to max_body bytes and marked http_answer::body_truncated (a DELETE's answer is tiny; a page
  // of GET /keys is tens of KiB).
  // TLS: the pool sets a new-session callback on `tls` (SSL_CTX_sess_set_new_cb) and keeps the
  // resumable sessions (TLS 1.3 tickets) its connections receive, for its next dials; `tls` must
  // outlive the pool and its cache mode include SSL_SESS_CACHE_CLIENT (make_client_tls_context).
  connection_pool(boost::asio::any_io_executor executor, boost::asio::ssl::context& tls,
                  core::base_url origin, core::millis timeout, std::size_t max_connections,
                  std::uint64_t max_body = std::uint64_t{64} * 1024);
  ~connection_pool();
  connection_pool(const connection_pool&) = delete;
  connection_pool& operator=(const connection_pool&) = delete;

  // Where connections go (core::plan_route): through a proxy's CONNECT tunnel, to a --connect-to
  // target, to --resolve's addresses. Default: straight to the origin. Set before resolve(), which
  // then resolves what is dialled (through a proxy: the proxy's name, never the origin's).
  void set_route(core::route r) { route_ = std::move(r); }

  // Resolves the origin's host name; returns an error sentence, or empty on success. Later dials
  // resolve it again when core::dial_addresses says so (a dial failed, or the addresses are 30 s
  // old), and try every address it has.
  boost::asio::awaitable<std::string> resolve();

  // One exchange: borrows an idle connection (or dials one, within core::dial_limit: beyond it the
  // exchange waits, without polling, for a connection to come back or for the limit to allow a
  // dial), writes, reads the answer. The connection
  // goes back to the pool only after a complete answer (an oversized body drained) that allows
  // keep-alive. While the pool's first TLS connection is being set up, other exchanges wait (without
  // polling) until it has a session to resume, or its handshake has been done for one round trip, or
  // it ended: only one full handshake at start, and at most one round trip of delay for the others.
  // A terminal cancellation of the awaiting coroutine (its bound cancellation slot) ends the exchange,
  // wherever it is, with core::errc::cancelled; `written` then says whether the request had been sent.
  // `result` is overwritten (cleared first): a caller that reuses one allocates nothing per answer.
  // max_body (bytes): this answer's body limit instead of the pool's (0: the pool's), e.g. for a page
  // of GET /keys among DELETEs.
  boost::asio::awaitable<void> exchange(request req, send_observer& observer, exchange_result& result,
                                        std::uint64_t max_body = 0);

  // Closes the idle connections and refuses new exchanges (they end with core::errc::cancelled at
  // once). Exchanges under way go on: to cut one, emit the cancellation slot bound to the coroutine
  // that awaits it (asio::bind_cancellation_slot on co_spawn); it then ends with core::errc::cancelled.
  // Such a coroutine must set asio::this_coro::throw_if_cancelled(false): a cut exchange is a value.
  void shut_down();

  const pool_stats& stats() const noexcept { return stats_; }

  // -v / --trace: every dial and every exchange is told to `sink` (null: none, the default). `sink`
  // must outlive the pool's exchanges.
  void set_trace(trace_sink* sink) noexcept { trace_ = sink; }

 private:
  boost::asio::awaitable<void> exchange_on(std::unique_ptr<connection> conn, request req,
                                           send_observer& observer, exchange_result& result,
                                           std::uint64_t max_body);
  std::unique_ptr<connection> borrow();
  void give_back(std::unique_ptr<connection> conn, bool reusable);
  // A reused connection met a close before any byte of an answer: the idle connections that have sat
  // at least as long as it had (since `idle_since`) met the same keep-alive timeout; they are closed,
  // so that the resend dials a fresh one.
  void retire_idle_since(std::chrono::steady_clock::time_point idle_since);
  boost::asio::awaitable<bool> refused_unread(connection& conn);
  boost::asio::awaitable<std::error_code> dial(connection& conn, std::string& detail);
  boost::asio::awaitable<std::error_code> connect(connection& conn, std::string& detail);
  boost::asio::awaitable<std::string> resolve_now();
  boost::asio::awaitable<void> refresh_addresses();
  boost::asio::awaitable<void> wait_for_connection();
  std::size_t in_use() const noexcept { return idle_.size() + busy_.size(); }
  boost::asio::awaitable<void> read_answer(connection& conn, exchange_result& result, bool& reusable,
                                           std::uint64_t max_body);
  boost::asio::awaitable<void> wait_for_warm_up();
  void end_warm_up();
  void keep_session(ssl_session_st* session);                       // takes the reference
  ssl_session_st* take_session();  // a session for the next dial (owned by the caller), or null
  static int on_new_session(ssl_st* ssl, ssl_session_st* session);  // SSL_CTX_sess_set_new_cb

  boost::asio::any_io_executor executor_;
  boost::asio::ssl::context& tls_;
  core::base_url origin_;
  core::route route_ = core::direct_route(origin_);  // what is dialled: the proxy, or the origin (resolved)
  core::millis timeout_;
  std::size_t max_connections_;
  std::uint64_t max_body_;
  // The host's addresses in the resolver's order; which to try first, and when to resolve again.
  std::vector<boost::asio::ip::tcp::endpoint> endpoints_;
  std::string resolve_error_;  // the last resolution's failure, for a dial with no address
  core::dial_addresses addresses_;
  bool resolving_ = false;
  boost::asio::steady_timer resolved_;  // dials waiting for another's resolution; cancelled when done
  // Connections open or being dialled at most (core::dial_limit); exchanges beyond it wait on
  // slot_free_ (never expires; cancel_one wakes the oldest waiter when a place may have come free).
  core::dial_limit dial_limit_;
  boost::asio::steady_timer slot_free_;
  std::vector<std::unique_ptr<connection>> idle_;
  std::vector<connection*> busy_;
  // Resumable TLS sessions not used yet, oldest first, owned (SSL_SESSION_free); at most
  // session_stock_. TLS 1.3 servers send one or two tickets per connection and RFC 8446 C.4 asks
  // clients to use each once: a dial takes the newest, and lends a copy of the last one.
  std::vector<ssl_session_st*> sessions_;
  std::size_t session_stock_;
  // The pool's first exchange fetches a session (TLS 1.3: a ticket, sent after the handshake) that
  // every later dial resumes; the exchanges that come meanwhile wait on warm_up_done_, which only
  // the warm-up moves: armed at start (no expiry), set to "handshake done + one round trip" once,
  // cancelled once when a session arrives or the first exchange ends. Waiters never re-arm it.
  // Once done, never again: a server that gives no resumable session is not asked on every dial.
  enum class warm_up_phase { not_started, handshaking, awaiting_session, done };
  warm_up_phase warm_up_ = warm_up_phase::not_started;
  const connection* warm_up_connection_ = nullptr;
  boost::asio::steady_timer warm_up_done_;
  // Every phase of an exchange (connect, TLS handshake, write, read) must end within timeout_: arm()
  // sets the connection's deadline, disarm() clears it and turns a watchdog close into
  // beast::error::timeout. The watchdog is one timer for the pool that runs only while a phase is
  // armed, ticking every timeout_/16 (5-250 ms), and closes the socket of a phase past its deadline.
  void arm(connection& conn);
  boost::system::error_code disarm(connection& conn, const boost::system::error_code& ec);
  void watch();
  boost::asio::steady_timer watchdog_;
  bool watchdog_running_ = false;
  std::uint64_t watch_epoch_ = 0;  // bumped when shut_down() stops the watchdog: its old wait then does nothing
  bool shut_down_ = false;
  // borrow() closed an idle connection that held an answer to no request: the next exchange reports it.
  bool stray_on_idle_ = false;
  pool_stats stats_;
  // Tracing (set_trace): only looked at when set.
  trace_sink* trace_ = nullptr;
  std::uint64_t traced_connections_ = 0;
  void trace_dial(connection& conn, const std::error_code& ec, std::string_view detail,
                  std::chrono::steady_clock::time_point begun);
  void trace_exchange(connection& conn, request req, const exchange_result& result,
                      std::chrono::steady_clock::time_point begun);
};

}  // namespace keyrevoke::net
