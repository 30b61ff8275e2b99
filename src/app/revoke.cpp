#include "keyrevoke/app/revoke.hpp"

#include "keyrevoke/app/run_outputs.hpp"

#include "keyrevoke/app/exchange.hpp"
#include "keyrevoke/app/input_reader.hpp"
#include "keyrevoke/app/key_lister.hpp"
#include "keyrevoke/app/own_key.hpp"
#include "keyrevoke/app/prepare.hpp"
#include "keyrevoke/app/report_file.hpp"
#include "keyrevoke/app/revocation.hpp"
#include "keyrevoke/app/run_stats.hpp"
#include "keyrevoke/app/run_trace.hpp"
#include "keyrevoke/app/stop_signals.hpp"
#include "keyrevoke/core/base_url.hpp"
#include "keyrevoke/core/redact.hpp"
#include "keyrevoke/core/selection.hpp"
#include "keyrevoke/net/tls_context.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>

#include <cerrno>
#include <cstdio>
#include <fstream>
#include <optional>
#include <system_error>

namespace keyrevoke::app {

namespace asio = boost::asio;

namespace {

std::string trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return std::string{text.substr(first, last - first + 1)};
}

}  // namespace

std::string write_stdout(std::string_view text) {
  errno = 0;
  const bool written = std::fwrite(text.data(), 1, text.size(), stdout) == text.size();
  int err = errno;
  if (std::fflush(stdout) != 0 && err == 0) err = errno;
  if (written && std::ferror(stdout) == 0 && err == 0) return {};
  std::clearerr(stdout);
  return "cannot write to standard output: " +
         (err != 0 ? std::generic_category().message(err) : std::string{"write error"});
}

int show_early_exit(const early_exit& done, const char* program) {
  if (done.code != 0) {
    std::fputs(done.text.c_str(), stderr);
    return done.code;
  }
  if (std::string error = write_stdout(done.text); !error.empty()) {
    std::fprintf(stderr, "%s: %s\n", program, error.c_str());
    return exit_incomplete;
  }
  return exit_ok;
}

std::variant<std::string, early_exit> load_management_key(const options& opts, const char* env_key) {
  std::string key;
  if (opts.key_file) {
    std::ifstream in{*opts.key_file};
    if (!in) {
      return early_exit{exit_usage, "keyrevoke: cannot read key file '" + core::safe_display(*opts.key_file) + "': " +
                                        std::generic_category().message(errno) + "\n"};
    }
    std::getline(in, key);
    if (key.rfind("\xEF\xBB\xBF", 0) == 0) key.erase(0, 3);  // a UTF-8 BOM (a Windows editor's)
    key = trim(key);
    if (key.empty()) return early_exit{exit_usage, "keyrevoke: key file '" + core::safe_display(*opts.key_file) + "' is empty\n"};
  } else if (env_key != nullptr) {
    key = trim(env_key);
  }
  if (key.empty()) {
    return early_exit{exit_usage,
                      "keyrevoke: no management key: set MODELGATES_MANAGEMENT_KEY or pass --key-file FILE\n"};
  }
  if (key.size() > 7 && (key.rfind("Bearer ", 0) == 0 || key.rfind("bearer ", 0) == 0)) {
    return early_exit{exit_usage, "keyrevoke: the management key starts with 'Bearer ': give the key alone "
                                  "(keyrevoke sends 'Authorization: Bearer <key>' itself)\n"};
  }
  for (const char c : key) {
    if (c < 0x21 || c > 0x7e) {
      return early_exit{exit_usage,
                        "keyrevoke: the management key contains characters that cannot go in an HTTP header\n"};
    }
  }
  return key;
}

