#pragma once
// One page of GET /keys, `{"data":[{...key...}, ...]}`, parsed into what the pager, the filter and the
// output need. Pure (Boost.JSON stays in the .cpp).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "keyrevoke/core/key_filter.hpp"
#include "keyrevoke/core/list_pager.hpp"

namespace keyrevoke::core {

// Bytes of a GET /keys page read whole (keyrevoke list, the preflight); a longer page is not the API's
// (its pages hold 100 keys, tens of KiB; 8 MiB leaves room for ~10,000 keys a page).
inline constexpr std::uint64_t listing_body_limit = std::uint64_t{8} * 1024 * 1024;

struct key_page {
  // Parallel vectors, one element per object of `data`, in list order.
  std::vector<list_entry> entries;  // usable = false: not an object, or no 64-hex-digit "hash"
  std::vector<key_fields> fields;
  std::vector<std::string> json;  // the object re-serialised on one line ("" when not an object)
  std::size_t unusable = 0;
};

// nullopt when the body is not a JSON object whose "data" is an array (a server error: retry).
// Never throws on any input.
std::optional<key_page> parse_key_page(std::string_view body);

}  // namespace keyrevoke::core
