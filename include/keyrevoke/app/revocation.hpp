#pragma once
// The run itself, once every pre-run step has passed (app/revoke.cpp): thin coroutines that carry out
// what core::run_scheduler decides. An input reader thread feeds it batches (its credits are the
// backpressure); a dispatcher asks the scheduler what goes next and hands jobs to N workers over a
// channel; each worker does one HTTPS exchange at a time over the connection pool and reports the
// classified answer back; a progress loop, a report-sync loop and a stop watch (SIGINT, SIGTERM,
// SIGHUP: app/stop_signals.hpp) complete it.

#include "keyrevoke/app/options.hpp"
#include "keyrevoke/app/report_file.hpp"
#include "keyrevoke/core/base_url.hpp"
#include "keyrevoke/core/hash_set.hpp"
#include "keyrevoke/core/report_reader.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace boost::asio::ssl {
class context;
}

namespace keyrevoke::app {

// What the pre-run steps decided to leave out or hold to.
struct run_selection {
  core::hash_set protect;              // --protect: hashes (listed, and resolved from globs)
  std::optional<core::hash_set> plan;  // --confirm: the confirmed set
};

struct run_setup {
  core::base_url base;
  run_selection selection;
  core::resume_scan scan;  // --resume: what the report already holds
  std::string header;      // the audit row that opens this run's rows
  core::route route = core::direct_route(base);  // the network path (app/network_route.hpp)
};

// What an input without any hash line is told (README, Exit codes): refused, exit 2, unless --allow-empty.
inline constexpr const char* empty_input_message =
    "the input holds no hash (only blank lines and comments, or nothing: an empty file, or an empty "
    "variable in a cron line?); nothing sent. --allow-empty accepts an empty list";
inline constexpr const char* empty_input_allowed = "the input holds no hash (allowed by --allow-empty)";

// Runs to the end and returns the exit code (README, Exit codes). Opens the inputs first: an error
// there is exit 2 with nothing sent. Progress and the summary go to stderr.
int execute_revocation(const options& opts, const std::string& management_key, boost::asio::ssl::context& tls,
                       report_file report, run_setup setup);

}  // namespace keyrevoke::app
