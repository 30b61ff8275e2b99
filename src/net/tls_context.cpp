#include "keyrevoke/net/tls_context.hpp"

#include "keyrevoke/core/errc.hpp"
#include "keyrevoke/core/redact.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <sys/stat.h>

#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace keyrevoke::net {

namespace ssl = boost::asio::ssl;

namespace {

// The system trust store as SSL_CTX_set_default_verify_paths sets it up (OpenSSL 3.0's
// X509_STORE_set_default_paths_ex: the default CA file, the hashed directory, the default
// OSSL_STORE URI, each or its SSL_CERT_* variable), with one difference: the CA file (Debian's
// bundle: about 140 certificates, about 50 ms to parse) is read only if a chain cannot be verified
// without it. A run against a server whose CA came with --cacert, or whose root has a hash link in
// the directory (every system CA on Debian), never reads it.
//
// Each handshake's verification (SSL_CTX_set_cert_verify_callback) first runs on a copy of the
// handshake's X509_STORE_CTX (same store, certificates, parameters: host name, purpose, depth,
// security level, flags). If the chain verifies there, that is the answer. If not, the file is loaded
// into the store and the handshake's own context is verified as OpenSSL would have verified it with
// the file loaded at start-up: a chain refused without the file gets exactly the eager answer. The
// one difference (trial 13): a chain that --cacert or the directory completes is trusted even where
// the file holds another CA of the same name that, loaded first, would have hidden it.

// ex_data on the X509_STORE: null until the default CA file has been loaded into it.
int default_file_loaded_index() {
  static const int index = X509_STORE_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

char loaded_mark;

bool default_file_loaded(X509_STORE* store) {
  return X509_STORE_get_ex_data(store, default_file_loaded_index()) != nullptr;
}

// Loads the default CA file (SSL_CERT_FILE, or OpenSSL's default) into `store`, once. Errors (no such
// file) are dropped, as X509_STORE_set_default_paths_ex drops them, and the error queue is left as it
// was: this may run inside a handshake, whose result is read from that queue.
void load_default_file(X509_STORE* store) {
  if (default_file_loaded(store)) return;
  X509_STORE_set_ex_data(store, default_file_loaded_index(), &loaded_mark);
  ERR_set_mark();
  if (X509_LOOKUP* file = X509_STORE_add_lookup(store, X509_LOOKUP_file()); file != nullptr) {
    X509_LOOKUP_load_file(file, nullptr, X509_FILETYPE_DEFAULT);
  }
  ERR_pop_to_mark();
}

using store_ctx_ptr = std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)>;

// `ctx` verified on a copy (as ssl_verify_cert_chain sets one up: OpenSSL 3.0 ssl/ssl_cert.c); on
// success the chain and result are moved into `ctx`. True if the chain verified.
bool verifies_without_default_file(X509_STORE_CTX* ctx) {
  store_ctx_ptr trial{X509_STORE_CTX_new(), X509_STORE_CTX_free};
  if (!trial || X509_STORE_CTX_init(trial.get(), X509_STORE_CTX_get0_store(ctx), X509_STORE_CTX_get0_cert(ctx),
                                    X509_STORE_CTX_get0_untrusted(ctx)) != 1) {
    return false;
  }
  const int ssl_index = SSL_get_ex_data_X509_STORE_CTX_idx();
  X509_STORE_CTX_set_ex_data(trial.get(), ssl_index, X509_STORE_CTX_get_ex_data(ctx, ssl_index));
  X509_VERIFY_PARAM* param = X509_STORE_CTX_get0_param(trial.get());
  X509_STORE_CTX_set_default(trial.get(), "ssl_server");
  X509_VERIFY_PARAM_set_auth_level(param, X509_VERIFY_PARAM_get_auth_level(X509_STORE_CTX_get0_param(ctx)));
  X509_VERIFY_PARAM_set1(param, X509_STORE_CTX_get0_param(ctx));
  X509_STORE_CTX_set_verify_cb(trial.get(), X509_STORE_CTX_get_verify_cb(ctx));
  if (X509_verify_cert(trial.get()) != 1 || X509_STORE_CTX_get_error(trial.get()) != X509_V_OK) return false;
  X509_STORE_CTX_set0_verified_chain(ctx, X509_STORE_CTX_get1_chain(trial.get()));
  X509_STORE_CTX_set_error(ctx, X509_V_OK);
  X509_VERIFY_PARAM_move_peername(X509_STORE_CTX_get0_param(ctx), param);
  return true;
}

// The handshake's certificate verification (replaces X509_verify_cert, same result convention).
int verify_deferring_default_file(X509_STORE_CTX* ctx, void* /*unused*/) {
  X509_STORE* store = X509_STORE_CTX_get0_store(ctx);
  if (!default_file_loaded(store)) {
    ERR_set_mark();
    const bool verified = verifies_without_default_file(ctx);
    ERR_pop_to_mark();
    if (verified) return 1;
    load_default_file(store);
  }
  return X509_verify_cert(ctx);
}

void set_default_verify_paths_deferring_file(SSL_CTX* ctx) {
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  X509_STORE_add_lookup(store, X509_LOOKUP_file());  // first, as OpenSSL adds it
  if (X509_LOOKUP* dir = X509_STORE_add_lookup(store, X509_LOOKUP_hash_dir()); dir != nullptr) {
    X509_LOOKUP_add_dir(dir, nullptr, X509_FILETYPE_DEFAULT);
  }
  if (X509_LOOKUP* uri = X509_STORE_add_lookup(store, X509_LOOKUP_store()); uri != nullptr) {
    X509_LOOKUP_add_store(uri, nullptr);
  }
  ERR_clear_error();
  // A default file that is not a regular file (a pipe, a device) is read now, as OpenSSL would: read
  // later, inside a handshake, a pipe with no writer would block the event loop (and its signals).
  const char* file = ::secure_getenv(X509_get_default_cert_file_env());  // NOLINT(concurrency-mt-unsafe)
  struct stat st {};
  if (::stat(file != nullptr ? file : X509_get_default_cert_file(), &st) == 0 && !S_ISREG(st.st_mode)) {
    load_default_file(store);
  }
  SSL_CTX_set_cert_verify_callback(ctx, verify_deferring_default_file, nullptr);
}

}  // namespace

ssl::context make_client_tls_context(const std::optional<std::string>& extra_ca_file) {
  ssl::context ctx{ssl::context::tls_client};
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  // The system trust store: OpenSSL's default CA bundle file and its hashed certificate directory,
  // both (a CA may be in the bundle without a hash link, as on distributions that ship only the
  // bundle), or SSL_CERT_FILE / SSL_CERT_DIR in their place when set. The bundle is parsed only if a
  // chain cannot be verified without it (above); the directory is looked up certificate by certificate.
  set_default_verify_paths_deferring_file(ctx.native_handle());
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
