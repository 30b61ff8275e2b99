#pragma once
// What a run does to each selected key, and what it asks the server for one request.

#include <optional>
#include <string_view>

namespace keyrevoke::core {

enum class action {
  delete_key,  // DELETE /keys/{hash}: irreversible
  disable,     // PATCH /keys/{hash} {"disabled":true}: containment, reversible
  enable,      // PATCH /keys/{hash} {"disabled":false}: undoes disable
};

// "delete", "disable", "enable": the names in the report's header row and in plans.
std::string_view to_string(action value) noexcept;
std::optional<action> action_from_string(std::string_view text) noexcept;

// One request's kind: the action's own, or the GET that verifies it.
enum class request_kind { delete_key, disable, enable, get };

constexpr request_kind request_for(action value) noexcept {
  switch (value) {
    case action::disable: return request_kind::disable;
    case action::enable: return request_kind::enable;
    case action::delete_key: break;
  }
  return request_kind::delete_key;
}

}  // namespace keyrevoke::core
