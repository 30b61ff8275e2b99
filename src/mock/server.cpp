// Over 400 lines on purpose: the mock's whole I/O side (TLS accept, sessions, faults that act on the
// socket, admin routes, shutdown) in the one translation unit that pays for Beast.
#include "keyrevoke/mock/server.hpp"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>
#include <unordered_set>

#include "keyrevoke/core/retry_after.hpp"
#include "keyrevoke/mock/certificates.hpp"
#include "keyrevoke/mock/fault_plan.hpp"
#include "keyrevoke/mock/key_store.hpp"
#include "keyrevoke/mock/service.hpp"
#include "keyrevoke/mock/stats.hpp"

namespace keyrevoke::mock {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

// Every I/O object runs on one io_context's executor, by its concrete type: no any_io_executor
// type erasure on the hot path (and none of GCC 12's false null-dereference warnings inside it).
using executor_type = net::io_context::executor_type;
using socket_type = tcp::socket::rebind_executor<executor_type>::other;
using acceptor_type = tcp::acceptor::rebind_executor<executor_type>::other;
using tcp_stream = beast::basic_stream<tcp, executor_type>;
using timer_type = net::steady_timer::rebind_executor<executor_type>::other;
using signal_set_type = net::basic_signal_set<executor_type>;
template <class T>
using awaitable = net::awaitable<T, executor_type>;

// The one error policy: expected failures come back as values.
constexpr auto use_tuple = net::as_tuple(net::use_awaitable_t<executor_type>{});

constexpr std::uint64_t request_body_limit = 64 * 1024;
constexpr auto handshake_timeout = std::chrono::seconds{10};
constexpr auto write_timeout = std::chrono::seconds{30};
constexpr auto tls_shutdown_timeout = std::chrono::seconds{1};
constexpr auto shutdown_grace = std::chrono::seconds{3};

// A live connection as the shutdown path sees it. Lives in the connection's coroutine frame and is
// only touched from that connection's io thread.
struct connection_handle {
  tcp_stream* tcp = nullptr;
  timer_type* timer = nullptr;
  bool busy = false;  // between reading a request and finishing its response

  void close() {
    boost::system::error_code ignored;
    if (timer != nullptr) timer->cancel();
    tcp->socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp->close();
  }
};

// One io thread: its own io_context (no cross-thread locking in Asio) and its connections.
struct worker {
  std::unordered_set<connection_handle*> live;
  bool stopping = false;  // set on this worker's thread at shutdown
  // Last, so it is destroyed first: destroying it destroys suspended connection frames, whose
  // registrations still erase themselves from `live`.
  net::io_context ioc{1};
};

struct server_state {
  const mock_options& options;
  service& api;
  stats& counters;
  std::optional<ssl::context> tls;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();

  clock_reading now() const {
    return {std::chrono::steady_clock::now() - started, std::chrono::system_clock::now()};
  }
};

http_method to_method(http::verb v) noexcept {
  switch (v) {
    case http::verb::get: return http_method::get;
    case http::verb::head: return http_method::head;
    case http::verb::post: return http_method::post;
    case http::verb::put: return http_method::put;
    case http::verb::patch: return http_method::patch;
    case http::verb::delete_: return http_method::delete_;
    default: return http_method::other;
  }
}

bool is_admin_target(std::string_view target) noexcept { return target.starts_with("/__admin/"); }

// TLS handshakes are counted once the connection's first request shows it is API traffic, so the
// tests' own /__admin/stats connections do not dilute tls_sessions_resumed / tls_handshakes.
struct handshake_tally {
  bool pending = false;
  bool resumed = false;
  void settle(stats& counters, bool admin) {
    if (!pending) return;
    pending = false;
    if (admin) {
      counters.admin_connections.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    counters.tls_handshakes.fetch_add(1, std::memory_order_relaxed);
    if (resumed) counters.tls_sessions_resumed.fetch_add(1, std::memory_order_relaxed);
  }
};

// Registers a connection with its worker for the lifetime of the coroutine frame.
class registration {
 public:
  registration(worker& w, connection_handle& h) : worker_(w), handle_(h) { worker_.live.insert(&handle_); }
  ~registration() { worker_.live.erase(&handle_); }
  registration(const registration&) = delete;
  registration& operator=(const registration&) = delete;

