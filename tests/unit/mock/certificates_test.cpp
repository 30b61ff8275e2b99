// certificates: the throwaway CA signs a server certificate with the right SANs.
#include <boost/test/unit_test.hpp>

#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>

#include "keyrevoke/mock/certificates.hpp"

using namespace keyrevoke::mock;

namespace {

std::unique_ptr<X509, decltype(&X509_free)> read_cert(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  return {PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free};
}

// Whether `cert` verifies against `ca` for `host` (DNS name or IP literal).
bool verifies(const tls_material& m, const std::string& host) {
  auto ca = read_cert(m.ca_cert_pem);
  auto leaf = read_cert(m.cert_chain_pem);  // the first certificate of the chain
  std::unique_ptr<X509_STORE, decltype(&X509_STORE_free)> store(X509_STORE_new(), X509_STORE_free);
  X509_STORE_add_cert(store.get(), ca.get());
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(), X509_STORE_CTX_free);
  X509_STORE_CTX_init(ctx.get(), store.get(), leaf.get(), nullptr);
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(ctx.get());
  if (host.find_first_not_of("0123456789.:") == std::string::npos)
    X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str());
  else
    X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
  return X509_verify_cert(ctx.get()) == 1;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(certificates_suite)

BOOST_AUTO_TEST_CASE(default_sans) {
  const auto m = generate_tls_material();
  BOOST_TEST(m.key_pem.find("PRIVATE KEY") != std::string::npos);
  struct row {
    const char* host;
    bool ok;
  };
  const row rows[] = {{"localhost", true}, {"127.0.0.1", true}, {"::1", true}, {"example.com", false}, {"127.0.0.2", false}};
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.host) { BOOST_TEST(verifies(m, r.host) == r.ok); }
  }
}

BOOST_AUTO_TEST_CASE(only_name) {
  const auto m = generate_tls_material("wrong.example");
  BOOST_TEST(verifies(m, "wrong.example"));
  BOOST_TEST(!verifies(m, "127.0.0.1"));
  BOOST_TEST(!verifies(m, "localhost"));
}

BOOST_AUTO_TEST_CASE(each_run_has_its_own_ca) {
  const auto a = generate_tls_material(), b = generate_tls_material();
  BOOST_TEST(a.ca_cert_pem != b.ca_cert_pem);
  tls_material mixed = a;
  mixed.ca_cert_pem = b.ca_cert_pem;
  BOOST_TEST(!verifies(mixed, "localhost"));
}

BOOST_AUTO_TEST_SUITE_END()
