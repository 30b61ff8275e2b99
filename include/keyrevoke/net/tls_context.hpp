#pragma once
// The client's TLS context: set up once, verification on (chain and host name), TLS 1.2+.

#include <boost/asio/ssl/context.hpp>

#include <optional>
#include <string>

namespace keyrevoke::net {

// System trust store plus an optional extra CA bundle (PEM). Throws std::runtime_error with a
// sentence for the user if the CA file cannot be loaded.
boost::asio::ssl::context make_client_tls_context(const std::optional<std::string>& extra_ca_file);

}  // namespace keyrevoke::net
