#pragma once
// The command line: the contract users and scripts rely on (see README, Command line).

#include "keyrevoke/app/network_route.hpp"
#include "keyrevoke/core/action.hpp"
#include "keyrevoke/core/selection.hpp"

#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace boost::program_options {
class options_description;
class variables_map;
}  // namespace boost::program_options

namespace keyrevoke::app {

enum class progress_mode { automatic, always, never };

struct options {
  std::vector<std::string> inputs;  // empty: stdin; "-" also means stdin
  std::string base_url = "https://modelgates.ai/api/v1";
  std::optional<std::string> cacert;
  std::optional<std::string> key_file;
  std::string report = "keyrevoke-report.jsonl";
  bool resume = false;
  bool force = false;
  bool no_lock = false;      // --no-lock: the report is not locked (a file system without locking)
  bool allow_empty = false;  // --allow-empty: an input without any hash line is not an error
  unsigned concurrency = 16;
  double rate = 0.0;  // 0: no ceiling
  unsigned max_attempts = 8;
  double timeout_s = 30.0;
  double give_up_after_s = 300.0;
  double retry_after_cap_s = 120.0;
  bool dry_run = false;
  bool allow_insecure_http = false;
  progress_mode progress = progress_mode::automatic;
  bool quiet = false;
  // The incident workflow (README, Runbook).
  core::action act = core::action::delete_key;  // --disable / --enable
  bool verify = false;                           // --verify: prove each action with a GET
  std::optional<std::string> protect;            // --protect FILE: hashes and name/label globs
  bool plan = false;                             // --plan: print the plan and its digest, send nothing
  std::optional<std::string> confirm;            // --confirm DIGEST ("sha256:<64 hex>")
  core::shard_spec shard{};                      // --shard K/N
  std::string shard_text;                        // "K/N" as given, for the report header
  // For scheduled jobs (README, Scheduled runs): written atomically at the end of a run, whatever
  // its exit code; never the key.
  std::optional<std::string> summary_json;  // --summary-json FILE: the summary as one JSON object
  std::optional<std::string> metrics_file;  // --metrics-file FILE: Prometheus text format (textfile collector)
  network_options network;                       // --proxy, --noproxy, --proxy-user-file, --connect-to, --resolve
  // Tracing (issue 11): -v a line per exchange and per dial on stderr; --trace FILE every request's and
  // answer's header fields (Authorization and Proxy-Authorization values never written).
  bool verbose = false;
  std::optional<std::string> trace_file;
};

// What the command line asks for when it is not a run: help, version, or a usage error (exit 2).
struct early_exit {
  int code;
  std::string text;  // printed to stdout when code == 0, else to stderr
};

// The network path options (README, Network paths), shared by the revoker and `keyrevoke list`:
// add_network_options describes them; read_network_options takes them from a parsed command line and
// returns a usage error (never echoing a credential) for a malformed --connect-to / --resolve, an
// unsupported --proxy, or a password in --proxy's URL (it would show in `ps`).
void add_network_options(boost::program_options::options_description& desc);
std::optional<std::string> read_network_options(const boost::program_options::variables_map& vm,
                                                network_options& out);
// "unknown option '--concurency'; did you mean '--concurrency'?": the nearest long option of `known`
// (core::nearest_name), or no suggestion. `typed` as program_options gives it (dashes, no value).
std::string unknown_option_message(const std::string& typed, const std::vector<std::string>& known);

// The long names of the revoker's options ("help", "report", "verify", ...): a config file shared with
// `keyrevoke list` may hold them, and `list` skips them.
std::vector<std::string> run_option_names();

// env_base_url: the value of MODELGATES_BASE_URL, if set (the option wins over it).
std::variant<options, early_exit> parse_command_line(int argc, const char* const* argv,
                                                     const char* env_base_url);

}  // namespace keyrevoke::app
