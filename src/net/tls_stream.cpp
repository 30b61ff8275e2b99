#include "keyrevoke/net/tls_stream.hpp"
#include "keyrevoke/net/nothrow_awaitable.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/ssl/error.hpp>

#include <openssl/bio.h>
#include <openssl/err.h>

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

namespace keyrevoke::net {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

namespace {

// One TLS record at most (RFC 8446 5.2: 2^14 + 256 bytes of ciphertext, 5 of header), rounded up: one
// read of the socket takes a whole record when it has arrived.
constexpr std::size_t input_capacity = std::size_t{18} * 1024;

}  // namespace

// What the BIO's callbacks reach: the socket to send on, the bytes the last read of it brought that
// TLS has not taken yet, and the errno of a failed send (SSL_ERROR_SYSCALL says no more).
struct tls_stream::bio_state {
  asio::ip::tcp::socket* socket = nullptr;
  std::unique_ptr<char[]> input = std::make_unique<char[]>(input_capacity);
  std::size_t begin = 0;
  std::size_t end = 0;
  int send_errno = 0;
};

namespace {

using bio_state = tls_stream::bio_state;

// BIO write: straight to the socket (non-blocking); EAGAIN is a retry (SSL_ERROR_WANT_WRITE).
int bio_write(BIO* bio, const char* data, std::size_t size, std::size_t* written) {
  auto* state = static_cast<bio_state*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  const ssize_t sent = ::send(state->socket->native_handle(), data, size, MSG_NOSIGNAL);
  if (sent >= 0) {
    *written = static_cast<std::size_t>(sent);
    return 1;
  }
  if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
    BIO_set_retry_write(bio);
  } else {
    state->send_errno = errno;
  }
  return 0;
}

// BIO read: from what the socket's last read brought; none left is a retry (SSL_ERROR_WANT_READ).
int bio_read(BIO* bio, char* data, std::size_t size, std::size_t* read) {
  auto* state = static_cast<bio_state*>(BIO_get_data(bio));
  BIO_clear_retry_flags(bio);
  if (state->begin == state->end) {
    BIO_set_retry_read(bio);
    return 0;
  }
  const std::size_t n = std::min(size, state->end - state->begin);
  std::memcpy(data, state->input.get() + state->begin, n);
  state->begin += n;
  *read = n;
  return 1;
}

long bio_ctrl(BIO* bio, int command, long, void*) {
  switch (command) {
    case BIO_CTRL_FLUSH: return 1;  // nothing is held back: every write went to the socket
    case BIO_CTRL_PENDING: {
      const auto* state = static_cast<const bio_state*>(BIO_get_data(bio));
      return static_cast<long>(state->end - state->begin);
    }
    default: return 0;
  }
}

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

// The BIO type, made once for the process (and freed at exit).
BIO_METHOD* bio_method() {
  struct method_holder {
    BIO_METHOD* method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "keyrevoke socket");
    method_holder() {
      if (method == nullptr) throw std::bad_alloc{};
      BIO_meth_set_write_ex(method, &bio_write);
      BIO_meth_set_read_ex(method, &bio_read);
      BIO_meth_set_ctrl(method, &bio_ctrl);
      BIO_meth_set_create(method, &bio_create);
    }
    method_holder(const method_holder&) = delete;
    method_holder& operator=(const method_holder&) = delete;
    ~method_holder() { BIO_meth_free(method); }
  };
  static const method_holder holder;
  return holder.method;
}

}  // namespace

