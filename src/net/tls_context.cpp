#include "keyrevoke/net/tls_context.hpp"

#include "keyrevoke/core/errc.hpp"
#include "keyrevoke/core/redact.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <stdexcept>

namespace keyrevoke::net {

namespace ssl = boost::asio::ssl;

namespace {

// The system trust store as SSL_CTX_set_default_verify_paths sets it up (OpenSSL 3.0's
// X509_STORE_set_default_paths_ex: the default CA file, the hashed directory, the default
// OSSL_STORE URI, each or its SSL_CERT_* variable), with one difference: the CA file is parsed
// when a chain first needs an issuer the store does not hold, not up front. Debian's bundle is
// about 140 certificates and parsing it costs about 50 ms per process, which a run against a
// server whose CA came with --cacert never needs. Until it is parsed, the file's certificates
// are looked up before the directory and the URI, as they would have been, so every chain is
// trusted or refused as with the eager load. One difference remains: a CA given with --cacert
// whose subject is also that of a CA in the file (a renewed CA) is found without the file's
// copy, so an expired --cacert copy is not replaced by the file's current one.

// ex_data on the X509_STORE: null until the default CA file has been loaded into it.
int default_file_loaded_index() {
  static const int index = X509_STORE_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

char loaded_mark;

// Loads the default CA file (SSL_CERT_FILE, or OpenSSL's default) into `store` the first time it
// is called for it; true if it did so now. Errors (no such file) are dropped, as
// X509_STORE_set_default_paths_ex drops them, and the error queue is left as it was: this runs
// inside a handshake, whose result is read from that queue.
bool load_default_file_once(X509_STORE* store) {
  if (store == nullptr || X509_STORE_get_ex_data(store, default_file_loaded_index()) != nullptr) return false;
  X509_STORE_set_ex_data(store, default_file_loaded_index(), &loaded_mark);
  ERR_set_mark();
  if (X509_LOOKUP* file = X509_STORE_add_lookup(store, X509_LOOKUP_file()); file != nullptr) {
    X509_LOOKUP_load_file(file, nullptr, X509_FILETYPE_DEFAULT);
  }
  ERR_pop_to_mark();
  return true;
}

// The store's issuer lookup (OpenSSL's X509_STORE_CTX_get1_issuer), once more after loading the
// default CA file when it found nothing. Returns 1 found, 0 not found, -1 error, as the default.
int get1_issuer_deferring_default_file(X509** issuer, X509_STORE_CTX* ctx, X509* subject) {
  int found = X509_STORE_CTX_get1_issuer(issuer, ctx, subject);
  if (found == 0 && load_default_file_once(X509_STORE_CTX_get0_store(ctx))) {
    found = X509_STORE_CTX_get1_issuer(issuer, ctx, subject);
  }
  return found;
}

// Every certificate (CRL) of a subject: used for partial chains, DANE and CRL checks, none of
// which keyrevoke turns on; the file is loaded first so the answer is complete.
STACK_OF(X509) * lookup_certs_deferring_default_file(X509_STORE_CTX* ctx, const X509_NAME* name) {
  load_default_file_once(X509_STORE_CTX_get0_store(ctx));
  return X509_STORE_CTX_get1_certs(ctx, name);
}

STACK_OF(X509_CRL) * lookup_crls_deferring_default_file(const X509_STORE_CTX* ctx, const X509_NAME* name) {
  load_default_file_once(X509_STORE_CTX_get0_store(ctx));
  return X509_STORE_CTX_get1_crls(ctx, name);
}

void set_default_verify_paths_deferring_file(SSL_CTX* ctx) {
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  // The file lookup first, as OpenSSL adds it; it answers no lookups of its own (by_file has no
  // get_by_subject), it is what load_default_file_once loads through.
  X509_STORE_add_lookup(store, X509_LOOKUP_file());
  if (X509_LOOKUP* dir = X509_STORE_add_lookup(store, X509_LOOKUP_hash_dir()); dir != nullptr) {
    X509_LOOKUP_add_dir(dir, nullptr, X509_FILETYPE_DEFAULT);
  }
  if (X509_LOOKUP* uri = X509_STORE_add_lookup(store, X509_LOOKUP_store()); uri != nullptr) {
    X509_LOOKUP_add_store(uri, nullptr);
  }
  ERR_clear_error();
  X509_STORE_set_get_issuer(store, get1_issuer_deferring_default_file);
  X509_STORE_set_lookup_certs(store, lookup_certs_deferring_default_file);
  X509_STORE_set_lookup_crls(store, lookup_crls_deferring_default_file);
}

}  // namespace

ssl::context make_client_tls_context(const std::optional<std::string>& extra_ca_file) {
  ssl::context ctx{ssl::context::tls_client};
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                  ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  // The system trust store: OpenSSL's default CA bundle file and its hashed certificate directory,
  // both (a CA may be in the bundle without a hash link, as on distributions that ship only the
  // bundle), or SSL_CERT_FILE / SSL_CERT_DIR in their place when set. The bundle is parsed when a
  // chain first needs it (above); the directory is looked up certificate by certificate.
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
