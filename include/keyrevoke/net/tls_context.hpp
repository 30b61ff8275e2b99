#pragma once
// The client's TLS context: set up once, verification on (chain and host name), TLS 1.2+.

#include <boost/asio/ssl/context.hpp>

#include <optional>
#include <string>

namespace keyrevoke::net {

// System trust store plus an optional extra CA bundle (PEM). Throws std::runtime_error with a
// sentence for the user if the CA file cannot be loaded.
boost::asio::ssl::context make_client_tls_context(const std::optional<std::string>& extra_ca_file);

// `message` (a transfer failure's, core/errc.hpp), and when it says the server's certificate is not
// trusted, what the user can do about it: name the CA with --cacert, or the trust store with
// SSL_CERT_FILE / SSL_CERT_DIR. For the one line that explains exit 3.
std::string with_trust_advice(std::string message);

}  // namespace keyrevoke::net
