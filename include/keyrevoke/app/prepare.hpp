#pragma once
// The steps before a run sends anything: the --protect file, the selection behind --plan and
// --confirm, the inputs' fingerprints and the report's header row. No network here.

#include "keyrevoke/app/input_reader.hpp"
#include "keyrevoke/app/options.hpp"
#include "keyrevoke/core/base_url.hpp"
#include "keyrevoke/core/hash_set.hpp"
#include "keyrevoke/core/key_hash.hpp"

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace keyrevoke::app {

// A --protect file: one entry per line; blank lines and '#' comments skipped. A 64-hex-digit line
// is a hash; any other line is a glob matched against a key's name and label ("name:GLOB" or
// "label:GLOB" to match only one of them).
struct protect_list {
  core::hash_set hashes;
  std::vector<std::string> name_globs;
  std::vector<std::string> label_globs;
  bool has_globs() const noexcept { return !name_globs.empty() || !label_globs.empty(); }
};
std::variant<protect_list, std::string> load_protect_file(const std::string& path);

// Whether a key with this name and label is protected by one of the list's globs.
bool protected_by_glob(const protect_list& list, std::string_view name, std::string_view label);

// What the input selects: distinct valid hashes in the shard and not protected.
struct selection_result {
  std::vector<core::key_hash> hashes;
  std::uint64_t lines = 0, duplicates = 0, invalid = 0, protected_count = 0, other_shard = 0;
  std::uint64_t hash_lines = 0;  // lines holding a hash or an invalid line (not blank, not a comment)
  std::vector<invalid_entry> first_invalid;  // up to 10, to show
  std::vector<std::string> source_names;
  std::string error;  // opening or reading failed (nothing may be sent)
};
selection_result read_selection(const options& opts, const core::hash_set* protect);

// The input files' SHA-256 (empty for stdin and other non-regular inputs), for the header row.
struct input_print {
  std::string name;
  std::string sha256;
};
std::vector<input_print> fingerprint_inputs(const std::vector<std::string>& inputs);

// --plan's JSON line for this selection (sorted and de-duplicated by plan_digest already).
std::string plan_row_text(const options& opts, const core::base_url& base, std::string_view digest,
                          const selection_result& sel, const std::vector<input_print>& inputs);

// The report's header row for this run (never the key).
std::string header_row_text(const options& opts, const core::base_url& base, const std::vector<input_print>& inputs);

}  // namespace keyrevoke::app