 private:
  worker& worker_;
  connection_handle& handle_;
};

// Reads and discards until the peer closes or the server closes the socket (hang, TLS stall).
template <class Stream>
awaitable<void> drain_until_closed(Stream& stream) {
  beast::get_lowest_layer(stream).expires_never();
  char sink[4096];
  for (;;) {
    auto [ec, n] = co_await stream.async_read_some(net::buffer(sink), use_tuple);
    if (ec) co_return;
  }
}

// The Date field (RFC 9110 6.6.1: an origin server with a clock sends it; clients measure absolute
// hints against it), formatted at most once a second per thread.
const std::string& http_date_now() {
  thread_local std::string text;
  thread_local std::int64_t second = -1;
  const auto now = std::chrono::system_clock::now();
  const std::int64_t s = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  if (s != second) {
    second = s;
    text = core::format_http_date(now);
  }
  return text;
}

// Closes with an RST: SO_LINGER 0, then close.
void reset_connection(tcp_stream& tcp) {
  boost::system::error_code ignored;
  tcp.socket().set_option(net::socket_base::linger(true, 0), ignored);
  tcp.close();
}

template <class Stream>
awaitable<void> send_bad_request(Stream& stream, unsigned status, std::string_view message) {
  http::response<http::string_body> res{static_cast<http::status>(status), 11};
  res.set(http::field::server, "keyrevoke-mock");
  res.set(http::field::content_type, "application/json");
  write_error_body(res.body(), status, message);
  res.keep_alive(false);
  res.prepare_payload();
  beast::get_lowest_layer(stream).expires_after(write_timeout);
  co_await http::async_write(stream, res, use_tuple);
}

// The request loop of one connection (TLS already established, if any). Returns true when the
// connection should be closed gracefully (TLS close_notify), false when it is already dead.
template <class Stream>
awaitable<bool> serve_requests(Stream& stream, server_state& st, worker& w, connection_handle& handle,
                               handshake_tally& tally) {
  auto& tcp = beast::get_lowest_layer(stream);
  timer_type timer(co_await net::this_coro::executor);
  handle.timer = &timer;
  beast::flat_buffer buffer;
  reply rep;
  std::uint64_t responses = 0;
  const unsigned close_every = st.options.close_every;

  for (;;) {
    // Read a request (the idle timeout covers the wait for its first byte, too).
    http::request_parser<http::string_body> parser;
    parser.body_limit(request_body_limit);
    tcp.expires_after(st.options.idle_timeout);
    auto [read_ec, read_n] = co_await http::async_read(stream, buffer, parser, use_tuple);
    if (read_ec) {
      // The client closed between requests: nothing left to say (no close_notify round trip).
      if (read_ec == http::error::end_of_stream || read_ec == net::error::eof) co_return false;
      // A malformed request (not a transport failure, not a torn message): answer it, then close.
      if (read_ec.category() == http::make_error_code(http::error::body_limit).category() &&
          read_ec != http::error::partial_message) {
        st.counters.bad_http.fetch_add(1, std::memory_order_relaxed);
        const bool too_big = read_ec == http::error::body_limit;
        st.counters.count_status(too_big ? 413 : 400);
        co_await send_bad_request(stream, too_big ? 413 : 400, too_big ? "Request body too large" : "Bad request");
        co_return true;
      }
      co_return false;  // timeout, reset, truncation, or closed by shutdown
    }
    if (w.stopping) co_return true;
    handle.busy = true;
    auto& req = parser.get();
    st.counters.requests_total.fetch_add(1, std::memory_order_relaxed);
    const bool admin = is_admin_target(req.target());
    tally.settle(st.counters, admin);
    // Admin requests are not API load: they neither count as in flight nor meet the cap.
    const std::uint64_t in_flight = admin ? 0 : st.counters.request_started();
    const auto finished = [&st, admin] {
      if (!admin) st.counters.request_finished();
    };
    // Content: a Content-Length above 0, or chunked (even if the chunks add up to nothing).
    const auto length = parser.content_length();
    const bool has_body = parser.chunked() || (length && *length > 0);
    const api_request areq{to_method(req.method()), req.target(), req[http::field::authorization], req.body(),
                           req[http::field::content_type], has_body};

    // Decide: answer, wait then answer, reset, or hang.
    rep.clear();
    const admission admitted = st.api.admit(areq, st.now(), in_flight, rep);
    if (admitted.step == next_step::reset) {
      finished();
      reset_connection(tcp);
      co_return false;
    }
    if (admitted.step == next_step::hang) {
      finished();  // a hung request does not hold a concurrency slot
      handle.busy = false;
      co_await drain_until_closed(stream);
      co_return false;
    }
    if (admitted.delay.count() > 0) {
      handle.busy = false;  // a shutdown may cut the wait short
      timer.expires_after(admitted.delay);
      co_await timer.async_wait(use_tuple);
      if (w.stopping) {
        finished();
        co_return false;
      }
      handle.busy = true;
    }
    if (admitted.step == next_step::proceed) st.api.execute(areq, admitted, st.now(), rep);

    // Answer.
    ++responses;
    // (HEAD only ever meets a 405 with a body here, so it ends the connection to stay framed.)
    bool keep_alive = req.keep_alive() && !w.stopping && req.method() != http::verb::head;
    if (close_every != 0 && responses % close_every == 0 && keep_alive) {
      keep_alive = false;
      st.counters.closes_requested.fetch_add(1, std::memory_order_relaxed);
    }
    http::response<http::string_body> res{static_cast<http::status>(rep.status), req.version()};
    res.set(http::field::server, "keyrevoke-mock");
    res.set(http::field::date, http_date_now());
    res.set(http::field::content_type, rep.content_type);
    for (std::size_t i = 0; i < rep.quota.count; ++i) res.set(rep.quota.fields[i].name, rep.quota.fields[i].value);
    if (!rep.hint_header.empty()) res.set(rep.hint_header, rep.hint_value);
    if (!rep.allow.empty()) res.set(http::field::allow, rep.allow);
    res.keep_alive(keep_alive);
    res.body() = std::move(rep.body);
    res.prepare_payload();
    st.counters.count_status(rep.status);
    tcp.expires_after(write_timeout);
    auto [write_ec, write_n] = co_await http::async_write(stream, res, use_tuple);
    rep.body = std::move(res.body());  // keep the capacity for the next response
    finished();
    handle.busy = false;
    if (write_ec) co_return false;
    if (!keep_alive) co_return true;
  }
}

awaitable<void> serve_plain(socket_type socket, server_state& st, worker& w) {
  tcp_stream stream(std::move(socket));
  connection_handle handle{&stream};
  registration reg(w, handle);
  handshake_tally no_tls;
  const bool graceful = co_await serve_requests(stream, st, w, handle, no_tls);
  if (graceful && stream.socket().is_open()) {
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }
}

awaitable<void> serve_tls(socket_type socket, server_state& st, worker& w) {
  beast::ssl_stream<tcp_stream> stream(std::move(socket), *st.tls);
  auto& tcp = beast::get_lowest_layer(stream);
  connection_handle handle{&tcp};
  registration reg(w, handle);
  if (st.options.tls_stall) {  // TCP yes, TLS never
    co_await drain_until_closed(tcp);
    co_return;
  }

  // TLS handshake.
  tcp.expires_after(handshake_timeout);
  auto [hs_ec] = co_await stream.async_handshake(ssl::stream_base::server, use_tuple);
  if (hs_ec) {
    st.counters.tls_handshake_failures.fetch_add(1, std::memory_order_relaxed);
    co_return;
  }
  handshake_tally tally{true, SSL_session_reused(stream.native_handle()) == 1};

  const bool graceful = co_await serve_requests(stream, st, w, handle, tally);
  tally.settle(st.counters, false);  // a connection that never sent a request still shook hands

  // close_notify, briefly: the client usually answers it or just closes.
  if (graceful && tcp.socket().is_open()) {
    tcp.expires_after(tls_shutdown_timeout);
    co_await stream.async_shutdown(use_tuple);
  }
}

// The connection was counted open by the accept loop (connection_opened); closed here.
awaitable<void> serve_connection(socket_type socket, server_state& st, worker& w) {
  boost::system::error_code ignored;
  socket.set_option(tcp::no_delay(true), ignored);
  if (st.tls)
    co_await serve_tls(std::move(socket), st, w);
  else
    co_await serve_plain(std::move(socket), st, w);
  st.counters.connection_closed();
}

// Accepts on worker 0 and hands each connection to the next worker, round robin.
awaitable<void> accept_loop(acceptor_type& acceptor, server_state& st,
                                 std::vector<std::unique_ptr<worker>>& workers) {
  std::size_t next = 0;
  timer_type backoff(co_await net::this_coro::executor);
  const std::uint64_t cap = st.options.max_connections;
  for (;;) {
    if (cap != 0 && st.counters.connections_open.load(std::memory_order_relaxed) >= cap) {
      // --max-connections: accept nothing until one closes (nginx at worker_connections); what
      // arrives meanwhile waits in the listen queue. Polled: closes happen on the worker threads.
      st.counters.accept_paused.fetch_add(1, std::memory_order_relaxed);
      do {
        backoff.expires_after(std::chrono::milliseconds{2});
        auto [wait_ec] = co_await backoff.async_wait(use_tuple);
        if (wait_ec || !acceptor.is_open()) co_return;
      } while (st.counters.connections_open.load(std::memory_order_relaxed) >= cap);
    }
    worker& w = *workers[next++ % workers.size()];
    auto [ec, socket] = co_await acceptor.async_accept(w.ioc.get_executor(), use_tuple);
    if (ec) {
      if (!acceptor.is_open() || ec == net::error::operation_aborted) co_return;
      // Out of descriptors and the like: do not spin.
      if (!st.options.quiet) std::cerr << "keyrevoke-mock: accept: " << ec.message() << '\n';
      backoff.expires_after(std::chrono::milliseconds{50});
      co_await backoff.async_wait(use_tuple);
      continue;
    }
    st.counters.connection_opened();  // here, so that the cap above counts it at once
    net::co_spawn(w.ioc, serve_connection(std::move(socket), st, w), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        std::cerr << "keyrevoke-mock: connection: " << ex.what() << '\n';
      }
    });
  }
}

