#pragma once
// TLS straight on a connected socket, for the connection pool's exchanges: OpenSSL writes its records
// to the socket itself (send(2), no copy), and reads them from a buffer that one Asio read of the
// socket fills (speculative: a recv, and only when that would block, a wait in the reactor).
//
// Why not asio::ssl::stream: it runs every SSL call through a pair of memory BIOs and a composed
// operation that copies each record twice, clears the OpenSSL error queue before every call and frees
// the SSL read and write buffers after each record (SSL_MODE_RELEASE_BUFFERS), which is most of the CPU a
// request costs above wrk's in bench/ (issue 12 §2, profile in its notes). Why not SSL_set_fd with a
// wait for readability: Asio re-arms the socket in epoll (one epoll_ctl) for every such wait, where its
// own read of the socket does not. Include only from .cpp files that already pay for Asio.
//
// Errors, as asio::ssl::stream gives them (connection_pool's classification relies on them):
//   - the peer's close_notify: asio::error::eof;
//   - end of stream without close_notify: asio::ssl::error::stream_truncated;
//   - a TLS failure (alert, certificate verification, protocol): the OpenSSL error code in
//     asio::error::get_ssl_category();
//   - a socket failure: the socket's own error (connection_reset, broken_pipe, operation_aborted when
//     the socket was closed under the operation, e.g. by the pool's watchdog).
// One operation at a time (one read or one write or the handshake), as the pool uses it.

#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <openssl/ssl.h>

#include <cstddef>
#include <memory>
#include <string>
#include <utility>

namespace keyrevoke::net {

class tls_stream {
 public:
  // A client-side SSL object from `context` (its verify mode, CA store and session cache settings),
  // over `socket`, which must outlive this stream and be connected before handshake() (the socket may
  // be closed at any time: the operation under way then ends with operation_aborted). Throws
  // std::bad_alloc when OpenSSL cannot allocate.
  tls_stream(boost::asio::ip::tcp::socket& socket, SSL_CTX* context);
  tls_stream(const tls_stream&) = delete;
  tls_stream& operator=(const tls_stream&) = delete;
  ~tls_stream();

  SSL* native_handle() const noexcept { return ssl_.get(); }
  boost::asio::ip::tcp::socket& next_layer() noexcept { return socket_; }

  // The client's handshake (SSL_connect); SNI, host name and session to resume are set on
  // native_handle() before.
  boost::asio::awaitable<boost::system::error_code> handshake();
  // Writes all of `data` (bytes), or fails.
  boost::asio::awaitable<boost::system::error_code> write(boost::asio::const_buffer data);
  // Reads at least one byte of application data into `into` (at most its size): (error, bytes read).
  boost::asio::awaitable<std::pair<boost::system::error_code, std::size_t>> read_some(
      boost::asio::mutable_buffer into);

  // Bytes received from the socket that TLS has not consumed yet (records past the current one), plus
  // decrypted bytes OpenSSL holds: nonzero means the peer sent more than was read.
  std::size_t buffered() const noexcept;
  // Application data received and not read yet: already decrypted (SSL_pending), or in records already
  // received, which this decrypts without reading them (SSL_peek; handshake messages among them, such
  // as session tickets, are taken). With read_socket, what the socket holds now is received first (one
  // non-blocking recv) when nothing is buffered. `peeked` gets up to 64 of its first bytes. A failure
  // (an alert, close_notify) says false; failure() then holds it.
  bool application_data_waiting(bool read_socket, std::string& peeked);
  // The TLS failure this stream met (an alert, close_notify, a protocol error), if any: every later
  // operation ends with it at once, as OpenSSL's own state would (it is sticky there too).
  const boost::system::error_code& failure() const noexcept { return failed_; }

  struct bio_state;  // the BIO's side (tls_stream.cpp)

 private:
  enum class want { nothing, read, write };
  // One SSL call's outcome: done, or what it waits for, or its error.
  want after_failure(int result, boost::system::error_code& ec);
  // Waits for what a failed SSL call asked for: want::read fills the input buffer with one read of the
  // socket, want::write waits until the socket takes more.
  boost::asio::awaitable<boost::system::error_code> wait_for(want next);

  boost::asio::ip::tcp::socket& socket_;
  std::unique_ptr<SSL, void (*)(SSL*)> ssl_;
  std::unique_ptr<bio_state> state_;  // what the BIO's callbacks reach (stable address)
  boost::system::error_code failed_;
};

}  // namespace keyrevoke::net
