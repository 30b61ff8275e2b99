#include "keyrevoke/net/tls_context.hpp"

#include "keyrevoke/core/errc.hpp"
#include "keyrevoke/core/redact.hpp"

#include <openssl/ssl.h>

#include <stdexcept>

namespace keyrevoke::net {

namespace ssl = boost::asio::ssl;

ssl::context make_client_tls_context(const std::optional<std::string>& extra_ca_file) {
  ssl::context ctx{ssl::context::tls_client};
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  // The system trust store: OpenSSL's default CA bundle file and its hashed certificate directory,
  // both (a CA may be in the bundle without a hash link, as on distributions that ship only the
  // bundle), or SSL_CERT_FILE / SSL_CERT_DIR in their place when set. Parsing the bundle costs about
  // 60 ms once per process; the directory is looked up certificate by certificate.
  ctx.set_default_verify_paths();
  if (extra_ca_file) {
    boost::system::error_code ec;
    ctx.load_verify_file(*extra_ca_file, ec);
    if (ec) {
      throw std::runtime_error("cannot load CA certificates from '" + core::safe_display(*extra_ca_file) +
                               "': " + ec.message());
    }
  }
  ctx.set_verify_mode(ssl::verify_peer);
  // Client-side sessions: every new session (TLS 1.3: every ticket) goes to the connection pool's
  // new-session callback, which keeps the newest for its next dial. OpenSSL's own cache is never
  // looked up by a client, so nothing is stored there.
  SSL_CTX_set_session_cache_mode(ctx.native_handle(),
                                 SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  return ctx;
}

std::string with_trust_advice(std::string message) {
  const std::string untrusted = core::make_error_code(core::errc::tls_untrusted).message();
  if (message.rfind(untrusted, 0) == 0) {
    message += " (keyrevoke trusts the system's CA bundle and directory, or SSL_CERT_FILE / SSL_CERT_DIR "
               "when set; name the server's CA with --cacert FILE)";
  }
  return message;
}

}  // namespace keyrevoke::net