ssl::context make_tls_context(const mock_options& o) {
  ssl::context ctx{ssl::context::tls_server};
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                  ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
  if (!o.cert_file.empty()) {
    ctx.use_certificate_chain_file(o.cert_file);
    ctx.use_private_key_file(o.tls_key_file, ssl::context::pem);
  } else {
    const auto material = generate_tls_material(o.cert_hostname);
    ctx.use_certificate_chain(net::buffer(material.cert_chain_pem));
    ctx.use_private_key(net::buffer(material.key_pem), ssl::context::pem);
    if (!o.ca_out.empty()) write_file_atomically(o.ca_out, material.ca_cert_pem);
  }
  // Session resumption: a server-side cache (TLS 1.2 session ids) and tickets (on by default).
  SSL_CTX* native = ctx.native_handle();
  static constexpr unsigned char session_context[] = "keyrevoke-mock";
  SSL_CTX_set_session_id_context(native, session_context, sizeof session_context - 1);
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_SERVER);
  SSL_CTX_sess_set_cache_size(native, 100000);
  return ctx;
}

std::string hashes_text(const key_store& store) {
  std::string out;
  const auto hashes = store.hashes_in_generation_order();
  out.reserve(hashes.size() * (core::key_hash_hex_size + 1));
  char line[core::key_hash_hex_size + 1];
  line[core::key_hash_hex_size] = '\n';
  for (const auto& h : hashes) {
    core::write_hex(h, line);
    out.append(line, sizeof line);
  }
  return out;
}

}  // namespace

