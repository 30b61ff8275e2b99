#pragma once
// A ModelGates key hash: 64 hex digits on the wire, 32 raw bytes in memory.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace keyrevoke::core {

using key_hash = std::array<std::uint8_t, 32>;

inline constexpr std::size_t key_hash_hex_size = 64;

// Exactly 64 hex digits, either case; anything else is nullopt.
std::optional<key_hash> parse_key_hash(std::string_view hex) noexcept;

// Writes the 64 lower-case hex digits to out (no terminator).
void write_hex(const key_hash& hash, char* out) noexcept;

std::string to_hex(const key_hash& hash);

}  // namespace keyrevoke::core
