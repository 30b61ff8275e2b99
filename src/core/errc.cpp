#include "keyrevoke/core/errc.hpp"

namespace keyrevoke::core {

namespace {

class transfer_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "keyrevoke.transfer"; }
  std::string message(int value) const override {
    switch (static_cast<errc>(value)) {
      case errc::connect_failed: return "connect failed";
      case errc::connection_reset: return "connection reset";
      case errc::eof_before_response: return "connection closed before the response";
      case errc::torn_response: return "response cut off";
      case errc::timeout: return "timed out";
      case errc::tls_untrusted: return "TLS certificate not trusted";
      case errc::tls_handshake_failed: return "TLS handshake failed";
      case errc::cancelled: return "cancelled";
      case errc::other: return "network error";
      case errc::unrequested_answer: return "an answer to no request";
    }
    return "unknown transfer error";
  }
};

}  // namespace

const std::error_category& transfer_category() noexcept {
  static const transfer_category_impl category;
  return category;
}

}  // namespace keyrevoke::core