int run_dry_run(const options& opts) {
  input_reader reader{opts.inputs, input_filter{}};
  if (std::string error = reader.open_all(); !error.empty()) {
    std::fprintf(stderr, "keyrevoke: %s\n", error.c_str());
    return exit_usage;
  }
  std::uint64_t lines = 0, hash_lines = 0, valid = 0, duplicates = 0, invalid = 0;
  std::string input_error;
  reader.read_all([&](input_batch&& batch) {
    lines += batch.lines;
    hash_lines += batch.hash_lines;
    valid += batch.hashes.size();
    duplicates += batch.duplicates;
    invalid += batch.invalid.size();
    for (const invalid_entry& bad : batch.invalid) {
      if (!opts.quiet) {
        std::fprintf(stderr, "keyrevoke: %s:%llu: invalid line (%s): %s\n",
                     reader.source_names()[bad.source].c_str(), static_cast<unsigned long long>(bad.line),
                     std::string{bad.reason}.c_str(), bad.preview.c_str());
      }
    }
    if (!batch.error.empty()) input_error = batch.error;
  });
  char counts[256];
  std::snprintf(counts, sizeof counts,
                "dry run: %llu lines, %llu valid hashes, %llu duplicates, %llu invalid lines; nothing sent\n",
                static_cast<unsigned long long>(lines), static_cast<unsigned long long>(valid),
                static_cast<unsigned long long>(duplicates), static_cast<unsigned long long>(invalid));
  const std::string output_error = write_stdout(counts);
  if (!output_error.empty())
    std::fprintf(stderr, "keyrevoke: %s; the dry run's counts are lost\n", output_error.c_str());
  if (!input_error.empty()) {
    std::fprintf(stderr, "keyrevoke: %s\n", input_error.c_str());
    return exit_usage;
  }
  if (core::refused_empty_input(hash_lines, true, opts.allow_empty)) {
    std::fprintf(stderr, "keyrevoke: %s\n", empty_input_message);
    return exit_usage;
  }
  if (hash_lines == 0 && !opts.quiet) std::fprintf(stderr, "keyrevoke: warning: %s\n", empty_input_allowed);
  if (!output_error.empty()) return exit_incomplete;
  return invalid == 0 ? exit_ok : exit_incomplete;
}

namespace {

struct prepared {
  core::base_url base;
  run_selection selection;
  std::optional<protect_list> protect;
};

// The checks every mode shares: the base URL, the --protect file. An error is exit 2.
std::variant<prepared, int> prepare_common(const options& opts) {
  auto checked = checked_base_url(opts.base_url, opts.allow_insecure_http);
  if (auto* error = std::get_if<std::string>(&checked)) {
    std::fprintf(stderr, "keyrevoke: %s\n", error->c_str());
    return exit_usage;
  }
  prepared p{std::get<core::base_url>(std::move(checked)), {}, std::nullopt};
  if (opts.protect) {
    auto loaded = load_protect_file(*opts.protect);
    if (auto* error = std::get_if<std::string>(&loaded)) {
      std::fprintf(stderr, "keyrevoke: %s\n", error->c_str());
      return exit_usage;
    }
    p.protect = std::get<protect_list>(std::move(loaded));
    p.selection.protect = std::move(p.protect->hashes);
    p.protect->hashes = core::hash_set{};
  }
  return p;
}

// --protect's globs: one listing of every key; the matching ones join the protected set. Nothing is
// sent before it completes: a protection that may have missed a key is no protection.
int resolve_protect_globs(const options& opts, const protect_list& list, const std::string& key,
                          core::hash_set& protect) {
  const key_lister_config config{opts.base_url, opts.cacert, opts.allow_insecure_http, opts.timeout_s,
                                 opts.max_attempts, opts.rate, opts.quiet, opts.network};
  std::uint64_t matched = 0;
  const list_result listed = list_keys(
      config, key,
      [&](const listed_key& k) {
        if (protected_by_glob(list, k.name, k.label) && protect.insert(k.hash)) ++matched;
      },
      true);
  if (listed.exit_code != 0) {
    std::fprintf(stderr, "keyrevoke: --protect: listing the keys to match its globs failed (%s); nothing sent\n",
                 listed.error.c_str());
    return listed.exit_code == exit_aborted || listed.exit_code == exit_interrupted || listed.exit_code == exit_usage
               ? listed.exit_code
               : exit_incomplete;
  }
  if (!opts.quiet) {
    std::fprintf(stderr, "keyrevoke: --protect: %s of %s keys match its name/label globs\n", grouped(matched).c_str(),
                 grouped(listed.keys_seen).c_str());
  }
  return exit_ok;
}

void show_invalid(const selection_result& sel, bool quiet) {
  if (quiet) return;
  for (const invalid_entry& bad : sel.first_invalid) {
    std::fprintf(stderr, "keyrevoke: %s:%llu: invalid line (%s): %s\n", sel.source_names[bad.source].c_str(),
                 static_cast<unsigned long long>(bad.line), std::string{bad.reason}.c_str(), bad.preview.c_str());
  }
}

}  // namespace

