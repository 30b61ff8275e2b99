#pragma once
// The modes of the command: a run (its pre-run steps in one straight line, then app/revocation),
// --dry-run and --plan. Each returns the exit code.

#include "keyrevoke/app/options.hpp"
#include "keyrevoke/core/exit_status.hpp"

#include <string>
#include <variant>

namespace keyrevoke::app {

// Exit codes (the contract with scripts; README, Exit codes): core/exit_status.hpp.
using core::exit_aborted;
using core::exit_incomplete;
using core::exit_interrupted;
using core::exit_ok;
using core::exit_unreachable;
using core::exit_usage;

// The management key from --key-file (first line) or the environment; never from argv.
std::variant<std::string, early_exit> load_management_key(const options& opts, const char* env_key);

// --dry-run: validate and count, send nothing, write no report.
int run_dry_run(const options& opts);

// --plan: what would be done and the digest --confirm takes; sends nothing, writes no report.
int run_plan(const options& opts);

// A real run. Progress and the summary go to stderr.
int run_revocation(const options& opts, const std::string& management_key);

}  // namespace keyrevoke::app
