#include "keyrevoke/app/list_command.hpp"

#include "keyrevoke/app/config_file.hpp"

#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <variant>

#include "keyrevoke/app/key_lister.hpp"
#include "keyrevoke/app/options.hpp"
#include "keyrevoke/app/revoke.hpp"
#include "keyrevoke/app/version.hpp"
#include "keyrevoke/core/glob.hpp"
#include "keyrevoke/core/key_filter.hpp"
#include "keyrevoke/core/redact.hpp"
#include "keyrevoke/core/timestamp.hpp"

namespace keyrevoke::app {

namespace po = boost::program_options;

namespace {

constexpr const char* list_usage_line =
    "usage: keyrevoke list [OPTIONS]   (prints matching key hashes, one per line)";

early_exit list_usage_error(const std::string& message) {
  return {exit_usage,
          "keyrevoke list: " + message + "\n" + list_usage_line + "\nTry 'keyrevoke list --help'.\n"};
}

// The options of `keyrevoke list`, bound to o and the two switches; three groups for --help.
struct list_descriptions {
  po::options_description general{"Options"};
  po::options_description filters{"Filters (all optional; a key must match every one given)"};
  po::options_description network{"Network paths (see README, Proxies and pinning)"};
};

void describe_list(list_descriptions& d, list_options& o, bool& only_disabled, bool& only_enabled) {
  // clang-format off
  d.filters.add_options()
    ("name", po::value<std::string>(), "name matches this glob (* ? [a-z] [!x] \\ escape; whole name, case-sensitive)")
    ("label", po::value<std::string>(), "label matches this glob")
    ("created-before", po::value<std::string>(), "created strictly before this ISO 8601 time (2026-11-24, "
                                                 "2026-11-24T10:00:00Z, ...+02:00; no zone: UTC) or this long "
                                                 "ago (7d, 36h, 90m, 45s, 2w, 1w2d)")
    ("created-after", po::value<std::string>(), "created at or after this time")
    ("updated-before", po::value<std::string>(), "updated strictly before this time (never-updated keys never match)")
    ("updated-after", po::value<std::string>(), "updated at or after this time")
    ("disabled", po::bool_switch(&only_disabled), "only disabled keys")
    ("enabled", po::bool_switch(&only_enabled), "only enabled keys")
    ("usage-above", po::value<double>(), "usage strictly greater than this number")
    ("usage-below", po::value<double>(), "usage strictly less than this number");
  d.general.add_options()
    ("help,h", "show this help and exit")
    ("version", "show the version and exit")
    ("config", po::value<std::string>(), "read options from this file: 'name = value' lines, the long "
                                         "names without '--'; the command line wins; the revoker's own "
                                         "options are skipped, so one file serves both (never the key)")
    ("json", po::bool_switch(&o.json), "print each matching key object as received, one JSON object per line")
    ("base-url", po::value(&o.lister.base_url), "API root (env MODELGATES_BASE_URL) [https://modelgates.ai/api/v1]")
    ("cacert", po::value<std::string>(), "extra trusted CA certificates (PEM), added to the system store")
    ("key-file", po::value<std::string>(), "read the management key from the first line of this file "
                                           "(default: env MODELGATES_MANAGEMENT_KEY)")
    ("rate", po::value(&o.lister.rate), "ceiling on requests per second [none]")
    ("max-attempts", po::value(&o.lister.max_attempts), "attempts per page, the first included [8]")
    ("timeout", po::value(&o.lister.timeout_s), "seconds per attempt: connect, TLS, write, read [30]")
    ("allow-insecure-http", po::bool_switch(&o.lister.allow_insecure_http), "allow an http:// base URL "
                                                                            "(local mocks only)")
    ("quiet,q", po::bool_switch(&o.lister.quiet), "no warnings and no summary on stderr");
  // clang-format on
  add_network_options(d.network);
}

}  // namespace

std::vector<std::string> list_option_names() {
  list_options o;
  bool only_disabled = false, only_enabled = false;
  list_descriptions d;
  describe_list(d, o, only_disabled, only_enabled);
  std::vector<std::string> names;
  for (const auto* group : {&d.general, &d.filters, &d.network}) {
    for (const auto& option : group->options()) names.push_back(option->long_name());
  }
  return names;
}

std::variant<list_options, early_exit> parse_list_command_line(int argc, const char* const* argv,
                                                               const char* env_base_url) {
  list_options o;
  o.lister.base_url = "https://modelgates.ai/api/v1";
  if (env_base_url != nullptr && *env_base_url != '\0') o.lister.base_url = env_base_url;
  bool only_disabled = false, only_enabled = false;
  list_descriptions d;
  describe_list(d, o, only_disabled, only_enabled);
  const po::options_description& general = d.general;
  const po::options_description& filters = d.filters;
  const po::options_description& network = d.network;
  po::options_description all;
  all.add(general).add(filters).add(network);

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv)
                  .options(all)
                  .positional({})
                  // No abbreviations: "--key=..." must never be taken for "--key-file".
                  .style(po::command_line_style::default_style & ~po::command_line_style::allow_guessing)
                  .run(),
              vm);
    // --config FILE: stored after the command line, whose values win. The revoker's options in it are
    // skipped: one file can serve `keyrevoke list ... | keyrevoke ...`.
    if (vm.count("config") != 0) {
      if (auto error = store_config_file(vm["config"].as<std::string>(), all, vm, run_option_names()))
        return list_usage_error(*error);
    }
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    std::string option = e.get_option_name();
    option = option.substr(0, option.find('='));
    std::vector<std::string> known;
    for (const auto& opt : all.options()) known.push_back(opt->long_name());
    return list_usage_error(unknown_option_message(option, known));
  } catch (const po::too_many_positional_options_error&) {
    return list_usage_error("list takes no arguments, only options (a file named 'list' is ./list)");
  } catch (const po::error_with_option_name& e) {
    // Name the option, never its value: a key pasted in the wrong place must not be echoed.
    return list_usage_error("invalid or missing value for option '" +
                            core::safe_display(e.get_option_name()) + "'");
  } catch (const po::error&) {
    return list_usage_error("invalid command line");
  }

  if (vm.count("help") != 0) {
    std::ostringstream text;
    text << list_usage_line
         << "\n\nLists ModelGates API keys (disabled ones included) and prints the hash of "
         << "each key that matches\nevery filter given, one per line, flushed after each page: it pipes into "
         << "keyrevoke.\n  keyrevoke list --label 'ci-*' --created-before 2026-11-24 | keyrevoke --report "
            "r.jsonl\n"
         << "Keys deleted while the list is read never make it skip another key; each hash is printed once.\n"
         << "Pages may be of any size the server chooses: only an empty page, proven, ends the listing.\n"
         << "The management key comes from env MODELGATES_MANAGEMENT_KEY or --key-file, never the command "
            "line.\n\n"
         << general << "\n"
         << filters << "\n"
         << network
         << "\nExit codes: 0 listing complete, 1 listing incomplete (a page failed, the list kept "
            "changing,\nor standard output could not be written),\n"
         << "2 usage or configuration error (or an answer that is not the key API's: check --base-url),\n"
         << "3 key rejected or TLS not trusted, 130 interrupted.\n";
    return early_exit{0, text.str()};
  }
  if (vm.count("version") != 0) return early_exit{0, version_text()};

  if (vm.count("cacert") != 0) o.lister.cacert = vm["cacert"].as<std::string>();
  if (vm.count("key-file") != 0) o.key_file = vm["key-file"].as<std::string>();
  if (auto error = read_network_options(vm, o.lister.network)) return list_usage_error(*error);
  for (const char* option : {"name", "label"}) {
    if (vm.count(option) == 0) continue;
    const std::string& pattern = vm[option].as<std::string>();
    if (const auto error = core::glob_error(pattern))
      return list_usage_error(std::string{"--"} + option + ": " + *error);
    (std::strcmp(option, "name") == 0 ? o.filter.name_glob : o.filter.label_glob) = pattern;
  }
  struct time_option {
    const char* name;
    std::optional<core::unix_micros>& target;
  };
  const time_option times[] = {{"created-before", o.filter.created_before},
                               {"created-after", o.filter.created_after},
                               {"updated-before", o.filter.updated_before},
                               {"updated-after", o.filter.updated_after}};
  // Ages ("7d") count back from one reading of the clock, taken before the listing starts.
  const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  for (const time_option& t : times) {
    if (vm.count(t.name) == 0) continue;
    t.target = core::parse_time_or_age(vm[t.name].as<std::string>(), now);
    if (t.target && !core::parse_timestamp(vm[t.name].as<std::string>())) o.lister.ages_from_local_clock = true;
    if (!t.target) {
      return list_usage_error(std::string{"--"} + t.name +
                              " takes an ISO 8601 time (2026-11-24, 2026-11-24T10:00:00Z, "
                              "2026-11-24T10:00:00+02:00) or an age (7d, 36h, 90m, 45s, 2w, 1w2d)");
    }
  }
  if (only_disabled && only_enabled)
    return list_usage_error("--disabled and --enabled contradict each other");
  if (only_disabled) o.filter.disabled = true;
  if (only_enabled) o.filter.disabled = false;
  for (const char* option : {"usage-above", "usage-below"}) {
    if (vm.count(option) == 0) continue;
    const double value = vm[option].as<double>();
    if (!std::isfinite(value)) return list_usage_error(std::string{"--"} + option + " takes a finite number");
    (std::strcmp(option, "usage-above") == 0 ? o.filter.usage_above : o.filter.usage_below) = value;
  }
  if (!(o.lister.rate >= 0.0) || o.lister.rate > 1e6)
    return list_usage_error("--rate must be 0 (none) to 1000000");
  if (o.lister.max_attempts < 1 || o.lister.max_attempts > 100)
    return list_usage_error("--max-attempts must be 1 to 100");
  if (!(o.lister.timeout_s > 0.0) || o.lister.timeout_s > 3600.0) {
    return list_usage_error("--timeout must be in (0, 3600] seconds");
  }
  return o;
}