void write_file_atomically(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write " + tmp);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.flush();
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot rename " + tmp + " to " + path);
}

int run_server(const mock_options& o) {
  try {
    // The model.
    const auto wall_start = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    const unix_seconds today{wall_start.time_since_epoch()};
    std::optional<key_hash> listed_management;
    if (o.management_key_listed) listed_management = management_key_hash(o.management_key);
    auto store = o.keys_file.empty() ? key_store::generate(o.keys, o.seed, today, listed_management)
                                     : key_store::load_file(o.keys_file, o.seed, today, listed_management);
    const std::size_t replayed = o.store_journal.empty() ? 0 : store->open_journal(o.store_journal);
    if (!o.hashes_out.empty()) write_file_atomically(o.hashes_out, hashes_text(*store));
    fault_plan faults(o.p500, o.preset, o.phang, o.latency_ms, o.dist, o.seed);
    if (!o.fault_file.empty()) faults.load_file(o.fault_file);
    faults.set_ghost_rate(o.ghost_rate);
    stats counters;
    service_config config;
    config.management_key = o.management_key;
    config.auth_failure_status = o.auth_failure_status;
    config.base_path = o.base_path;
    config.max_concurrent = o.max_concurrent;
    config.rate = o.rate;
    config.burst = o.burst;
    config.rate_schedule = o.rate_schedule;
    config.retry_mode = o.retry_mode;
    config.advertise = o.advertise;
    config.list_latency = std::chrono::microseconds{static_cast<std::int64_t>(o.list_latency_ms * 1000.0)};
    config.delete_latency = std::chrono::microseconds{static_cast<std::int64_t>(o.delete_latency_ms * 1000.0)};
    config.page_size = o.page_size;
    config.page_sizes = o.page_sizes;
    config.expose_key_hash = o.expose_key_hash;
    config.throttle_status = o.throttle_status;
    config.throttle_answer = o.throttle_answer;
    config.outages = o.outages;
    service api(std::move(config), *store, counters, faults);

    server_state st{o, api, counters, std::nullopt};
    if (!o.plain_http) st.tls.emplace(make_tls_context(o));

    // The workers and the listening socket.
    std::vector<std::unique_ptr<worker>> workers;
    for (unsigned i = 0; i < o.threads; ++i) workers.push_back(std::make_unique<worker>());
    net::io_context& main_ioc = workers.front()->ioc;
    acceptor_type acceptor(main_ioc.get_executor());
    const tcp::endpoint endpoint{net::ip::make_address(o.host), o.port};
    acceptor.open(endpoint.protocol());
    acceptor.set_option(net::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(net::socket_base::max_listen_connections);
    const auto port = acceptor.local_endpoint().port();

    // Shutdown: the first SIGINT/SIGTERM stops accepting and closes idle connections (busy ones
    // finish their answer); the second stops everything at once.
    std::mutex stop_mutex;
    std::condition_variable stop_cv;
    int signals_seen = 0;
    signal_set_type signals(main_ioc.get_executor(), SIGINT, SIGTERM);
    std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
    for (auto& w : workers) guards.push_back(net::make_work_guard(w->ioc));
    std::function<void(const boost::system::error_code&, int)> on_signal =
        [&](const boost::system::error_code& ec, int) {
          if (ec) return;
          std::lock_guard lock(stop_mutex);
          if (++signals_seen == 1) {
            boost::system::error_code ignored;
            acceptor.close(ignored);
            for (auto& w : workers) {
              net::post(w->ioc, [wp = w.get()] {
                wp->stopping = true;
                for (auto* h : std::vector<connection_handle*>(wp->live.begin(), wp->live.end()))
                  if (!h->busy) h->close();
              });
            }
            signals.async_wait(on_signal);
          } else {
            for (auto& w : workers) w->ioc.stop();
          }
          stop_cv.notify_all();
        };
    signals.async_wait(on_signal);

    net::co_spawn(main_ioc, accept_loop(acceptor, st, workers), net::detached);

    std::vector<std::thread> threads;
    for (auto& w : workers) threads.emplace_back([&ioc = w->ioc] { ioc.run(); });

    // Announce only once everything is ready to serve.
    const std::string scheme = o.plain_http ? "http" : "https";
    const std::string host_text = endpoint.address().is_v6() ? "[" + o.host + "]" : o.host;
    if (!o.port_file.empty()) write_file_atomically(o.port_file, std::to_string(port) + "\n");
    std::cout << "listening on " << scheme << "://" << host_text << ':' << port << std::endl;
    if (!o.quiet) {
      const auto t = store->totals();
      std::cerr << "keyrevoke-mock: " << t.total << " keys (" << t.remaining << " remaining"
                << (replayed != 0 ? ", " + std::to_string(replayed) + " deleted per journal" : std::string{})
                << "), " << o.threads << " thread(s)"
                << (o.rate > 0 || !o.rate_schedule.empty() ? ", rate-limited" : "")
                << (faults.active() || faults.ghosts_active() ? ", faults on" : "") << '\n';
    }

    // Wait for the first signal, then give connections a bounded grace period.
    {
      std::unique_lock lock(stop_mutex);
      stop_cv.wait(lock, [&] { return signals_seen > 0; });
    }
    guards.clear();
    const auto deadline = std::chrono::steady_clock::now() + shutdown_grace;
    while (counters.connections_open.load() != 0 && std::chrono::steady_clock::now() < deadline) {
      std::unique_lock lock(stop_mutex);
      if (stop_cv.wait_for(lock, std::chrono::milliseconds{10}, [&] { return signals_seen > 1; })) break;
    }
    signals.cancel();
    for (auto& w : workers) w->ioc.stop();
    for (auto& t : threads) t.join();

    const auto uptime = std::chrono::steady_clock::now() - st.started;
    if (!o.stats_out.empty())
      write_file_atomically(o.stats_out, stats_to_string(counters, *store, uptime, true) + "\n");
    if (!o.quiet) {
      const auto t = store->totals();
      std::cerr << "keyrevoke-mock: stopped after " << counters.requests_total.load() << " requests; "
                << t.deleted << " of " << t.total << " keys deleted, "
                << store->not_found_after_delete() << " deletes of already-deleted keys\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "keyrevoke-mock: " << e.what() << '\n';
    return 1;
  }
}

}  // namespace keyrevoke::mock
