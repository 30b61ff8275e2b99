#pragma once
// Keeping the management key (and anything that looks like a key) off the screen and out of reports.

#include <string>
#include <string_view>

namespace keyrevoke::core {

// A command-line value or file name that may be a pasted key: "sk-…", or long with no path or
// domain punctuation.
bool looks_like_secret(std::string_view text) noexcept;

// The text itself, or a redacted preview if it looks like a secret or holds the known secret.
std::string safe_display(std::string_view text);

// The management key, once known (main: the environment's at start; --key-file's once read), so that
// safe_display never shows it whatever its shape (a key pasted where a file name goes, "cannot open
// input file '...'"). A secret under 8 bytes is not kept (it would hide ordinary names). Called from
// the main thread before any other thread starts; the last call wins.
void set_known_secret(std::string_view secret);

// Replaces, in text, every run of at least min_run characters that also occurs in secret with
// "[redacted]" (a server that echoes the key, or part of it, back in an error message).
void redact_secret(std::string& text, std::string_view secret, std::size_t min_run = 12);

}  // namespace keyrevoke::core
