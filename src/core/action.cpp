#include "keyrevoke/core/action.hpp"

namespace keyrevoke::core {

std::string_view to_string(action value) noexcept {
  switch (value) {
    case action::disable: return "disable";
    case action::enable: return "enable";
    case action::delete_key: break;
  }
  return "delete";
}

std::optional<action> action_from_string(std::string_view text) noexcept {
  if (text == "delete") return action::delete_key;
  if (text == "disable") return action::disable;
  if (text == "enable") return action::enable;
  return std::nullopt;
}

}  // namespace keyrevoke::core
