#include "keyrevoke/core/protect_line.hpp"

#include "keyrevoke/core/glob.hpp"
#include "keyrevoke/core/redact.hpp"

namespace keyrevoke::core {

namespace {

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r");
  return text.substr(first, last - first + 1);
}

}  // namespace

std::variant<protect_line, std::string> parse_protect_line(std::string_view line) {
  const std::string_view text = trim(line);
  protect_line out;
  if (text.empty() || text.front() == '#') return out;
  std::string_view glob = text;
  if (glob.starts_with("name:")) glob = trim(glob.substr(5));
  if (glob.starts_with("label:")) glob = trim(glob.substr(6));
  const auto hash = parse_key_hash(text);
  if (const auto error = glob_error(glob); error && !hash) {
    return "not a hash or a valid glob (" + *error + ")";
  }
  if (glob.empty()) return std::string{"an empty glob"};
  if (hash) {
    out.what = protect_line::kind::hash;
    out.hash = *hash;
  } else if (text.starts_with("name:")) {
    out.what = protect_line::kind::name_glob;
    out.glob = glob;
  } else if (text.starts_with("label:")) {
    out.what = protect_line::kind::label_glob;
    out.glob = glob;
  } else if (looks_like_secret(text)) {
    return std::string{"looks like an API key, not a hash or a glob (not shown)"};
  } else {
    out.what = protect_line::kind::name_and_label_glob;
    out.glob = text;
  }
  return out;
}

}  // namespace keyrevoke::core
