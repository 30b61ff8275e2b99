#pragma once
// The lines of -v/--verbose and --trace FILE (issue 11): what went over the wire, said briefly for a
// person (-v) or in full for a post-mortem (--trace), never with a credential in it. Pure.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace keyrevoke::core {

// What replaces an Authorization or Proxy-Authorization value (RFC 9110 11.6.2, 11.7.2).
inline constexpr std::string_view credential_placeholder = "[not shown]";

// Every run of 64 hex digits (a key hash) -> its first 8 digits and "..": "/keys/3f2a9c01..".
std::string shorten_hashes(std::string_view text);

// An HTTP header block ("Name: value\r\n" lines, the request or status line first, CRLF or LF) with
// the value of every Authorization and Proxy-Authorization field (any case) replaced by
// credential_placeholder, and any byte outside printable ASCII (and tab) shown as "\xNN". Stops at the
// blank line that ends the header: no body is copied.
std::string redact_header_block(std::string_view block);

// text with every byte outside printable ASCII (tab included) shown as "\xNN": one line, safe on a
// terminal.
std::string printable(std::string_view text);

// The request line's method and target ("DELETE", "/api/v1/keys/<hash>"); empty if there is none.
std::pair<std::string_view, std::string_view> request_line(std::string_view request);

// One exchange, as -v shows it.
struct exchange_summary {
  std::string_view method;
  std::string_view target;
  unsigned status = 0;     // 0: no answer
  std::string_view error;  // why there is no answer (or it was torn): empty if none
  std::vector<std::pair<std::string_view, std::string_view>> rate_fields;  // rate-limit fields present
  double ms = 0.0;                                                         // the exchange, its dial included
  std::uint64_t connection = 0;  // the pool's number for the connection (0: none)
  bool reused = false;           // the connection had served a request before
  bool tls = false;
  bool tls_resumed = false;  // a new TLS connection that resumed a session
};

// "DELETE /api/v1/keys/3f2a9c01.. 204 12 ms conn #3 reused" or
// "DELETE /api/v1/keys/3f2a9c01.. 429 retry-after=37 x-ratelimit-remaining=0 3 ms conn #1 new, TLS resumed"
// (no newline; hashes shortened, values sanitised).
std::string exchange_line(const exchange_summary& e);

// One dial, as -v shows it: "connect 127.0.0.1:8443 (conn #3): TLSv1.3 resumed, 4 ms" or
// "connect 127.0.0.1:8443: failed: connect: Connection refused, 1 ms".
struct dial_summary {
  std::string_view address;      // the endpoint tried last
  std::uint64_t connection = 0;  // 0: the dial failed
  bool tls = false;
  std::string_view tls_version;  // "TLSv1.3"
  bool tls_resumed = false;
  double ms = 0.0;         // connect and TLS handshake
  std::string_view error;  // empty: connected
};
std::string dial_line(const dial_summary& d);

}  // namespace keyrevoke::core
