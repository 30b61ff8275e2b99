#pragma once
// `keyrevoke list [OPTIONS]`: prints the hashes (or, with --json, the key objects) of the keys that
// match every filter given, one per line, flushed after each page, so that it pipes into keyrevoke.

namespace keyrevoke::app {

// argv[0] is "list". env_base_url / env_key: MODELGATES_BASE_URL / MODELGATES_MANAGEMENT_KEY, if set.
// Returns the exit code (0 complete, 1 incomplete, 2 usage/config, 3 key rejected or TLS, 130).
int run_list_command(int argc, const char* const* argv, const char* env_base_url, const char* env_key);

}  // namespace keyrevoke::app
