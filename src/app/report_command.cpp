#include "keyrevoke/app/report_command.hpp"

#include <boost/program_options.hpp>
#include <cerrno>
#include <cstdio>
#include <sstream>
#include <system_error>

#include "keyrevoke/app/revoke.hpp"
#include "keyrevoke/core/redact.hpp"
#include "keyrevoke/core/report_merge.hpp"

namespace keyrevoke::app {

namespace po = boost::program_options;

namespace {

constexpr const char* report_usage_line =
    "usage: keyrevoke report [--format text|markdown|csv|json] FILE...   ('-' reads stdin)";

early_exit report_usage_error(const std::string& message) {
  return {exit_usage,
          "keyrevoke report: " + message + "\n" + report_usage_line + "\nTry 'keyrevoke report --help'.\n"};
}

// Feeds one file to the merger line by line, in 64 KiB reads. Returns an error sentence, or empty.
std::string merge_file(core::report_merger& merger, const std::string& name) {
  std::FILE* in = name == "-" ? stdin : std::fopen(name.c_str(), "rb");
  if (in == nullptr) {
    return "cannot read '" + core::safe_display(name) + "': " + std::generic_category().message(errno);
  }
  merger.begin_file(name == "-" ? std::string{"(stdin)"} : name);
  std::string pending;
  std::string error;
  char buffer[65536];
  for (;;) {
    const std::size_t n = std::fread(buffer, 1, sizeof buffer, in);
    if (n == 0) break;
    std::string_view chunk{buffer, n};
    while (error.empty() && !chunk.empty()) {
      const std::size_t newline = chunk.find('\n');
      if (newline == std::string_view::npos) {
        pending.append(chunk);
        break;
      }
      std::optional<std::string> bad;
      if (pending.empty()) {
        bad = merger.add_line(chunk.substr(0, newline), true);
      } else {
        pending.append(chunk.substr(0, newline));
        bad = merger.add_line(pending, true);
        pending.clear();
      }
      chunk.remove_prefix(newline + 1);
      if (bad) error = *bad;
    }
    if (!error.empty()) break;
  }
  const bool read_failed = std::ferror(in) != 0;
  const int read_errno = errno;
  if (in != stdin) std::fclose(in);
  if (!error.empty()) return error;
  if (read_failed)
    return "cannot read '" + core::safe_display(name) + "': " + std::generic_category().message(read_errno);
  if (!pending.empty()) {
    if (auto bad = merger.add_line(pending, false)) return *bad;
  }
  if (auto bad = merger.end_file()) return *bad;
  return {};
}

}  // namespace

std::variant<report_options, early_exit> parse_report_command_line(int argc, const char* const* argv) {
  report_options o;
  std::string format = "text";
  po::options_description general{"Options"};
  // clang-format off
  general.add_options()
    ("help,h", "show this help and exit")
    ("format", po::value(&format), "text (a terminal), markdown (an incident ticket), csv (one row per hash) "
                                   "or json (one object) [text]");
  // clang-format on
  po::options_description hidden;
  hidden.add_options()("file", po::value(&o.files));
  po::options_description all;
  all.add(general).add(hidden);
  po::positional_options_description positional;
  positional.add("file", -1);
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv)
                  .options(all)
                  .positional(positional)
                  .style(po::command_line_style::default_style & ~po::command_line_style::allow_guessing)
                  .run(),
              vm);
    po::notify(vm);
  } catch (const po::unknown_option& e) {
    std::string option = e.get_option_name();
    option = option.substr(0, option.find('='));
    std::vector<std::string> known;
    for (const auto& opt : all.options()) known.push_back(opt->long_name());
    return report_usage_error(unknown_option_message(option, known));
  } catch (const po::error_with_option_name& e) {
    return report_usage_error("invalid or missing value for option '" +
                              core::safe_display(e.get_option_name()) + "'");
  } catch (const po::error&) {
    return report_usage_error("invalid command line");
  }
  if (vm.count("help") != 0) {
    std::ostringstream text;
    text
        << report_usage_line
        << "\n\nReads one or more keyrevoke reports (a run and its --resume runs append to one report; each\n"
           "--shard runner writes its own) and prints the final state per hash: the latest row that showed\n"
           "the key's state (a later failed or not_attempted row never hides an earlier deleted one), "
           "counts\n"
           "by outcome, what is left grouped by reason, and the runs with their operators, times and "
           "options.\n"
           "It says when a run has no summary row (killed: rerun it with --resume) and when a shard of K/N\n"
           "has no report or two.\n\n"
        << general
        << "\nExit codes: 0 every hash done (or protected), every --verify proof verified, no invalid line, "
           "no\n"
           "run unfinished and no shard missing; 1 something is left (listed) or stdout could not be "
           "written;\n"
           "2 usage, an unreadable file, or a file that is not a keyrevoke report (FILE:LINE says where).\n";
    return early_exit{0, text.str()};
  }
  const auto parsed = core::parse_report_format(format);
  if (!parsed) return report_usage_error("--format takes text, markdown, csv or json");
  o.format = *parsed;
  if (o.files.empty()) return report_usage_error("name at least one report file");
  return o;
}

int run_report_command(int argc, const char* const* argv) {
  auto parsed = parse_report_command_line(argc, argv);
  if (auto* done = std::get_if<early_exit>(&parsed)) return show_early_exit(*done, "keyrevoke report");
  const report_options& o = std::get<report_options>(parsed);
  core::report_merger merger;
  for (const std::string& file : o.files) {
    if (std::string error = merge_file(merger, file); !error.empty()) {
      std::fprintf(stderr, "keyrevoke report: %s\n", error.c_str());
      return exit_usage;
    }
  }
  const core::merged_report merged = merger.finish();
  if (std::string error = write_stdout(core::render_report(merged, o.format)); !error.empty()) {
    std::fprintf(stderr, "keyrevoke report: %s\n", error.c_str());
    return exit_incomplete;
  }
  return merged.all_done() ? exit_ok : exit_incomplete;
}

}  // namespace keyrevoke::app
