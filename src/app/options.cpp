#include "keyrevoke/app/options.hpp"

#include "keyrevoke/app/config_file.hpp"
#include "keyrevoke/app/list_command.hpp"
#include "keyrevoke/app/version.hpp"
#include "keyrevoke/core/nearest_name.hpp"
#include "keyrevoke/core/redact.hpp"

#include <boost/program_options.hpp>

#include <sstream>

namespace keyrevoke::app {

namespace po = boost::program_options;

namespace {

constexpr const char* usage_line = "usage: keyrevoke [OPTIONS] [FILE ...]   (no FILE, or '-', reads stdin)";

po::options_description describe(options& o, std::string& progress) {
  po::options_description incident{"Incident workflow (see README, Runbook)"};
  // clang-format off
  incident.add_options()
    ("disable", "contain instead of delete: PATCH each key {\"disabled\": true} (reversible)")
    ("enable", "undo --disable: PATCH each key {\"disabled\": false}")
    ("verify", po::bool_switch(&o.verify), "prove each action with GET /keys/{hash} (404, or the "
                                           "disabled state) and record the proof in the report")
    ("protect", po::value<std::string>(), "never touch these keys even if listed: a file of hashes and "
                                          "name/label globs (globs need one listing of the keys)")
    ("plan", po::bool_switch(&o.plan), "print what would be done and the plan's digest; send nothing")
    ("confirm", po::value<std::string>(), "act only if the input's selection has exactly this plan digest "
                                          "(from --plan); input must be files")
    ("shard", po::value(&o.shard_text), "take only share K of N of the input (stable, hash-based; "
                                        "K from 1 to N), for N runners splitting one list");
  // clang-format on
  po::options_description desc{"Options"};
  // clang-format off
  desc.add_options()
    ("help,h", "show this help and exit")
    ("version", "show the version and exit")
    ("config", po::value<std::string>(), "read options from this file: 'name = value' lines, the long "
                                         "names below without '--' (# comments; switches: verify = true); "
                                         "the command line wins; never the key")
    ("base-url", po::value(&o.base_url), "API root (env MODELGATES_BASE_URL) [https://modelgates.ai/api/v1]")
    ("cacert", po::value<std::string>(), "extra trusted CA certificates (PEM), added to the system store")
    ("key-file", po::value<std::string>(), "read the management key from the first line of this file "
                                           "(default: env MODELGATES_MANAGEMENT_KEY)")
    ("report", po::value(&o.report), "JSON Lines report [keyrevoke-report.jsonl]")
    ("resume", po::bool_switch(&o.resume), "append to an existing report of the same action; hashes "
                                           "already done there (deleted/disabled/enabled, not_found) "
                                           "are skipped")
    ("force", po::bool_switch(&o.force), "overwrite an existing report")
    ("no-lock", po::bool_switch(&o.no_lock), "do not lock the report (for file systems without locking): "
                                            "only when you know no other run writes this report")
    ("allow-empty", po::bool_switch(&o.allow_empty), "accept an input without any hash (empty, or only blank "
                                                     "lines and comments); without it, that is exit 2")
    ("concurrency", po::value(&o.concurrency), "ceiling on requests in flight and open connections [16]")
    ("rate", po::value(&o.rate), "ceiling on requests per second [none]")
    ("max-attempts", po::value(&o.max_attempts),
     "attempts per hash, the first included [8]; throttled answers count toward 4 x N, failed dials and "
     "failures during an outage toward none (a row's attempts may exceed N)")
    ("timeout", po::value(&o.timeout_s), "seconds per attempt: connect, TLS, write, read [30]")
    ("give-up-after", po::value(&o.give_up_after_s), "seconds without any answer from a failing "
                                                     "server before the run gives up [300]")
    ("dry-run", po::bool_switch(&o.dry_run), "validate the input and print counts; send nothing")
    ("progress", po::value(&progress), "live progress on stderr: auto|always|never [auto]")
    ("allow-insecure-http", po::bool_switch(&o.allow_insecure_http), "allow an http:// base URL "
                                                                     "(local mocks only)")
    ("quiet,q", po::bool_switch(&o.quiet), "no progress and no warnings; the summary is one line");
  // clang-format on
  po::options_description scheduled{"Scheduled runs (see README, Scheduled runs)"};
  // clang-format off
  scheduled.add_options()
    ("summary-json", po::value<std::string>(), "at the end (any exit code), write the summary as one JSON "
                                               "object to FILE (atomically: temp file, fsync, rename)")
    ("metrics-file", po::value<std::string>(), "at the end (any exit code), write Prometheus metrics to FILE "
                                               "(text format, for node_exporter's textfile collector; atomically)");
  // clang-format on
  po::options_description tracing{"Tracing (the management key is never written)"};
  // clang-format off
  tracing.add_options()
    ("verbose,v", po::bool_switch(&o.verbose), "a line on stderr per request (method, path, status, rate-limit "
                                              "header fields, ms, connection) and per connection opened")
    ("trace", po::value<std::string>(), "write every request's and answer's header fields to this file "
                                        "(Authorization values replaced)");
  // clang-format on
  desc.add(tracing);
  desc.add(incident);
  desc.add(scheduled);
  po::options_description network{"Network paths (see README, Proxies and pinning)"};
  add_network_options(network);
  desc.add(network);
  return desc;
}

early_exit usage_error(const std::string& message) {
  return {2, "keyrevoke: " + message + "\n" + usage_line + "\nTry 'keyrevoke --help'.\n"};
}

}  // namespace

void add_network_options(po::options_description& desc) {
  // clang-format off
  desc.add_options()
    ("proxy", po::value<std::string>(), "HTTP proxy: [http://][user@]host[:port] (port 1080 if none); TLS to the "
                                        "server goes inside its CONNECT tunnel. Overrides env https_proxy/"
                                        "HTTPS_PROXY/all_proxy/ALL_PROXY; '' for none")
    ("noproxy", po::value<std::string>(), "comma-separated hosts that bypass the proxy (domains and their "
                                          "subdomains, IPs, CIDR; '*' all); overrides env no_proxy/NO_PROXY")
    ("proxy-user-file", po::value<std::string>(), "proxy credentials: the first line of this file, user:password "
                                                  "(sent as Proxy-Authorization: Basic; never printed)")
    ("connect-to", po::value<std::vector<std::string>>()->composing(),
     "HOST:PORT:HOST2:PORT2: connect to HOST2:PORT2 instead (TLS still checks HOST); empty HOST/PORT match "
     "any, empty HOST2/PORT2 keep the original; repeatable, first match wins")
    ("resolve", po::value<std::vector<std::string>>()->composing(),
     "HOST:PORT:ADDR[,ADDR...]: use these addresses for HOST:PORT instead of DNS (HOST '*': any host); "
     "repeatable");
  // clang-format on
}

std::optional<std::string> read_network_options(const po::variables_map& vm, network_options& out) {
  if (vm.count("proxy") != 0) {
    out.proxy = vm["proxy"].as<std::string>();
    if (!out.proxy->empty()) {
      // Checked now: a bad URL is a usage error, and a password here is already in `ps` (say so).
      const auto parsed = core::parse_proxy_url(*out.proxy);
      if (const auto* error = std::get_if<std::string>(&parsed)) return "--proxy: " + *error;
      const auto& credentials = std::get<core::proxy_url>(parsed).credentials;
      if (credentials && !credentials->password.empty()) {
        return std::string{"--proxy: a password on the command line shows in `ps`; put user:password in "
                           "--proxy-user-file (or the proxy URL in HTTPS_PROXY)"};
      }
    }
  }
  if (vm.count("noproxy") != 0) out.noproxy = vm["noproxy"].as<std::string>();
  if (vm.count("proxy-user-file") != 0) {
    out.proxy_user_file = vm["proxy-user-file"].as<std::string>();
    if (out.proxy_user_file->empty()) return std::string{"--proxy-user-file needs a file name"};
  }
  if (vm.count("connect-to") != 0) {
    for (const std::string& text : vm["connect-to"].as<std::vector<std::string>>()) {
      auto rule = core::parse_connect_to(text);
      if (auto* error = std::get_if<std::string>(&rule)) return *error;
      out.connect_to.push_back(std::get<core::connect_to_rule>(std::move(rule)));
    }
  }
  if (vm.count("resolve") != 0) {
    for (const std::string& text : vm["resolve"].as<std::vector<std::string>>()) {
      auto rule = core::parse_resolve(text);
      if (auto* error = std::get_if<std::string>(&rule)) return *error;
      out.resolve.push_back(std::get<core::resolve_rule>(std::move(rule)));
    }
  }
  return std::nullopt;
}

std::string unknown_option_message(const std::string& typed, const std::vector<std::string>& known) {
  std::string message = "unknown option '" + core::safe_display(typed) + "'";
  if (typed.rfind("--", 0) != 0) return message;  // a short option: one letter says too little
  std::vector<std::string> names;
  for (const std::string& name : known) {
    if (!name.empty() && name != "input") names.push_back(name);
  }
  const std::string nearest = core::nearest_name(std::string_view{typed}.substr(2), names);
  if (!nearest.empty()) message += "; did you mean '--" + nearest + "'?";
  return message;
}

std::vector<std::string> run_option_names() {
  options o;
  std::string progress;
  const po::options_description desc = describe(o, progress);  // named: .options() refers into it
  std::vector<std::string> names;
  for (const auto& option : desc.options()) names.push_back(option->long_name());
  return names;
}

std::variant<options, early_exit> parse_command_line(int argc, const char* const* argv,
                                                     const char* env_base_url) {
  options o;
  if (env_base_url != nullptr && *env_base_url != '\0') o.base_url = env_base_url;
  std::string progress = "auto";
  po::options_description desc = describe(o, progress);
  po::options_description hidden;
  hidden.add_options()("input", po::value(&o.inputs));
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description positional;
  positional.add("input", -1);

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv)
                      .options(all)
                      .positional(positional)
                      // No abbreviations: "--key=..." must never be taken for "--key-file".
                      .style(po::command_line_style::default_style & ~po::command_line_style::allow_guessing)
                      .run(), vm);
    // --config FILE: stored after the command line, whose values win (po::store keeps the first).
    if (vm.count("config") != 0) {
      if (auto error = store_config_file(vm["config"].as<std::string>(), desc, vm, list_option_names()))
        return usage_error(*error);
    }
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    // Never echo a value: "--key=sk-..." must not print the key.
    std::string name = e.get_option_name();
    name = name.substr(0, name.find('='));
    std::vector<std::string> known;
    for (const auto& option : all.options()) known.push_back(option->long_name());
    return usage_error(unknown_option_message(name, known));
  } catch (const po::error_with_option_name& e) {
    // Name the option, never its value: a key pasted in the wrong place must not be echoed.
    return usage_error("invalid or missing value for option '" + core::safe_display(e.get_option_name()) + "'");
  } catch (const po::error& e) {
    return usage_error(e.what());
  }

  if (vm.count("help") != 0) {
    std::ostringstream text;
    text << usage_line << "\n\nDeletes ModelGates API keys by hash, one per line, and writes a per-hash "
         << "report.\nThe management key comes from env MODELGATES_MANAGEMENT_KEY or --key-file, "
         << "never the command line.\n"
         << "To select keys by label, name, age or usage first: keyrevoke list --help\n"
         << "To read reports (the final state per hash across runs and shards): keyrevoke report --help\n\n"
         << desc << "\nExit codes: 0 all done;\n"
         << "1 some hash failed or unproven, invalid lines, or the report or the output could not be\n"
         << "  written (or the report was removed mid-run: the last line says where its rows are);\n"
         << "2 usage or configuration error, an input without any hash (see --allow-empty), or\n"
         << "  --base-url is not the API (nothing sent); 3 aborted (key rejected or TLS not trusted);\n"
         << "4 the server could not be reached or kept failing for --give-up-after (rerun with --resume);\n"
         << "130 interrupted. The last line on stderr says why.\n";
    return early_exit{0, text.str()};
  }
  if (vm.count("version") != 0) return early_exit{0, version_text()};

  if (vm.count("cacert") != 0) o.cacert = vm["cacert"].as<std::string>();
  if (vm.count("key-file") != 0) o.key_file = vm["key-file"].as<std::string>();
  if (auto error = read_network_options(vm, o.network)) return usage_error(*error);
  if (vm.count("disable") != 0 && vm.count("enable") != 0) return usage_error("--disable and --enable contradict each other");
  if (vm.count("disable") != 0) o.act = core::action::disable;
  if (vm.count("enable") != 0) o.act = core::action::enable;
  if (vm.count("protect") != 0) {
    o.protect = vm["protect"].as<std::string>();
    if (o.protect->empty()) return usage_error("--protect needs a file name");
  }
  if (vm.count("confirm") != 0) {
    std::string digest = vm["confirm"].as<std::string>();
    if (digest.rfind("sha256:", 0) != 0) digest = "sha256:" + digest;
    const bool hex = digest.size() == 7 + 64 &&
                     digest.find_first_not_of("0123456789abcdef", 7) == std::string::npos;
    if (!hex) return usage_error("--confirm takes the digest --plan printed: sha256: and 64 lower-case hex digits");
    o.confirm = std::move(digest);
  }
  if (!o.shard_text.empty() || vm.count("shard") != 0) {
    const auto shard = core::parse_shard(o.shard_text);
    if (!shard) return usage_error("--shard takes K/N with 1 <= K <= N <= 65536 (e.g. 1/4 ... 4/4)");
    o.shard = *shard;
  }
  for (const char* name : {"summary-json", "metrics-file"}) {
    if (vm.count(name) == 0) continue;
    const std::string& file = vm[name].as<std::string>();
    if (file.empty() || file.back() == '/') return usage_error(std::string{"--"} + name + " needs a file name");
    if (file == o.report) return usage_error(std::string{"--"} + name + " must not be the report");
    (std::string_view{name} == "summary-json" ? o.summary_json : o.metrics_file) = file;
  }
  if (o.summary_json && o.summary_json == o.metrics_file) {
    return usage_error("--summary-json and --metrics-file need two different files");
  }
  if (o.plan && o.confirm) return usage_error("--plan and --confirm are two steps: run --plan first, then --confirm");
  if (o.plan && o.dry_run) return usage_error("--plan and --dry-run: choose one (--plan also validates)");
  if (o.dry_run && o.confirm) return usage_error("--dry-run and --confirm contradict each other");
  if (progress == "auto") {
    o.progress = progress_mode::automatic;
  } else if (progress == "always") {
    o.progress = progress_mode::always;
  } else if (progress == "never") {
    o.progress = progress_mode::never;
  } else {
    return usage_error("--progress takes auto, always or never");
  }
  if (o.quiet && o.verbose) return usage_error("--quiet and --verbose contradict each other");
  if (o.quiet) o.progress = progress_mode::never;
  if (o.resume && o.force) return usage_error("--resume and --force contradict each other");
  if (o.concurrency < 1 || o.concurrency > 4096) return usage_error("--concurrency must be 1 to 4096");
  if (!(o.rate >= 0.0) || o.rate > 1e6) return usage_error("--rate must be 0 (none) to 1000000");
  if (o.max_attempts < 1 || o.max_attempts > 100) return usage_error("--max-attempts must be 1 to 100");
  if (!(o.timeout_s > 0.0) || o.timeout_s > 3600.0) return usage_error("--timeout must be in (0, 3600] seconds");
  if (!(o.give_up_after_s > 0.0)) return usage_error("--give-up-after must be positive");
  if (o.report.empty()) return usage_error("--report needs a file name");
  if (vm.count("trace") != 0) {
    o.trace_file = vm["trace"].as<std::string>();
    if (o.trace_file->empty()) return usage_error("--trace needs a file name");
  }
  return o;
}

}  // namespace keyrevoke::app
