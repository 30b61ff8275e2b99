#pragma once
// Which listed keys `keyrevoke list` prints: every criterion given must hold (AND). Pure.

#include <optional>
#include <string>

#include "keyrevoke/core/timestamp.hpp"

namespace keyrevoke::core {

// The fields of one key object the filter looks at. nullopt: absent, null, or of the wrong type
// (a created_at that is not a parseable timestamp, a usage that is not a number ...).
struct key_fields {
  std::optional<std::string> name;
  std::optional<std::string> label;
  std::optional<bool> disabled;
  std::optional<double> usage;
  std::optional<unix_micros> created_at;
  std::optional<unix_micros> updated_at;
};

struct key_filter {
  std::optional<std::string> name_glob;  // glob_match, whole string, case-sensitive
  std::optional<std::string> label_glob;
  std::optional<unix_micros> created_before;  // strictly earlier
  std::optional<unix_micros> created_after;   // at or later
  std::optional<unix_micros> updated_before;
  std::optional<unix_micros> updated_after;
  std::optional<bool> disabled;       // true: only disabled keys; false: only enabled ones
  std::optional<double> usage_above;  // strictly greater
  std::optional<double> usage_below;  // strictly less

  // A key that lacks a field some criterion needs does not match.
  bool matches(const key_fields& key) const;
  bool empty() const noexcept;
};

}  // namespace keyrevoke::core