int run_plan(const options& opts) {
  auto common = prepare_common(opts);
  if (auto* code = std::get_if<int>(&common)) return *code;
  prepared& p = std::get<prepared>(common);
  if (p.protect && p.protect->has_globs()) {
    auto key = load_management_key(opts, std::getenv("MODELGATES_MANAGEMENT_KEY"));  // NOLINT(concurrency-mt-unsafe)
    if (auto* failed = std::get_if<early_exit>(&key)) {
      std::fputs("keyrevoke: --plan with name/label globs in --protect lists the keys, so it needs the key too\n",
                 stderr);
      std::fputs(failed->text.c_str(), stderr);
      return failed->code;
    }
    if (const int code = resolve_protect_globs(opts, *p.protect, std::get<std::string>(key), p.selection.protect);
        code != exit_ok) {
      return code;
    }
  }
  selection_result sel = read_selection(opts, p.selection.protect.empty() ? nullptr : &p.selection.protect);
  if (!sel.error.empty()) {
    std::fprintf(stderr, "keyrevoke: %s\n", sel.error.c_str());
    return exit_usage;
  }
  show_invalid(sel, opts.quiet);
  const std::string digest = core::plan_digest(opts.act, p.base.canonical, sel.hashes);
  const std::string out = plan_row_text(opts, p.base, digest, sel, fingerprint_inputs(opts.inputs));
  if (core::refused_empty_input(sel.hash_lines, true, opts.allow_empty)) {
    std::fprintf(stderr, "keyrevoke: %s\n", empty_input_message);
    return exit_usage;
  }
  if (sel.hash_lines == 0 && !opts.quiet)
    std::fprintf(stderr, "keyrevoke: warning: %s\n", empty_input_allowed);
  if (std::string error = write_stdout(out); !error.empty()) {
    std::fprintf(stderr, "keyrevoke: %s; the plan is lost (nothing sent)\n", error.c_str());
    return exit_incomplete;
  }
  if (!opts.quiet) {
    std::fprintf(stderr,
                 "plan: %s %s keys on %s (%s protected, %s invalid lines, %s duplicates%s); nothing sent\n"
                 "to run exactly this plan, repeat the command with --confirm %s instead of --plan\n",
                 std::string{core::to_string(opts.act)}.c_str(), grouped(sel.hashes.size()).c_str(),
                 p.base.canonical.c_str(), grouped(sel.protected_count).c_str(), grouped(sel.invalid).c_str(),
                 grouped(sel.duplicates).c_str(),
                 opts.shard.count > 1 ? (", shard " + opts.shard_text).c_str() : "", digest.c_str());
  }
  return sel.invalid == 0 ? exit_ok : exit_incomplete;
}