int run_list_command(int argc, const char* const* argv, const char* env_base_url, const char* env_key) {
  auto parsed = parse_list_command_line(argc, argv, env_base_url);
  if (auto* done = std::get_if<early_exit>(&parsed)) return show_early_exit(*done, "keyrevoke list");
  const list_options& o = std::get<list_options>(parsed);

  options for_key;  // load_management_key reads --key-file or the environment, as the revoker does
  for_key.key_file = o.key_file;
  auto key = load_management_key(for_key, env_key);
  if (auto* failed = std::get_if<early_exit>(&key)) {
    std::fputs(failed->text.c_str(), stderr);
    return failed->code;
  }
  const std::string& management_key = std::get<std::string>(key);
  core::set_known_secret(management_key);  // never shown, whatever its shape (core::safe_display)

  std::uint64_t matched = 0;
  std::string out;
  std::string output_error;
  const detailed_key_callback on_key = [&](const listed_key& k, const core::key_fields& fields) {
    if (!o.filter.matches(fields)) return;
    ++matched;
    if (o.json) {
      out += k.json;
    } else {
      out += core::to_hex(k.hash);
    }
    out += '\n';
  };
  // Each page goes out whole and flushed: the revoker downstream starts on it while the next is fetched.
  const std::function<bool()> on_page_done = [&]() {
    if (!out.empty()) {
      output_error = write_stdout(out);
      if (!output_error.empty()) return false;
      out.clear();
    }
    return true;
  };
  list_result result = list_keys_detailed(o.lister, management_key, on_key, on_page_done, true);
  on_page_done();  // whatever the last (possibly interrupted) page delivered

  int code = result.exit_code;
  std::string error = result.error;
  if (!output_error.empty()) {
    code = exit_incomplete;
    error = output_error + "; the listing is incomplete";
  }
  if (code != exit_ok) {
    core::redact_secret(error, management_key);
    std::fprintf(stderr, "keyrevoke list: %s\n", error.c_str());
  }
  if (!o.lister.quiet) {
    std::fprintf(
        stderr,
        "keyrevoke list: %s: %llu pages, %llu requests, %llu keys seen, %llu matched, %llu throttled\n",
        code == exit_ok ? "complete" : "INCOMPLETE", static_cast<unsigned long long>(result.pages),
        static_cast<unsigned long long>(result.requests), static_cast<unsigned long long>(result.keys_seen),
        static_cast<unsigned long long>(matched), static_cast<unsigned long long>(result.throttled));
  }
  return code;
}

}  // namespace keyrevoke::app
