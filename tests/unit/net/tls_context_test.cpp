// tls_context: the system CA file is parsed only when a chain needs an issuer the store lacks, and
// every chain is trusted or refused as with OpenSSL's eager default paths.
#include <boost/test/unit_test.hpp>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>

#include "keyrevoke/mock/certificates.hpp"
#include "keyrevoke/net/tls_context.hpp"

using keyrevoke::net::make_client_tls_context;
namespace fs = std::filesystem;

namespace {

std::unique_ptr<X509, decltype(&X509_free)> read_cert(const std::string& pem) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  return {PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr), X509_free};
}

// Sets an environment variable for the scope, restoring it (or its absence) after. The test runs
// on one thread, so the environment's thread-unsafety does not apply.
class scoped_env {
 public:
  scoped_env(const char* name, const std::optional<std::string>& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;  // NOLINT(concurrency-mt-unsafe)
    if (value) {
      ::setenv(name, value->c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
    } else {
      ::unsetenv(name);  // NOLINT(concurrency-mt-unsafe)
    }
  }
  ~scoped_env() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);  // NOLINT(concurrency-mt-unsafe)
    } else {
      ::unsetenv(name_);  // NOLINT(concurrency-mt-unsafe)
    }
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// Two throwaway CAs, each with a server certificate, written where the rows point.
struct fixture {
  keyrevoke::mock::tls_material server = keyrevoke::mock::generate_tls_material();
  keyrevoke::mock::tls_material other = keyrevoke::mock::generate_tls_material();
  fs::path dir = fs::temp_directory_path() / ("keyrevoke-tls-context-" + std::to_string(::getpid()));

  fixture() {
    fs::create_directories(dir / "empty");
    write("server-ca.pem", server.ca_cert_pem);
    write("other-ca.pem", other.ca_cert_pem);
    write("both.pem", other.ca_cert_pem + server.ca_cert_pem);
  }
  ~fixture() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  fixture(const fixture&) = delete;
  fixture& operator=(const fixture&) = delete;

  void write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name, std::ios::binary) << text;
  }
  std::optional<std::string> file(const char* name) const {
    if (name == nullptr) return std::nullopt;
    return (dir / name).string();
  }
};

int objects_in(SSL_CTX* ctx) {
  return sk_X509_OBJECT_num(X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx)));
}

// Verifies the server's certificate with the context's store, as a handshake does. Returns
// X509_V_OK or the verification error.
int verify_server(SSL_CTX* ctx, const keyrevoke::mock::tls_material& server) {
  auto leaf = read_cert(server.cert_chain_pem);
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> vctx(X509_STORE_CTX_new(), X509_STORE_CTX_free);
  X509_STORE_CTX_init(vctx.get(), SSL_CTX_get_cert_store(ctx), leaf.get(), nullptr);
  X509_verify_cert(vctx.get());
  return X509_STORE_CTX_get_error(vctx.get());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tls_context_suite)

BOOST_AUTO_TEST_CASE(the_default_ca_file_is_parsed_only_when_an_issuer_is_missing) {
  const fixture f;
  struct row {
    const char* why;
    const char* cacert;        // --cacert, under the fixture's directory
    const char* default_file;  // SSL_CERT_FILE, under the fixture's directory (SSL_CERT_DIR is empty)
    int verified;              // X509_V_OK or the verification error
    bool file_parsed;
  };
  const row rows[] = {
      {"the CA given with --cacert: the file is never parsed", "server-ca.pem", "other-ca.pem", X509_V_OK, false},
      {"the CA only in the default file", nullptr, "both.pem", X509_V_OK, true},
      {"another CA with --cacert, the server's in the file", "other-ca.pem", "both.pem", X509_V_OK, true},
      {"in neither", nullptr, "other-ca.pem", X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, true},
      {"no default file at all", nullptr, "missing.pem", X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, true},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.why) {
      const scoped_env file("SSL_CERT_FILE", f.file(r.default_file));
      const scoped_env dir("SSL_CERT_DIR", (f.dir / "empty").string());
      auto ctx = make_client_tls_context(f.file(r.cacert));
      const int before = objects_in(ctx.native_handle());
      BOOST_TEST(before == (r.cacert != nullptr ? 1 : 0));
      BOOST_TEST(verify_server(ctx.native_handle(), f.server) == r.verified);
      const int parsed = objects_in(ctx.native_handle()) - before;
      BOOST_TEST((parsed > 0) == (r.file_parsed && std::string(r.default_file) != "missing.pem"));
      // A second verification reads nothing more, and the error queue a handshake reads is clean.
      BOOST_TEST(verify_server(ctx.native_handle(), f.server) == r.verified);
      BOOST_TEST(objects_in(ctx.native_handle()) == before + parsed);
      BOOST_TEST(ERR_peek_error() == 0UL);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_context_never_verified_never_parses_the_default_file) {
  const fixture f;
  const scoped_env file("SSL_CERT_FILE", f.file("both.pem"));
  auto ctx = make_client_tls_context(std::nullopt);
  BOOST_TEST(objects_in(ctx.native_handle()) == 0);
  BOOST_TEST(ERR_peek_error() == 0UL);
}

BOOST_AUTO_TEST_SUITE_END()
