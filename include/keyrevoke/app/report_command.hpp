#pragma once
// `keyrevoke report FILE... [--format text|markdown|csv|json]`: the final state per hash across the
// runs of one or more reports (resumed runs, --shard runners), on stdout (core/report_merge.hpp).

#include <string>
#include <variant>
#include <vector>

#include "keyrevoke/app/options.hpp"
#include "keyrevoke/core/report_format.hpp"

namespace keyrevoke::app {

struct report_options {
  std::vector<std::string> files;  // at least one; "-" reads stdin
  core::report_format format = core::report_format::text;
};

// argv[0] is "report". Usage errors are early_exit{2, text}.
std::variant<report_options, early_exit> parse_report_command_line(int argc, const char* const* argv);

// argv[0] is "report". Returns the exit code: 0 every hash done (or protected), every proof verified,
// no invalid line and nothing missing; 1 something is left (the output says what) or stdout could not
// be written; 2 usage, an unreadable file, or a file that is not a keyrevoke report (FILE:LINE: why).
int run_report_command(int argc, const char* const* argv);

}  // namespace keyrevoke::app
