#include "keyrevoke/net/proxy_tunnel.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <memory>
#include <vector>

#include "keyrevoke/net/nothrow_awaitable.hpp"

namespace keyrevoke::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

namespace {

std::string proxy_name(const core::route& r) {
  return r.proxy ? "proxy " + r.proxy->display + " (from " + r.proxy->source + ")" : std::string{"proxy"};
}

}  // namespace

asio::awaitable<tunnel_result> open_tunnel(tcp::socket& stream, const core::route& r) {
  tunnel_result result;
  const asio::cancellation_state state = co_await asio::this_coro::cancellation_state;
  const auto cut = [&] { return state.cancelled() != asio::cancellation_type::none; };

  // Ask for the tunnel.
  const std::string request = core::connect_request(r, "keyrevoke/" KEYREVOKE_VERSION);
  auto [write_ec, written] = co_await asio::async_write(stream, asio::buffer(request), nothrow_awaitable);
  (void)written;
  if (write_ec) {
    result.error = cut() ? core::errc::cancelled : core::errc::connect_failed;
    result.detail = proxy_name(r) + ": sending CONNECT " + r.tunnel_target + ": " + write_ec.message();
    co_return result;
  }

  // Read its answer's header, bounded in bytes and time. A 2xx to CONNECT has no content (RFC 9110
  // 9.3.6); a refusal's content is not needed (the connection is closed after it).
  beast::flat_buffer buffer{tunnel_answer_limit_bytes};
  http::response_parser<http::empty_body> parser;
  parser.header_limit(tunnel_answer_limit_bytes);
  parser.skip(true);
  auto [read_ec, read] = co_await http::async_read_header(stream, buffer, parser, nothrow_awaitable);
  (void)read;
  if (read_ec) {
    if (cut()) {
      result.error = core::errc::cancelled;
      result.detail = "cancelled";
    } else if (read_ec == http::error::end_of_stream || read_ec == asio::error::eof ||
               read_ec == asio::error::connection_reset || read_ec == http::error::partial_message) {
      result.error = core::errc::connect_failed;
      result.detail =
          proxy_name(r) + ": closed the connection without a whole answer to CONNECT " + r.tunnel_target;
    } else {
      // Not HTTP (another protocol, a header over the limit): this is not an HTTP proxy.
      result.error = core::errc::connect_failed;
      result.refused = true;
      result.detail = proxy_name(r) + ": its answer to CONNECT " + r.tunnel_target + " is not a valid HTTP answer (" +
                      read_ec.message() + "): is it an HTTP proxy?";
    }
    co_return result;
  }
  const auto& answer = parser.get();
  result.status = answer.result_int();
  switch (core::classify_tunnel_answer(result.status)) {
    case core::tunnel_answer::established:
      if (buffer.size() != 0) {
        result.error = core::errc::connect_failed;
        result.refused = true;
        result.detail = proxy_name(r) + ": sent bytes after its " + std::to_string(result.status) +
                        " to CONNECT, before the client's first (a malformed answer)";
      }
      co_return result;
    case core::tunnel_answer::refused:
      result.refused = true;
      break;
    case core::tunnel_answer::failed:
      break;
  }
  result.error = core::errc::connect_failed;
  const beast::string_view reason = answer.reason();
  result.detail =
      core::describe_tunnel_answer(r, result.status, std::string_view{reason.data(), reason.size()});
  co_return result;
}

void tunnel_timed_out(tunnel_result& result, const core::route& r) {
  result.error = core::errc::timeout;
  result.refused = false;
  result.status = 0;
  result.detail = proxy_name(r) + ": no answer to CONNECT " + r.tunnel_target + " within --timeout";
}

namespace {

asio::awaitable<tunnel_result> probe(core::route r, core::millis timeout) {  // by value (GCC 12)
  const auto executor = co_await asio::this_coro::executor;
  tunnel_result result;
  std::vector<tcp::endpoint> endpoints;
  if (!r.pinned.empty()) {
    for (const std::string& address : r.pinned) {
      endpoints.emplace_back(asio::ip::make_address(address),
                             static_cast<unsigned short>(std::stoul(r.dial_port)));
    }
  } else {
    tcp::resolver resolver{executor};
    // getaddrinfo has no timeout of its own; the system resolver's (resolv.conf) bounds it.
    auto [ec, found] = co_await resolver.async_resolve(r.dial_host, r.dial_port, nothrow_awaitable);
    if (ec || found.empty()) {
      result.error = core::errc::connect_failed;
      result.detail =
          "cannot resolve " + proxy_name(r) + ": " + (ec ? ec.message() : std::string{"no address"});
      co_return result;
    }
    for (const auto& entry : found) endpoints.push_back(entry.endpoint());
  }
  // Each step (a connect, then the CONNECT exchange) within `timeout`: at the deadline the socket is
  // closed, which ends the step under way. The timer's handler may run after this frame is gone (a
  // completion queued before the cancel): it reaches the socket only through `watch`, emptied on exit.
  tcp::socket stream{executor};
  asio::steady_timer deadline{executor};
  struct watched {
    tcp::socket* socket = nullptr;
    bool timed_out = false;
  };
  const auto watch = std::make_shared<watched>(watched{&stream, false});
  const auto arm = [&] {
    deadline.expires_after(timeout);
    deadline.async_wait([watch](const error_code& ec) {
      if (ec || watch->socket == nullptr) return;
      watch->timed_out = true;
      error_code ignored;
      watch->socket->close(ignored);
    });
  };
  const auto done = [&] {
    deadline.cancel();
    const bool timed_out = watch->timed_out;
    watch->timed_out = false;
    return timed_out;
  };
  error_code connect_ec;
  bool connect_timed_out = false;
  for (const tcp::endpoint& endpoint : endpoints) {
    error_code ignored;
    stream.close(ignored);
    arm();
    auto [ec] = co_await stream.async_connect(endpoint, nothrow_awaitable);
    connect_timed_out = done();
    connect_ec = ec;
    if (!ec && !connect_timed_out) break;
  }
  if (connect_ec || connect_timed_out) {
    watch->socket = nullptr;
    result.error = connect_timed_out ? core::errc::timeout : core::errc::connect_failed;
    result.detail = "connect to " + proxy_name(r) + ": " + (connect_timed_out ? std::string{"timed out"} : connect_ec.message());
    co_return result;
  }
  arm();
  result = co_await open_tunnel(stream, r);
  if (done()) tunnel_timed_out(result, r);
  watch->socket = nullptr;
  error_code ignored;
  stream.shutdown(tcp::socket::shutdown_both, ignored);
  stream.close(ignored);
  co_return result;
}

}  // namespace

tunnel_result check_tunnel(const core::route& r, core::millis timeout) {
  if (!r.proxy) return {};
  asio::io_context io{1};
  tunnel_result result;
  asio::co_spawn(io, probe(r, timeout), [&](std::exception_ptr error, tunnel_result done) {
    if (error) {
      result.error = core::errc::other;
      result.detail = "checking the proxy failed (internal error)";
      return;
    }
    result = std::move(done);
  });
  io.run();
  return result;
}

}  // namespace keyrevoke::net
