// GET {base}/key's answer, from the server: own_key_hash_from_body never throws or crashes on any body,
// and a hash it returns is exactly the "data"."hash" string of a JSON object body (any case), so that
// --protect never protects a key the server did not name.

#include <boost/json.hpp>

#include <cctype>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "keyrevoke/core/key_hash.hpp"
#include "keyrevoke/core/selection.hpp"

namespace kc = keyrevoke::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const auto hash = kc::own_key_hash_from_body(body);
  if (!hash) return 0;
  FUZZ_CHECK(size <= std::size_t{64} * 1024);
  boost::system::error_code ec;
  const boost::json::value doc = boost::json::parse(body, ec);
  FUZZ_CHECK(!ec);
  const auto* top = doc.if_object();
  FUZZ_CHECK(top != nullptr);
  const auto* key = top->contains("data") ? top->at("data").if_object() : nullptr;
  FUZZ_CHECK(key != nullptr);
  const auto* text = key->contains("hash") ? key->at("hash").if_string() : nullptr;
  FUZZ_CHECK(text != nullptr && text->size() == kc::key_hash_hex_size);
  std::string lower(text->data(), text->size());
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  FUZZ_CHECK(kc::to_hex(*hash) == lower);
  return 0;
}
