#pragma once
// Which hashes a run takes: --shard K/N, and the --plan / --confirm digest of the exact set. Pure.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keyrevoke/core/action.hpp"
#include "keyrevoke/core/key_hash.hpp"

struct evp_md_ctx_st;  // OpenSSL's EVP_MD_CTX

namespace keyrevoke::core {

struct shard_spec {
  unsigned index = 0;  // 0-based; the command line says K = index + 1
  unsigned count = 1;
};

inline constexpr unsigned max_shards = 65536;

// "K/N" with 1 <= K <= N <= max_shards (decimal, no signs or spaces).
std::optional<shard_spec> parse_shard(std::string_view text) noexcept;

// The shard a hash belongs to, 0..count-1. Stable across versions and machines (it is a contract:
// runners of different versions must split a list the same way): FNV-1a over the 32 bytes, then
// splitmix64's finaliser, modulo count.
unsigned shard_of(const key_hash& hash, unsigned count) noexcept;

// GET {base}/key's answer (OpenRouter's "current key"): the management key's own hash when the body
// is {"data": {..., "hash": "<64 hex>"}}; nullopt for anything else (the API does not expose it).
std::optional<key_hash> own_key_hash_from_body(std::string_view body) noexcept;

// Lower-case hex SHA-256 of data.
std::string sha256_hex(std::string_view data);

// The same, fed in pieces (an input file's fingerprint for the report header).
class sha256_stream {
 public:
  sha256_stream();
  ~sha256_stream();
  sha256_stream(const sha256_stream&) = delete;
  sha256_stream& operator=(const sha256_stream&) = delete;
  void update(std::string_view data);
  std::string hex_digest();  // once

 private:
  ::evp_md_ctx_st* ctx_;
};

// "sha256:<hex>" of "keyrevoke-plan-v2\naction=<action>\nbase_url=<base_url>\n" followed by each
// distinct hash in ascending order, as 64 hex digits and '\n'. Sorts and de-duplicates `hashes` in
// place. base_url is the whole normalised base URL (base_url::canonical: scheme, host, port and
// path): a plan reviewed for one server, or one route on it, cannot run against another.
std::string plan_digest(action act, std::string_view base_url, std::vector<key_hash>& hashes);

}  // namespace keyrevoke::core
