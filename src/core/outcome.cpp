#include "keyrevoke/core/outcome.hpp"

#include <array>
#include <utility>

namespace keyrevoke::core {
namespace {

constexpr std::array<std::pair<outcome, std::string_view>, outcome_count> names{{
    {outcome::deleted, "deleted"},
    {outcome::not_found, "not_found"},
    {outcome::failed, "failed"},
    {outcome::unauthorized, "unauthorized"},
    {outcome::not_attempted, "not_attempted"},
    {outcome::invalid, "invalid"},
    {outcome::disabled, "disabled"},
    {outcome::enabled, "enabled"},
    {outcome::protected_key, "protected"},
    {outcome::not_found_after_retry, "not_found_after_retry"},
}};

}  // namespace

std::string_view to_string(outcome value) noexcept {
  for (const auto& [v, name] : names) {
    if (v == value) return name;
  }
  return "unknown";
}

std::optional<outcome> outcome_from_string(std::string_view text) noexcept {
  for (const auto& [v, name] : names) {
    if (name == text) return v;
  }
  return std::nullopt;
}

}  // namespace keyrevoke::core
