#include "keyrevoke/net/tls_context.hpp"

#include "keyrevoke/core/redact.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cstdlib>
#include <filesystem>

#include <stdexcept>

namespace keyrevoke::net {

namespace ssl = boost::asio::ssl;

ssl::context make_client_tls_context(const std::optional<std::string>& extra_ca_file) {
  ssl::context ctx{ssl::context::tls_client};
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  // The system trust store. OpenSSL's defaults parse the whole CA bundle at start (~60 ms, 240M
  // instructions); the hashed certificate directory is looked up lazily, certificate by certificate.
  // SSL_CERT_FILE / SSL_CERT_DIR keep their usual meaning.
  // Read before any other thread starts.
  const char* cert_file = std::getenv(X509_get_default_cert_file_env());      // NOLINT(concurrency-mt-unsafe)
  const char* cert_dir_env = std::getenv(X509_get_default_cert_dir_env());    // NOLINT(concurrency-mt-unsafe)
  const std::string cert_dir = cert_dir_env != nullptr ? cert_dir_env : X509_get_default_cert_dir();
  std::error_code fs_error;
  if (cert_file != nullptr || !std::filesystem::is_directory(cert_dir, fs_error)) {
    ctx.set_default_verify_paths();
  } else {
    ctx.add_verify_path(cert_dir);
  }
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

}  // namespace keyrevoke::net
