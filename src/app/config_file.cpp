#include "keyrevoke/app/config_file.hpp"

#include <algorithm>
#include <boost/program_options/errors.hpp>
#include <boost/program_options/parsers.hpp>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>
#include <string_view>

#include "keyrevoke/core/redact.hpp"

namespace keyrevoke::app {

namespace po = boost::program_options;

namespace {

// Options that only make sense on the command line.
bool command_line_only(std::string_view name) {
  return name == "help" || name == "version" || name == "config";
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

// A name someone would use for the management key itself (key, management-key, api_key, TOKEN...).
bool names_the_key(std::string_view name) {
  std::string n;
  for (const char c : name)
    n += c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const auto ends_with = [&n](std::string_view tail) {
    return n.size() >= tail.size() && n.compare(n.size() - tail.size(), tail.size(), tail) == 0;
  };
  return n == "key" || ends_with("-key") || n == "token" || ends_with("-token") || n == "secret" ||
         n == "password" || n == "authorization";
}

// The name as the error may show it: short and shaped like an option, or not at all.
std::string shown_name(std::string_view name) {
  const bool option_shaped =
      !name.empty() && name.size() <= 32 && std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '_';
      });
  if (!option_shaped || core::looks_like_secret(name)) return {};
  return " '" + std::string{name} + "'";
}

}  // namespace

std::optional<std::string> store_config_file(const std::string& path,
                                             const po::options_description& command_options,
                                             po::variables_map& vm,
                                             const std::vector<std::string>& other_command_options) {
  const std::string file = core::safe_display(path);
  std::ifstream in{path};
  if (!in) return "cannot read config file '" + file + "': " + std::strerror(errno);

  po::options_description file_options;
  for (const auto& option : command_options.options()) {
    if (!command_line_only(option->long_name())) file_options.add(option);
  }

  // The lines are checked here first, so that an error names its line and never echoes it; the
  // parser then reads the same text.
  std::ostringstream text;
  std::map<std::string, int> line_of;  // option name -> its first line
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    const std::string where = "config file '" + file + "', line " + std::to_string(number);
    std::string_view content = line;
    content = trim(content.substr(0, content.find('#')));
    if (content.empty()) {
      text << '\n';
      continue;
    }
    if (content.front() == '[') return where + ": sections are not supported (one 'name = value' per line)";
    const auto equals = content.find('=');
    if (equals == std::string_view::npos) return where + ": expected 'name = value'";
    const std::string_view name = trim(content.substr(0, equals));
    if (names_the_key(name)) {
      return where +
             ": the management key is never read from a config file; use env "
             "MODELGATES_MANAGEMENT_KEY or 'key-file = PATH'";
    }
    if (command_line_only(name))
      return where + ": '" + std::string{name} + "' only works on the command line";
    if (file_options.find_nothrow(std::string{name}, false) == nullptr) {
      if (std::find(other_command_options.begin(), other_command_options.end(), name) !=
          other_command_options.end()) {
        text << '\n';  // the other command's option: skipped here
        continue;
      }
      return where + ": unknown option" + shown_name(name) +
             " (the names are the long options of --help, without '--')";
    }
    line_of.try_emplace(std::string{name}, number);
    text << line << '\n';
  }
  if (in.bad()) return "cannot read config file '" + file + "'";

  std::istringstream parsed_text{text.str()};
  try {
    po::store(po::parse_config_file(parsed_text, file_options, false), vm);
  } catch (const po::error_with_option_name& e) {
    // Name the option and its line, never its value.
    std::string name = e.get_option_name();
    name.erase(0, name.find_first_not_of('-'));
    const auto found = line_of.find(name);
    const std::string where = "config file '" + file + "'" +
                              (found == line_of.end() ? "" : ", line " + std::to_string(found->second));
    if (dynamic_cast<const po::multiple_occurrences*>(&e) != nullptr) {
      return where + ": option" + shown_name(name) + " is given more than once";
    }
    return where + ": invalid value for option" + shown_name(name);
  } catch (const po::error&) {
    return "config file '" + file + "': not a valid config file (one 'name = value' per line)";
  }
  return std::nullopt;
}

}  // namespace keyrevoke::app
