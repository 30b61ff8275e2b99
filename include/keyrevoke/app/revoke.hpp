#pragma once
// The modes of the command: a run (its pre-run steps in one straight line, then app/revocation),
// --dry-run and --plan. Each returns the exit code.

#include "keyrevoke/app/options.hpp"
#include "keyrevoke/core/exit_status.hpp"

#include <string>
#include <string_view>
#include <variant>

namespace keyrevoke::app {

// Exit codes (the contract with scripts; README, Exit codes): core/exit_status.hpp.
using core::exit_aborted;
using core::exit_incomplete;
using core::exit_interrupted;
using core::exit_ok;
using core::exit_unreachable;
using core::exit_usage;

// Writes `text` to stdout and flushes it: stdout is the data of --plan, --dry-run, --help and
// `keyrevoke list`, and a full disk or a closed pipe must not pass for success. Returns an error
// sentence ("cannot write to standard output: No space left on device"), or empty when every byte
// was handed to the system.
std::string write_stdout(std::string_view text);

// Prints help, version or a usage error: text to stdout when code is 0 (checked with write_stdout:
// a failure is told on stderr, prefixed with `program`, and makes the code 1), else to stderr.
// Returns the exit code.
int show_early_exit(const early_exit& done, const char* program);

// The management key from --key-file (first line) or the environment; never from argv.
std::variant<std::string, early_exit> load_management_key(const options& opts, const char* env_key);

// --dry-run: validate and count, send nothing, write no report.
int run_dry_run(const options& opts);

// --plan: what would be done and the digest --confirm takes; sends nothing, writes no report.
int run_plan(const options& opts);

// A real run. Progress and the summary go to stderr. --summary-json and --metrics-file are written
// whatever the exit code, also when the run ends before its report is opened.
int run_revocation(const options& opts, const std::string& management_key);

// --summary-json / --metrics-file for a run that ended before its report was opened (exit code
// `code`, nothing counted); a file that cannot be written is told on stderr.
void report_outputs_before_run(const options& opts, int code);

}  // namespace keyrevoke::app
