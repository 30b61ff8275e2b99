#pragma once
// "Did you mean ...?" for an unknown command-line option (issue 11): the known name nearest to what
// was typed. Pure.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace keyrevoke::core {

// Edits (insert, delete, substitute one character, or swap two adjacent ones: the optimal string
// alignment distance) that turn a into b. Case-sensitive. O(|a| x |b|).
std::size_t edit_distance(std::string_view a, std::string_view b);

// The known name nearest to `typed` (both without leading dashes): the one with the fewest edits,
// if at most max(1, min(3, |typed| / 3)) edits, else the only known name that starts with `typed`
// (3 characters or more), else empty. Ties: the first in `known`.
std::string nearest_name(std::string_view typed, const std::vector<std::string>& known);

}  // namespace keyrevoke::core
