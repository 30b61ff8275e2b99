// A page of GET /keys and the timestamps in it: never throws on any body; what is parsed is
// consistent, and a key object re-serialised parses back to the same fields.

#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "keyrevoke/core/key_page.hpp"
#include "keyrevoke/core/timestamp.hpp"

namespace kc = keyrevoke::core;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  if (const auto t = kc::parse_timestamp(body)) {
    // Years 0000-9999 only.
    FUZZ_CHECK(*t >= -62167219200LL * 1000000 - 86400LL * 1000000);
    FUZZ_CHECK(*t <= 253402300800LL * 1000000 + 86400LL * 1000000);
  }
  const auto page = kc::parse_key_page(body);
  if (!page) return 0;
  FUZZ_CHECK(page->entries.size() == page->fields.size());
  FUZZ_CHECK(page->entries.size() == page->json.size());
  std::size_t unusable = 0;
  for (std::size_t i = 0; i < page->entries.size(); ++i) {
    if (!page->entries[i].usable) {
      ++unusable;
      continue;
    }
    FUZZ_CHECK(!page->json[i].empty());
    FUZZ_CHECK(page->json[i].find('\n') == std::string::npos);
    const auto again = kc::parse_key_page("{\"data\":[" + page->json[i] + "]}");
    FUZZ_CHECK(again && again->entries.size() == 1 && again->entries[0].usable);
    FUZZ_CHECK(again->entries[0].hash == page->entries[i].hash);
    FUZZ_CHECK(again->fields[0].name == page->fields[i].name);
    FUZZ_CHECK(again->fields[0].label == page->fields[i].label);
    FUZZ_CHECK(again->fields[0].created_at == page->fields[i].created_at);
    FUZZ_CHECK(again->fields[0].disabled == page->fields[i].disabled);
  }
  FUZZ_CHECK(unusable == page->unusable);
  return 0;
}