namespace {

// A pre-run step's failure: the exit code and what to tell the user (already said when empty).
struct step_failure {
  int code;
  std::string message;
};
using step_result = std::optional<step_failure>;

// A stop signal that a pre-run network step watched for (the others end the process at once, see
// app/stop_signals.hpp): exit 130, nothing sent after it.
step_failure stopped_before_run() {
  return {exit_interrupted, std::string{stop_word(last_stop_signal())} +
                                " before the run began: no key was changed and no report was written"};
}

// --confirm: the input must select exactly the confirmed set; it becomes the run's plan.
step_result check_confirmed_plan(const options& opts, prepared& p) {
  selection_result sel = read_selection(opts, p.selection.protect.empty() ? nullptr : &p.selection.protect);
  if (!sel.error.empty()) return step_failure{exit_usage, sel.error};
  const std::string digest = core::plan_digest(opts.act, p.base.canonical, sel.hashes);
  if (digest != *opts.confirm) {
    return step_failure{exit_usage,
                        "the input does not match the confirmed plan: it selects " + grouped(sel.hashes.size()) +
                            " keys to " + std::string{core::to_string(opts.act)} + " on " + p.base.canonical +
                            " with digest\n  " + digest + "\nnot the confirmed\n  " + *opts.confirm +
                            "\nnothing sent (check the input files, --shard, --protect, the action and --base-url; "
                            "run --plan again to review)"};
  }
  p.selection.plan.emplace();
  for (const core::key_hash& h : sel.hashes) p.selection.plan->insert(h);
  return std::nullopt;
}

// --protect: the key this run uses is never revoked by it, when the API says which key that is. A
// guard at run time (after the plan check): a plan cannot know it without the key.
step_result protect_own_key(const options& opts, prepared& p, const core::route& route, asio::ssl::context& tls,
                            const std::string& key) {
  own_key_result own = fetch_own_key_hash(p.base, route, tls, key, opts.timeout_s, opts.max_attempts);
  if (own.abort_code == exit_interrupted) return stopped_before_run();
  if (own.abort_code != 0) return step_failure{own.abort_code, "aborted before sending anything: " + own.note};
  if (own.hash) {
    p.selection.protect.insert(*own.hash);
  } else if (!own.note.empty() && !opts.quiet) {
    std::fprintf(stderr, "keyrevoke: warning: %s\n", own.note.c_str());
  }
  return std::nullopt;
}

// --resume continues the same action: resuming a --disable report with a delete (or the other way)
// would skip hashes whose rows say something else was done to them.
step_result check_resumed_action(const options& opts, const core::resume_scan& scan, const core::base_url& base) {
  // The same server too: hashes done on one server are not done on another (a report names the base
  // URL in its header rows since keyrevoke-plan-v2; older reports do not, and are not checked).
  if (scan.mixed_base_urls || (!scan.base_url.empty() && scan.base_url != base.canonical)) {
    return step_failure{exit_usage, "'" + opts.report + "' is the report of a run against " +
                                        (scan.mixed_base_urls ? std::string{"several servers"} : scan.base_url) +
                                        ", not " + base.canonical +
                                        "; --resume continues against the same --base-url (nothing sent)"};
  }
  const std::string_view previous = scan.headers == 0 ? std::string_view{"delete"} : std::string_view{scan.action};
  if (!scan.mixed_actions && previous == core::to_string(opts.act)) return std::nullopt;
  return step_failure{exit_usage, "'" + opts.report + "' is the report of a " +
                                      (scan.mixed_actions ? std::string{"mixed"} : std::string{previous}) +
                                      " run; --resume continues the same action, so this " +
                                      std::string{core::to_string(opts.act)} +
                                      " run needs a report of its own (--report)"};
}

// Inputs are checked before the report is touched: a typo in a file name must not create or
// truncate anything.
step_result check_inputs(const options& opts) {
  input_reader probe{opts.inputs, input_filter{}};
  if (std::string error = probe.open_all(); !error.empty()) return step_failure{exit_usage, error};
  if (opts.trace_file) {  // --trace FILE: a path that cannot be written is found before anything is
    asio::io_context unused;
    run_trace trace_check{unused, {}, nullptr};
    if (std::string error = trace_check.open(*opts.trace_file); !error.empty())
      return step_failure{exit_usage, error};
  }
  if (opts.confirm && !probe.inputs_are_files()) {
    return step_failure{exit_usage,
                        "--confirm reads the input twice (to check the plan, then to run it): give the hashes in a "
                        "file, not on stdin or a pipe"};
  }
  return std::nullopt;
}

int fail(const step_failure& f) {
  if (!f.message.empty()) std::fprintf(stderr, "keyrevoke: %s\n", f.message.c_str());
  return f.code;
}

}  // namespace

