#include "keyrevoke/core/trace_format.hpp"

#include <cctype>
#include <cstdio>

namespace keyrevoke::core {

namespace {

bool is_hex(char c) noexcept {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

void append_printable(std::string& out, std::string_view text) {
  for (const char ch : text) {
    const auto byte = static_cast<unsigned char>(ch);
    if ((byte >= 0x20 && byte < 0x7f) || ch == '\t') {
      out.push_back(ch);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", static_cast<unsigned>(byte));
      out += buf;
    }
  }
}

std::string milliseconds(double ms) {
  char buf[48];
  std::snprintf(buf, sizeof buf, ms < 10 ? "%.1f ms" : "%.0f ms", ms >= 0 && ms < 1e12 ? ms : 0.0);
  return buf;
}

}  // namespace

std::string printable(std::string_view text) {
  std::string out;
  for (const char ch : text) {
    const auto byte = static_cast<unsigned char>(ch);
    if (byte >= 0x20 && byte < 0x7f) {
      out.push_back(ch);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", static_cast<unsigned>(byte));
      out += buf;
    }
  }
  return out;
}

std::string shorten_hashes(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    std::size_t run = 0;
    while (i + run < text.size() && is_hex(text[i + run])) ++run;
    if (run == 64) {
      out.append(text.substr(i, 8)).append("..");
    } else {
      out.append(text.substr(i, run == 0 ? 1 : run));
    }
    i += run == 0 ? 1 : run;
  }
  return out;
}

std::string redact_header_block(std::string_view block) {
  std::string out;
  std::size_t pos = 0;
  bool first = true;
  while (pos < block.size()) {
    std::size_t end = block.find('\n', pos);
    if (end == std::string_view::npos) end = block.size();
    std::string_view line = block.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) break;  // the header's end: no body
    const std::size_t colon = first ? std::string_view::npos : line.find(':');
    first = false;
    if (colon != std::string_view::npos) {
      std::string_view name = line.substr(0, colon);
      while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.remove_suffix(1);
      if (iequals(name, "authorization") || iequals(name, "proxy-authorization")) {
        append_printable(out, line.substr(0, colon + 1));
        out += ' ';
        out += credential_placeholder;
        out += '\n';
        continue;
      }
    }
    append_printable(out, line);
    out += '\n';
  }
  return out;
}

std::pair<std::string_view, std::string_view> request_line(std::string_view request) {
  const std::size_t end = request.find_first_of("\r\n");
  const std::string_view line = request.substr(0, end);
  const std::size_t space = line.find(' ');
  if (space == std::string_view::npos) return {};
  const std::size_t second = line.find(' ', space + 1);
  return {
      line.substr(0, space),
      line.substr(space + 1, second == std::string_view::npos ? std::string_view::npos : second - space - 1)};
}

std::string exchange_line(const exchange_summary& e) {
  std::string line;
  append_printable(line, e.method);
  line += ' ';
  append_printable(line, shorten_hashes(e.target));
  line += ' ';
  line += e.status != 0 ? std::to_string(e.status) : std::string{"no answer"};
  if (!e.error.empty()) {
    line += " (";
    append_printable(line, e.error);
    line += ')';
  }
  for (const auto& [name, value] : e.rate_fields) {
    line += ' ';
    append_printable(line, name);
    line += '=';
    append_printable(line, value.substr(0, 80));
  }
  line += ' ';
  line += milliseconds(e.ms);
  if (e.connection != 0) {
    line += " conn #" + std::to_string(e.connection);
    line += e.reused ? " reused" : " new";
    if (e.tls && !e.reused) line += e.tls_resumed ? ", TLS resumed" : ", TLS full handshake";
  }
  return line;
}

std::string dial_line(const dial_summary& d) {
  std::string line = "connect ";
  append_printable(line, d.address);
  if (!d.error.empty()) {
    line += ": failed: ";
    append_printable(line, d.error);
    line += ", " + milliseconds(d.ms);
    return line;
  }
  line += " (conn #" + std::to_string(d.connection) + "): ";
  if (d.tls) {
    append_printable(line, d.tls_version);
    line += d.tls_resumed ? " resumed" : " full handshake";
  } else {
    line += "plain HTTP";
  }
  line += ", " + milliseconds(d.ms);
  return line;
}

}  // namespace keyrevoke::core
