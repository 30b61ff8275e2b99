#pragma once
// Throwaway TLS material for the mock: a CA and a server certificate it signs, both P-256 ECDSA,
// generated in memory at start (OpenSSL 3 EVP API). Tests trust the CA via keyrevoke's --cacert.

#include <string>
#include <vector>

namespace keyrevoke::mock {

struct tls_material {
  std::string ca_cert_pem;
  std::string cert_chain_pem;  // server certificate, then the CA
  std::string key_pem;         // the server's private key (PKCS#8)
  std::string ca_key_pem;      // the CA's private key (PKCS#8), for tests that sign other copies
};

// Subject alternative names: DNS:localhost, IP:127.0.0.1, IP:::1 by default; with `only_name`
// non-empty, just that one (an IP address literal becomes an IP SAN, anything else a DNS SAN).
// Valid from one hour ago for `days`. Throws std::runtime_error with OpenSSL's reason on failure.
tls_material generate_tls_material(const std::string& only_name = {}, int days = 30);

}  // namespace keyrevoke::mock