tls_stream::tls_stream(asio::ip::tcp::socket& socket, SSL_CTX* context)
    : socket_{socket}, ssl_{SSL_new(context), &SSL_free}, state_{std::make_unique<bio_state>()} {
  if (!ssl_) throw std::bad_alloc{};
  state_->socket = &socket_;
  BIO* bio = BIO_new(bio_method());
  if (bio == nullptr) throw std::bad_alloc{};
  BIO_set_data(bio, state_.get());
  SSL_set_bio(ssl_.get(), bio, bio);  // one BIO both ways; the SSL object owns it
  // The request and its buffer stay put while a write waits, but partial writes let a large one go
  // out as the socket takes it. (No SSL_MODE_RELEASE_BUFFERS: a kept-alive connection reuses them.)
  SSL_set_mode(ssl_.get(), SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_set_connect_state(ssl_.get());
}

tls_stream::~tls_stream() = default;

std::size_t tls_stream::buffered() const noexcept {
  return (state_->end - state_->begin) + static_cast<std::size_t>(SSL_pending(ssl_.get()));
}

bool tls_stream::application_data_waiting(bool read_socket, std::string& peeked) {
  peeked.clear();
  if (read_socket && state_->begin == state_->end && SSL_pending(ssl_.get()) == 0) {
    state_->begin = 0;
    state_->end = 0;
    const ssize_t n = ::recv(socket_.native_handle(), state_->input.get(), input_capacity, MSG_DONTWAIT);
    if (n > 0) state_->end = static_cast<std::size_t>(n);
  }
  if (state_->begin == state_->end && SSL_pending(ssl_.get()) == 0) return false;
  char first[64];
  std::size_t got = 0;
  if (SSL_peek_ex(ssl_.get(), first, sizeof first, &got) == 1 && got > 0) {
    peeked.assign(first, got);
    return true;
  }
  error_code ignored;
  (void)after_failure(0, ignored);  // a failure is kept in failed_ for the next operation
  return false;
}

tls_stream::want tls_stream::after_failure(int result, error_code& ec) {
  switch (SSL_get_error(ssl_.get(), result)) {
    case SSL_ERROR_WANT_READ: return want::read;
    case SSL_ERROR_WANT_WRITE: return want::write;
    case SSL_ERROR_ZERO_RETURN: ec = asio::error::eof; break;  // the peer's close_notify
    case SSL_ERROR_SYSCALL:
      // Our BIO fails only on a send; anything else is OpenSSL's own (as asio::ssl::stream says it).
      if (state_->send_errno != 0) {
        ec = error_code{state_->send_errno, asio::error::get_system_category()};
      } else if (const unsigned long queued = ERR_peek_error(); queued != 0) {
        ec = error_code{static_cast<int>(queued), asio::error::get_ssl_category()};
      } else {
        ec = asio::ssl::error::unspecified_system_error;
      }
      break;
    case SSL_ERROR_SSL: {
      const unsigned long queued = ERR_peek_error();
      ec = queued != 0 ? error_code{static_cast<int>(queued), asio::error::get_ssl_category()}
                       : error_code{asio::ssl::error::unexpected_result};
      break;
    }
    default: ec = asio::ssl::error::unexpected_result; break;
  }
  failed_ = ec;
  // The error queue is empty again for the next call (SSL_get_error reads it); it is only ever
  // filled on a failure, so a call that succeeds has nothing to clear.
  ERR_clear_error();
  return want::nothing;
}

asio::awaitable<error_code> tls_stream::wait_for(want next) {
  if (next == want::write) {
    auto [ec] = co_await socket_.async_wait(asio::ip::tcp::socket::wait_write, nothrow_awaitable);
    co_return ec;
  }
  // TLS has taken every byte (bio_read asked for more): the buffer is empty. One read of the socket
  // fills it (Asio tries the recv first and waits in the reactor only if it would block).
  state_->begin = 0;
  state_->end = 0;
  auto [ec, read] = co_await socket_.async_read_some(asio::buffer(state_->input.get(), input_capacity),
                                                      nothrow_awaitable);
  state_->end = read;
  // The stream ended under TLS without its close_notify (which would have been read first).
  if (ec == asio::error::eof) co_return error_code{asio::ssl::error::stream_truncated};
  co_return ec;
}

asio::awaitable<error_code> tls_stream::handshake() {
  error_code ec = failed_;
  if (ec) co_return ec;
  socket_.native_non_blocking(true, ec);  // bio_write's send must never block the loop
  if (ec) co_return ec;
  ERR_clear_error();  // SSL_get_error reads the queue: nothing stale in it
  for (;;) {
    const int result = SSL_do_handshake(ssl_.get());
    if (result == 1) co_return error_code{};
    if (const want next = after_failure(result, ec); next != want::nothing) ec = co_await wait_for(next);
    if (ec) co_return ec;
  }
}

asio::awaitable<error_code> tls_stream::write(asio::const_buffer data) {
  const auto* bytes = static_cast<const char*>(data.data());
  std::size_t left = data.size();
  error_code ec = failed_;
  if (ec) co_return ec;
  while (left != 0) {
    std::size_t written = 0;
    if (SSL_write_ex(ssl_.get(), bytes, left, &written) == 1) {
      bytes += written;
      left -= written;
      continue;
    }
    if (const want next = after_failure(0, ec); next != want::nothing) ec = co_await wait_for(next);
    if (ec) co_return ec;
  }
  co_return ec;
}

asio::awaitable<std::pair<error_code, std::size_t>> tls_stream::read_some(asio::mutable_buffer into) {
  error_code ec = failed_;
  if (ec) co_return std::pair{ec, std::size_t{0}};
  for (;;) {
    std::size_t read = 0;
    if (SSL_read_ex(ssl_.get(), into.data(), into.size(), &read) == 1) co_return std::pair{error_code{}, read};
    if (const want next = after_failure(0, ec); next != want::nothing) ec = co_await wait_for(next);
    if (ec) co_return std::pair{ec, std::size_t{0}};
  }
}

}  // namespace keyrevoke::net
