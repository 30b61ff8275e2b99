#pragma once
// `keyrevoke list [OPTIONS]`: prints the hashes (or, with --json, the key objects) of the keys that
// match every filter given, one per line, flushed after each page, so that it pipes into keyrevoke.

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "keyrevoke/app/key_lister.hpp"
#include "keyrevoke/app/options.hpp"
#include "keyrevoke/core/key_filter.hpp"

namespace keyrevoke::app {

struct list_options {
  key_lister_config lister;  // base_url defaults to https://modelgates.ai/api/v1
  std::optional<std::string> key_file;
  core::key_filter filter;
  bool json = false;
};

// The long names of `keyrevoke list`'s options ("help", "name", "proxy", ...): a config file shared
// with the revoker may hold them, and the revoker skips them.
std::vector<std::string> list_option_names();

// argv[0] is "list". Usage errors are early_exit{2, text} and name the option, never its value.
std::variant<list_options, early_exit> parse_list_command_line(int argc, const char* const* argv,
                                                               const char* env_base_url);

// argv[0] is "list". env_base_url / env_key: MODELGATES_BASE_URL / MODELGATES_MANAGEMENT_KEY, if set.
// Returns the exit code (0 complete, 1 incomplete, 2 usage/config, 3 key rejected or TLS, 130).
int run_list_command(int argc, const char* const* argv, const char* env_base_url, const char* env_key);

}  // namespace keyrevoke::app
