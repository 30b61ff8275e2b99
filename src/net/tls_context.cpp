#include "keyrevoke/net/tls_context.hpp"

#include <openssl/ssl.h>

#include <stdexcept>

namespace keyrevoke::net {

namespace ssl = boost::asio::ssl;

ssl::context make_client_tls_context(const std::optional<std::string>& extra_ca_file) {
  ssl::context ctx{ssl::context::tls_client};
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  ctx.set_default_verify_paths();
  if (extra_ca_file) {
    boost::system::error_code ec;
    ctx.load_verify_file(*extra_ca_file, ec);
    if (ec) {
      throw std::runtime_error("cannot load CA certificates from '" + *extra_ca_file +
                               "': " + ec.message());
    }
  }
  ctx.set_verify_mode(ssl::verify_peer);
  // Client-side session cache: pooled connections resume the first one's TLS session.
  SSL_CTX_set_session_cache_mode(ctx.native_handle(), SSL_SESS_CACHE_CLIENT);
  return ctx;
}

}  // namespace keyrevoke::net
