#pragma once
// One error taxonomy from the socket to the report row: how an exchange failed before a complete
// answer. net::connection_pool returns these as a std::error_code (category "keyrevoke.transfer");
// core::classify_transport_failure (verdict.hpp) is the one place that turns them into a verdict.
// Pure: no Asio here, so core and its unit tests stay free of the networking headers.

#include <string>
#include <system_error>
#include <type_traits>

namespace keyrevoke::core {

// Values start at 1: a default std::error_code (value 0) means "a complete answer arrived".
enum class errc {
  connect_failed = 1,   // no TCP connection (refused, unreachable, DNS): the request was not written
  connection_reset,     // reset by the peer (before or after the request was written)
  eof_before_response,  // the peer closed before any byte of the answer
  torn_response,        // the answer stopped midway (header or body incomplete)
  timeout,              // --timeout ran out (connect, handshake, write or read)
  tls_untrusted,        // certificate chain or host name not trusted (RFC 6125 / RFC 9110 4.3.4)
  tls_handshake_failed, // the TLS handshake failed for another reason
  cancelled,            // the pool was closed (the run is stopping): not a failure of the server
  other,                // any other network error
  // An answer that no request asked for: bytes of an answer waiting on a new connection before its
  // first request was written (the request was not written), or a second answer after the one read
  // (the request was written: the server may have acted). HTTP/1.1 has no request ids: which of two
  // answers is this request's cannot be told, so neither is taken.
  unrequested_answer,
};

// The category of errc: name() is "keyrevoke.transfer"; message() is a short English phrase.
const std::error_category& transfer_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), transfer_category()};
}

}  // namespace keyrevoke::core

template <>
struct std::is_error_code_enum<keyrevoke::core::errc> : std::true_type {};
