// tls_context: the system CA file is parsed only if a chain cannot be verified without it, and a
// chain refused without it gets the answer OpenSSL's eager default paths give. Handshakes run in
// memory (a BIO pair), through OpenSSL's own verification path.
#include <boost/test/unit_test.hpp>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "keyrevoke/mock/certificates.hpp"
#include "keyrevoke/net/tls_context.hpp"

using keyrevoke::mock::tls_material;
using keyrevoke::net::make_client_tls_context;
namespace fs = std::filesystem;

namespace {

using bio_ptr = std::unique_ptr<BIO, decltype(&BIO_free)>;
using cert_ptr = std::unique_ptr<X509, decltype(&X509_free)>;
using key_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using ssl_ptr = std::unique_ptr<SSL, decltype(&SSL_free)>;
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

bio_ptr pem_bio(const std::string& pem) {
  return {BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free};
}
cert_ptr read_cert(const std::string& pem) {
  return {PEM_read_bio_X509(pem_bio(pem).get(), nullptr, nullptr, nullptr), X509_free};
}
key_ptr read_key(const std::string& pem) {
  return {PEM_read_bio_PrivateKey(pem_bio(pem).get(), nullptr, nullptr, nullptr), EVP_PKEY_free};
}

// The CA of `m`, same subject and key, re-signed with a validity that ended a day ago: a stale copy
// of a CA that was renewed.
std::string expired_copy_of_ca(const tls_material& m) {
  cert_ptr copy{X509_dup(read_cert(m.ca_cert_pem).get()), X509_free};
  X509_gmtime_adj(X509_getm_notBefore(copy.get()), -3L * 86400);
  X509_gmtime_adj(X509_getm_notAfter(copy.get()), -1L * 86400);
  X509_sign(copy.get(), read_key(m.ca_key_pem).get(), EVP_sha256());
  bio_ptr out{BIO_new(BIO_s_mem()), BIO_free};
  PEM_write_bio_X509(out.get(), copy.get());
  char* data = nullptr;
  const long len = BIO_get_mem_data(out.get(), &data);
  return {data, static_cast<std::size_t>(len)};
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

// Two throwaway CAs of the same subject name (the mock's generator names every CA alike), each with a
// server certificate for localhost, and an expired copy of the first; written where the rows point.
struct fixture {
  tls_material server = keyrevoke::mock::generate_tls_material();
  tls_material other = keyrevoke::mock::generate_tls_material();
  fs::path dir = fs::temp_directory_path() / ("keyrevoke-tls-context-" + std::to_string(::getpid()));

  fixture() {
    fs::create_directories(dir / "empty");
    write("server-ca.pem", server.ca_cert_pem);
    write("other-ca.pem", other.ca_cert_pem);
    write("both.pem", other.ca_cert_pem + server.ca_cert_pem);
    write("expired-server-ca.pem", expired_copy_of_ca(server));
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

// A TLS handshake in memory between a client of `client_ctx` checking `host`, as the connection pool
// sets one up, and a server presenting `server`'s certificate alone (not its CA). Returns the
// client's verification result: X509_V_OK if the handshake completed.
long handshake(SSL_CTX* client_ctx, const tls_material& server, const char* host) {
  ssl_ctx_ptr server_ctx{SSL_CTX_new(TLS_server_method()), SSL_CTX_free};
  SSL_CTX_use_certificate(server_ctx.get(), read_cert(server.cert_chain_pem).get());
  SSL_CTX_use_PrivateKey(server_ctx.get(), read_key(server.key_pem).get());
  ssl_ptr client{SSL_new(client_ctx), SSL_free};
  ssl_ptr srv{SSL_new(server_ctx.get()), SSL_free};
  SSL_set1_host(client.get(), host);
  BIO* client_end = nullptr;
  BIO* server_end = nullptr;
  BIO_new_bio_pair(&client_end, 0, &server_end, 0);
  SSL_set_bio(client.get(), client_end, client_end);
  SSL_set_bio(srv.get(), server_end, server_end);
  SSL_set_connect_state(client.get());
  SSL_set_accept_state(srv.get());
  bool client_done = false;
  for (int round = 0; round < 20 && !client_done; ++round) {
    const int c = SSL_do_handshake(client.get());
    client_done = c == 1;
    if (c <= 0 && SSL_get_error(client.get(), c) != SSL_ERROR_WANT_READ) break;
    (void)SSL_do_handshake(srv.get());
  }
  ERR_clear_error();  // the failed handshakes' reasons; the verification result says it
  const long result = SSL_get_verify_result(client.get());
  if (client_done) BOOST_TEST(result == X509_V_OK);
  return client_done ? X509_V_OK : (result != X509_V_OK ? result : -1);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(tls_context_suite)

BOOST_AUTO_TEST_CASE(the_default_ca_file_is_parsed_only_if_a_chain_needs_it) {
  const fixture f;
  struct row {
    const char* why;
    const char* cacert;        // --cacert, under the fixture's directory
    const char* default_file;  // SSL_CERT_FILE, under the fixture's directory (SSL_CERT_DIR is empty)
    const char* host;
    long verified;             // X509_V_OK or the client's verification error
    bool file_added;           // the default file's certificates were added to the store
  };
  const row rows[] = {
      {"the CA given with --cacert: the file is never parsed", "server-ca.pem", "other-ca.pem", "localhost",
       X509_V_OK, false},
      {"the CA only in the default file", nullptr, "both.pem", "localhost", X509_V_OK, true},
      {"another CA of the same name with --cacert, the server's in the file", "other-ca.pem", "both.pem",
       "localhost", X509_V_OK, true},
      {"an expired copy of the CA with --cacert, the current one in the file (trial 13: was refused)",
       "expired-server-ca.pem", "server-ca.pem", "localhost", X509_V_OK, true},
      {"an expired copy with --cacert, not the current one", "expired-server-ca.pem", "other-ca.pem", "localhost",
       X509_V_ERR_CERT_HAS_EXPIRED, true},
      {"in neither", nullptr, "other-ca.pem", "localhost", X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, true},
      {"no default file at all", nullptr, "missing.pem", "localhost", X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
       false},
      {"the CA given, the host name wrong: refused, with or without the file", "server-ca.pem", "server-ca.pem",
       "other.example", X509_V_ERR_HOSTNAME_MISMATCH, false},
      {"the host name wrong, the file holding other CAs", "server-ca.pem", "both.pem", "other.example",
       X509_V_ERR_HOSTNAME_MISMATCH, true},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.why) {
      const scoped_env file("SSL_CERT_FILE", f.file(r.default_file));
      const scoped_env dir("SSL_CERT_DIR", (f.dir / "empty").string());
      auto ctx = make_client_tls_context(f.file(r.cacert));
      const int before = objects_in(ctx.native_handle());
      BOOST_TEST(before == (r.cacert != nullptr ? 1 : 0));
      BOOST_TEST(handshake(ctx.native_handle(), f.server, r.host) == r.verified);
      const int added = objects_in(ctx.native_handle()) - before;
      BOOST_TEST((added > 0) == r.file_added);
      // Again: the same answer, nothing more read, and no error left in the queue a handshake reads.
      BOOST_TEST(handshake(ctx.native_handle(), f.server, r.host) == r.verified);
      BOOST_TEST(objects_in(ctx.native_handle()) == before + added);
      BOOST_TEST(ERR_peek_error() == 0UL);
    }
  }
}

BOOST_AUTO_TEST_CASE(a_context_never_used_never_parses_the_default_file) {
  const fixture f;
  const scoped_env file("SSL_CERT_FILE", f.file("both.pem"));
  auto ctx = make_client_tls_context(std::nullopt);
  BOOST_TEST(objects_in(ctx.native_handle()) == 0);
  BOOST_TEST(ERR_peek_error() == 0UL);
}

BOOST_AUTO_TEST_CASE(a_default_file_that_is_a_pipe_is_read_at_once) {
  // Read inside a handshake, a pipe with no writer would block the event loop (trial 13: SIGTERM did
  // not stop it); read when the context is made, as OpenSSL's default paths read it.
  const fixture f;
  const fs::path fifo = f.dir / "ca.fifo";
  BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::thread writer{[&] { std::ofstream(fifo, std::ios::binary) << f.server.ca_cert_pem; }};
  const scoped_env file("SSL_CERT_FILE", fifo.string());
  const scoped_env dir("SSL_CERT_DIR", (f.dir / "empty").string());
  auto ctx = make_client_tls_context(std::nullopt);
  // Were the pipe not read, the writer would wait for a reader: be one, so that the test fails
  // instead of hanging.
  const int unblock = ::open(fifo.c_str(), O_RDONLY | O_NONBLOCK);
  writer.join();
  if (unblock >= 0) ::close(unblock);
  BOOST_TEST(objects_in(ctx.native_handle()) == 1);
  BOOST_TEST(handshake(ctx.native_handle(), f.server, "localhost") == X509_V_OK);
}

BOOST_AUTO_TEST_SUITE_END()
