#pragma once
// The revocation run, wired end to end: input reader -> queue -> dispatcher (rate controller,
// retry queue) -> worker coroutines over the connection pool -> report. Returns the exit code.

#include "keyrevoke/app/options.hpp"

#include <string>
#include <variant>

namespace keyrevoke::app {

// Exit codes (the contract with scripts; README, Exit codes).
inline constexpr int exit_ok = 0;
inline constexpr int exit_incomplete = 1;   // some hash failed, or invalid lines
inline constexpr int exit_usage = 2;        // usage, configuration or input error: nothing sent
inline constexpr int exit_aborted = 3;      // key rejected or TLS not trusted
inline constexpr int exit_interrupted = 130;

// The management key from --key-file (first line) or the environment; never from argv.
std::variant<std::string, early_exit> load_management_key(const options& opts, const char* env_key);

// --dry-run: validate and count, send nothing, write no report.
int run_dry_run(const options& opts);

// --plan: what would be done and the digest --confirm takes; sends nothing, writes no report.
int run_plan(const options& opts);

// A real run. Progress and the summary go to stderr.
int run_revocation(const options& opts, const std::string& management_key);

}  // namespace keyrevoke::app