// The pre-run steps, in the order they run; any failure ends the run with its exit code before the
// report is opened (nothing sent, nothing written), except the own-key check's network errors. A stop
// signal ends them with exit 130 and nothing sent (at once, or the network steps after their request
// in flight is cut); from the report's opening on, the run's two-stage stop takes it.
namespace {

// run_revocation's steps; `started` is set once the run proper (which writes --summary-json and
// --metrics-file itself) takes over.
int prepare_and_run(const options& opts, const std::string& management_key, bool& started) {
  auto common = prepare_common(opts);  // --base-url, the --protect file
  if (auto* code = std::get_if<int>(&common)) return *code;
  prepared& p = std::get<prepared>(common);

  std::optional<asio::ssl::context> tls;
  try {
    tls.emplace(net::make_client_tls_context(opts.cacert));
  } catch (const std::exception& e) {
    return fail({exit_usage, e.what()});
  }
  if (step_result f = check_inputs(opts)) return fail(*f);
  // The network path; through a proxy, one CONNECT first: a proxy that refuses is exit 2, nothing sent.
  auto route = prepare_route(opts.network, p.base, opts.timeout_s, true);
  if (auto* failure = std::get_if<route_failure>(&route)) return fail({failure->code, failure->message});
  if (stop_requested()) return fail(stopped_before_run());
  if (p.protect && p.protect->has_globs()) {
    if (const int code = resolve_protect_globs(opts, *p.protect, management_key, p.selection.protect); code != exit_ok) {
      return code;
    }
    if (stop_requested()) return fail(stopped_before_run());
  }
  if (opts.confirm) {
    if (step_result f = check_confirmed_plan(opts, p)) return fail(*f);
  }
  if (opts.protect) {
    if (step_result f = protect_own_key(opts, p, std::get<core::route>(route), *tls, management_key)) return fail(*f);
    if (stop_requested()) return fail(stopped_before_run());
  }
  const std::vector<input_print> prints = fingerprint_inputs(opts.inputs);

  // From here a report exists: a stop no longer ends the process at once but goes to the run.
  defer_stops_until_exit();
  if (stop_requested()) return fail(stopped_before_run());

  const report_mode mode = opts.resume ? report_mode::resume : opts.force ? report_mode::overwrite : report_mode::create;
  core::resume_scan scan;
  auto opened = report_file::open(opts.report, mode, &scan, !opts.no_lock);
  if (auto* error = std::get_if<std::string>(&opened)) return fail({exit_usage, *error});
  if (opts.resume) {
    if (step_result f = check_resumed_action(opts, scan, p.base)) return fail(*f);
    if (!opts.quiet && scan.rows + scan.malformed_rows != 0) {
      std::fprintf(stderr, "keyrevoke: resuming '%s': %llu rows, %zu hashes already done%s\n", opts.report.c_str(),
                   static_cast<unsigned long long>(scan.rows), scan.done.size(),
                   scan.torn_tail ? " (a torn last line was cut)" : "");
      if (scan.voided_not_found != 0) {
        std::fprintf(stderr,
                     "keyrevoke: %llu not_found rows of a run that stopped as contradicted (its key route may "
                     "reach another API) are not counted as done: those hashes are sent again\n",
                     static_cast<unsigned long long>(scan.voided_not_found));
      }
    }
  }
  std::string header = header_row_text(opts, p.base, prints);
  started = true;
  return execute_revocation(opts, management_key, *tls, std::get<report_file>(std::move(opened)),
                            run_setup{std::move(p.base), std::move(p.selection), std::move(scan), std::move(header),
                                      std::get<core::route>(std::move(route))});
}

}  // namespace

int run_revocation(const options& opts, const std::string& management_key) {
  bool started = false;
  const int code = prepare_and_run(opts, management_key, started);
  if (!started) report_outputs_before_run(opts, code);
  return code;
}

void report_outputs_before_run(const options& opts, int code) {
  if (const std::string errors = write_run_outputs_before_run(opts, code); !errors.empty())
    std::fprintf(stderr, "keyrevoke: %s", errors.c_str());
}

}  // namespace keyrevoke::app
