#pragma once
// What the connection pool tells a tracer (-v, --trace FILE; issue 11). The pool calls it only when
// one is set (connection_pool::set_trace): with none, an exchange costs one pointer test more.
// Called on the pool's executor, synchronously: an implementation must not block (it queues).

#include <cstdint>
#include <string_view>

namespace keyrevoke::net {

struct exchange_result;

// One dial: TCP connect (every address in turn) and the TLS handshake.
struct dial_event {
  std::string_view address;      // the address connected to, or the last one tried ("" if none)
  std::uint64_t connection = 0;  // the pool's number for the new connection (1, 2, ...); 0: failed
  bool tls = false;
  std::string_view tls_version;  // "TLSv1.3" (OpenSSL's name); empty without TLS or when it failed
  bool tls_resumed = false;      // the handshake resumed a session (no full handshake)
  double ms = 0.0;               // the dial's duration, ms
  std::string_view error;        // empty: connected; else what failed
};

// One exchange, whatever its end (an answer, a failure, a cut).
struct exchange_event {
  std::string_view request;        // the request's bytes as written: its Authorization is still in them
  const exchange_result* result;   // status, header fields the classifier reads, error
  std::string_view answer_header;  // the answer's fields, "Name: value\r\n" each, when wants_header()
  std::uint64_t connection = 0;    // the pool's number for the connection (0: none was connected)
  bool tls = false;
  bool tls_resumed = false;  // its connection's handshake resumed a session
  double ms = 0.0;           // from the exchange's start (its dial included) to its end, ms
};

class trace_sink {
 public:
  // Whether exchange_event::answer_header is wanted (the pool then copies each answer's fields).
  virtual bool wants_header() const noexcept = 0;
  virtual void on_dial(const dial_event& dial) = 0;
  virtual void on_exchange(const exchange_event& exchange) = 0;

 protected:
  ~trace_sink() = default;
};

}  // namespace keyrevoke::net
