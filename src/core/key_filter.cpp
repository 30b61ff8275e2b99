#include "keyrevoke/core/key_filter.hpp"

#include "keyrevoke/core/glob.hpp"

namespace keyrevoke::core {

bool key_filter::matches(const key_fields& key) const {
  if (name_glob && (!key.name || !glob_match(*name_glob, *key.name))) return false;
  if (label_glob && (!key.label || !glob_match(*label_glob, *key.label))) return false;
  if (disabled && (!key.disabled || *key.disabled != *disabled)) return false;
  if (created_before && (!key.created_at || !(*key.created_at < *created_before))) return false;
  if (created_after && (!key.created_at || !(*key.created_at >= *created_after))) return false;
  if (updated_before && (!key.updated_at || !(*key.updated_at < *updated_before))) return false;
  if (updated_after && (!key.updated_at || !(*key.updated_at >= *updated_after))) return false;
  if (usage_above && (!key.usage || !(*key.usage > *usage_above))) return false;
  if (usage_below && (!key.usage || !(*key.usage < *usage_below))) return false;
  return true;
}

bool key_filter::empty() const noexcept {
  return !name_glob && !label_glob && !created_before && !created_after && !updated_before &&
         !updated_after && !disabled && !usage_above && !usage_below;
}

}  // namespace keyrevoke::core
