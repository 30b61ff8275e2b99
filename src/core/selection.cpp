#include "keyrevoke/core/selection.hpp"

#include <algorithm>
#include <charconv>
#include <memory>
#include <stdexcept>

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include <openssl/evp.h>

namespace keyrevoke::core {
namespace {

using sha256 = sha256_stream;

bool parse_unsigned(std::string_view text, unsigned& value) noexcept {
  if (text.empty() || text.size() > 6) return false;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
  }
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

sha256_stream::sha256_stream() : ctx_{EVP_MD_CTX_new()} {
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr) != 1) {
    EVP_MD_CTX_free(ctx_);
    throw std::runtime_error("SHA-256 is not available");
  }
}

sha256_stream::~sha256_stream() { EVP_MD_CTX_free(ctx_); }

void sha256_stream::update(std::string_view data) { EVP_DigestUpdate(ctx_, data.data(), data.size()); }

std::string sha256_stream::hex_digest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_DigestFinal_ex(ctx_, digest, &length);
  constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * std::size_t{length});
  for (unsigned int i = 0; i < length; ++i) {
    out.push_back(digits[digest[i] >> 4]);
    out.push_back(digits[digest[i] & 0x0f]);
  }
  return out;
}

std::optional<shard_spec> parse_shard(std::string_view text) noexcept {
  const std::size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  unsigned k = 0, n = 0;
  if (!parse_unsigned(text.substr(0, slash), k) || !parse_unsigned(text.substr(slash + 1), n)) return std::nullopt;
  if (n < 1 || n > max_shards || k < 1 || k > n) return std::nullopt;
  return shard_spec{k - 1, n};
}

unsigned shard_of(const key_hash& hash, unsigned count) noexcept {
  if (count <= 1) return 0;
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const std::uint8_t byte : hash) {
    h ^= byte;
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return static_cast<unsigned>(h % count);
}

std::optional<key_hash> own_key_hash_from_body(std::string_view body) noexcept {
  if (body.size() > std::size_t{64} * 1024) return std::nullopt;
  unsigned char buffer[4096];
  boost::json::monotonic_resource resource(buffer, sizeof buffer);
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(body, ec, boost::json::storage_ptr(&resource));
  if (ec) return std::nullopt;
  const boost::json::object* top = doc.if_object();
  const boost::json::value* data = top != nullptr ? top->if_contains("data") : nullptr;
  const boost::json::object* key = data != nullptr ? data->if_object() : nullptr;
  const boost::json::value* hash = key != nullptr ? key->if_contains("hash") : nullptr;
  if (hash == nullptr || !hash->is_string()) return std::nullopt;
  return parse_key_hash(hash->get_string());
}

std::string sha256_hex(std::string_view data) {
  sha256 digest;
  digest.update(data);
  return digest.hex_digest();
}

std::string plan_digest(action act, std::string_view base_url, std::vector<key_hash>& hashes) {
  std::sort(hashes.begin(), hashes.end());
  hashes.erase(std::unique(hashes.begin(), hashes.end()), hashes.end());
  sha256 digest;
  std::string head = "keyrevoke-plan-v2\naction=";
  head.append(to_string(act)).append("\nbase_url=").append(base_url).append("\n");
  digest.update(head);
  char line[key_hash_hex_size + 1];
  line[key_hash_hex_size] = '\n';
  for (const key_hash& h : hashes) {
    write_hex(h, line);
    digest.update(std::string_view{line, sizeof line});
  }
  return "sha256:" + digest.hex_digest();
}

}  // namespace keyrevoke::core
