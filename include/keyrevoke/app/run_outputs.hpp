#pragma once
// --summary-json and --metrics-file: the run's summary for schedulers and monitoring, each file
// replaced atomically so that a reader (node_exporter's textfile collector) never sees half of one.

#include <string>
#include <string_view>

#include "keyrevoke/app/options.hpp"
#include "keyrevoke/core/run_summary.hpp"

namespace keyrevoke::app {

// Replaces `path` with `content`: a temporary file in the same directory (".<name>.tmp-<pid>"),
// written, fsync'd, renamed over `path`, then the directory fsync'd. The temporary is removed on any
// failure. Returns an error sentence naming the path, or empty.
std::string write_file_atomically(const std::string& path, std::string_view content);

// Writes whichever of --summary-json / --metrics-file opts names. Returns the error sentences ("" when
// every file was written), one per line.
std::string write_run_outputs(const options& opts, const core::run_summary& summary);

// The same for a run that ended before its report was opened (exit 2 for a report that exists, a
// missing key or input file, a proxy that refused; exit 3 or 130 in the steps before the run): no
// hash counted, no request, exit_reason "before_run", so a monitor sees this run's exit code and not
// the last one's. Errors as write_run_outputs; the caller prints them (the exit code stays).
std::string write_run_outputs_before_run(const options& opts, int code);

}  // namespace keyrevoke::app
