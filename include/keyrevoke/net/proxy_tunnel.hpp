#pragma once
// An HTTP proxy's CONNECT tunnel (RFC 9110 9.3.6): on a TCP connection to the proxy, ask for a tunnel
// to the origin (or its --connect-to target); on a 2xx the connection carries the origin's TLS from
// then on (SNI and certificate verification against the origin's name, not the proxy's). What the
// route and the answers mean is core/network_path.hpp's; here only the bytes move.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <string>
#include <system_error>

#include "keyrevoke/core/clock.hpp"
#include "keyrevoke/core/errc.hpp"
#include "keyrevoke/core/network_path.hpp"

namespace keyrevoke::net {

// The proxy's answer header is read within this many bytes (a CONNECT answer is a few lines).
inline constexpr std::uint32_t tunnel_answer_limit_bytes = 16 * 1024;

struct tunnel_result {
  // Empty: the tunnel is open. Else core::errc::timeout (no whole answer within the timeout),
  // core::errc::cancelled (the awaiting coroutine's slot was emitted), or core::errc::connect_failed
  // (the proxy refused, failed, closed, or did not answer in HTTP).
  std::error_code error;
  // The proxy's answer was a refusal (core::tunnel_answer::refused: 1xx/3xx/4xx such as 407 or 403)
  // or not HTTP at all: the configuration's doing, not the network's.
  bool refused = false;
  unsigned status = 0;  // the proxy's status, 0 when none was read
  std::string detail;   // a sentence naming the proxy (never its credentials) and what it answered
};

// Writes `r`'s CONNECT request on `socket` (connected to r.proxy) and reads the answer header. Bytes
// after a 2xx answer's header (the proxy speaking for the origin before the client's TLS hello) make it
// a malformed answer: nothing is left unread on success. Untimed: the caller bounds it (its watchdog
// closes the socket at the deadline) and then calls tunnel_timed_out.
boost::asio::awaitable<tunnel_result> open_tunnel(boost::asio::ip::tcp::socket& socket, const core::route& r);

// Turns the result of an open_tunnel whose socket the caller closed at its deadline into
// core::errc::timeout, with a sentence naming the proxy.
void tunnel_timed_out(tunnel_result& result, const core::route& r);

// Before a run: one connection to the proxy and one CONNECT, then closed (nothing reaches the origin's
// HTTP layer). Runs its own event loop; at most about 3 x `timeout` (resolve, connect, answer).
// Without a proxy in `r`: an empty result at once.
tunnel_result check_tunnel(const core::route& r, core::millis timeout);

}  // namespace keyrevoke::net
