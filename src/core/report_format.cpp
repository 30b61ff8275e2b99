#include "keyrevoke/core/report_format.hpp"

#include <charconv>
#include <cmath>
#include <cstdio>

#include "keyrevoke/core/report_row.hpp"

namespace keyrevoke::core {
namespace {

constexpr std::size_t max_listed_invalid = 50;

std::string number(std::uint64_t n) { return std::to_string(n); }

// "null" for what no number prints: a report's "elapsed_s":1e400 reads as infinity, and "inf" is no JSON.
std::string one_decimal(double value) {
  if (!std::isfinite(value)) return "null";
  char buffer[32];
  const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed, 1);
  return ec == std::errc{} ? std::string{buffer, end} : std::string{"null"};
}

std::string plural(std::uint64_t n, std::string_view one, std::string_view many) {
  return number(n) + " " + std::string{n == 1 ? one : many};
}

std::string status_line(const merged_report& r) {
  std::string text = plural(r.files.size(), "report", "reports") + ", " +
                     plural(r.runs.size(), "run", "runs") + ", " + plural(r.hashes.size(), "hash", "hashes") +
                     ": ";
  if (r.all_done()) {
    return text + (r.proofs.empty() ? "ALL DONE (every hash done or protected; no --verify proofs)"
                                    : "ALL DONE (every hash done or protected, every proof verified)");
  }
  text += "NOT ALL DONE:";
  std::string parts;
  const auto add = [&](const std::string& part) { parts += (parts.empty() ? " " : ", ") + part; };
  if (r.left() != 0) add(number(r.left()) + " left to do");
  if (!r.invalid.empty()) add(plural(r.invalid.size(), "invalid input line", "invalid input lines"));
  if (!r.problems.empty()) add(plural(r.problems.size(), "problem", "problems") + " with the reports");
  return text + parts;
}

// Text read from a report (or its name) on one terminal line: control characters (a line break, an
// escape sequence's ESC) as ' ', as Markdown's cells have them; a row cannot forge a line of the output.
std::string one_line(std::string_view text) {
  std::string out{text};
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = ' ';
  }
  return out;
}

std::string run_times(const report_run& run) {
  std::string text = run.started_at.empty() ? std::string{"?"} : one_line(run.started_at);
  text += " -> ";
  if (!run.finished) return text + "UNFINISHED (no summary row)";
  text += run.finished_at.empty() ? std::string{"?"} : one_line(run.finished_at);
  if (run.exit_code) text += ", exit " + std::to_string(*run.exit_code);
  return text + ", " + one_decimal(run.elapsed_s) + " s";
}

std::string or_dash(const std::string& text) { return text.empty() ? std::string{"-"} : one_line(text); }

// --- text ---------------------------------------------------------------------------------------

std::string pad(std::string text, std::size_t width) {
  if (text.size() < width) text.append(width - text.size(), ' ');
  return text;
}

std::string render_text(const merged_report& r) {
  std::string out = "keyrevoke report: " + status_line(r) + "\n";
  if (!r.problems.empty()) {
    out += "\nProblems (the merged state is not the whole story):\n";
    for (const std::string& p : r.problems) out += "  - " + one_line(p) + "\n";
  }
  out += "\nRuns:\n";
  for (const report_run& run : r.runs) {
    out += "  " + one_line(r.files[run.file]) + (run.line != 0 ? ":" + number(run.line) : std::string{}) +
           "  " + run_times(run) + "\n    operator " + or_dash(run.operator_name) + ", action " +
           or_dash(run.action) + ", shard " + or_dash(run.shard) + ", " + or_dash(run.base_url) +
           ", version " + or_dash(run.version) + ", pid " + number(run.pid) + "\n    options " +
           one_line(run.options) + "\n";
  }
  out += "\nFinal state per hash (" + number(r.hashes.size()) + " hashes; \"invalid\" counts input lines):\n";
  for (const auto& [name, count] : r.outcomes) out += "  " + pad(one_line(name), 24) + number(count) + "\n";
  if (!r.proofs.empty()) {
    out += "\nVerify proofs (of the final rows):\n";
    for (const auto& [name, count] : r.proofs) out += "  " + pad(one_line(name), 24) + number(count) + "\n";
  }
  if (!r.failures.empty()) {
    out += "\nLeft to do, by reason:\n";
    for (const failure_group& g : r.failures) {
      out += "  " + pad(number(g.count), 8) + pad(one_line(g.state), 22) +
             (g.error.empty() ? "(no error text)" : one_line(g.error)) + "  (e.g. " + to_hex(g.example) +
             ")\n";
    }
  }
  if (!r.invalid.empty()) {
    out += "\nInvalid input lines (" + number(r.invalid.size()) + "):\n";
    for (std::size_t i = 0; i < r.invalid.size() && i < max_listed_invalid; ++i) {
      const invalid_input& bad = r.invalid[i];
      out += "  " + (bad.input_file.empty() ? std::string{"(stdin)"} : one_line(bad.input_file)) + ":" +
             number(bad.line) + ": " + one_line(bad.error) + ": " + one_line(bad.preview) + "\n";
    }
    if (r.invalid.size() > max_listed_invalid) out += "  ... (--format csv or json lists every hash)\n";
  }
  if (!r.notes.empty()) {
    out += "\nNotes:\n";
    for (const std::string& n : r.notes) out += "  - " + one_line(n) + "\n";
  }
  return out;
}

// --- markdown -----------------------------------------------------------------------------------

// A table cell: '|' escaped, line breaks and other controls as spaces.
std::string cell(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '|') {
      out += "\\|";
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out.empty() ? std::string{"-"} : out;
}

std::string code_cell(std::string_view text) {
  return text.empty() ? std::string{"-"} : "`" + cell(text) + "`";
}

std::string render_markdown(const merged_report& r) {
  std::string out = "## keyrevoke report\n\n**" + status_line(r) + "**\n";
  if (!r.problems.empty()) {
    out += "\n### Problems\n\n";
    for (const std::string& p : r.problems) out += "- " + cell(p) + "\n";
  }
  out +=
      "\n### Runs\n\n| report | operator | started | finished | action | shard | server | options |\n"
      "|---|---|---|---|---|---|---|---|\n";
  for (const report_run& run : r.runs) {
    const std::string finished =
        run.finished
            ? cell(run.finished_at) + (run.exit_code ? " (exit " + std::to_string(*run.exit_code) + ")" : "")
            : std::string{"**unfinished**"};
    out += "| " + code_cell(r.files[run.file] + (run.line != 0 ? ":" + number(run.line) : std::string{})) +
           " | " + cell(run.operator_name) + " | " + cell(run.started_at) + " | " + finished + " | " +
           cell(run.action) + " | " + cell(run.shard) + " | " + cell(run.base_url) + " | " +
           code_cell(run.options) + " |\n";
  }
  out += "\n### Final state per hash\n\n| outcome | hashes |\n|---|---:|\n";
  for (const auto& [name, count] : r.outcomes) out += "| " + cell(name) + " | " + number(count) + " |\n";
  if (!r.proofs.empty()) {
    out += "\n### Verify proofs\n\n| proof | hashes |\n|---|---:|\n";
    for (const auto& [name, count] : r.proofs) out += "| " + cell(name) + " | " + number(count) + " |\n";
  }
  if (!r.failures.empty()) {
    out += "\n### Left to do, by reason\n\n| hashes | state | reason | example |\n|---:|---|---|---|\n";
    for (const failure_group& g : r.failures) {
      out += "| " + number(g.count) + " | " + cell(g.state) + " | " + cell(g.error) + " | `" +
             to_hex(g.example) + "` |\n";
    }
  }
  if (!r.invalid.empty()) {
    out += "\n### Invalid input lines (" + number(r.invalid.size()) +
           ")\n\n| input | line | error |\n|---|---:|---|\n";
    for (std::size_t i = 0; i < r.invalid.size() && i < max_listed_invalid; ++i) {
      const invalid_input& bad = r.invalid[i];
      out += "| " + cell(bad.input_file) + " | " + number(bad.line) + " | " + cell(bad.error) + " |\n";
    }
    if (r.invalid.size() > max_listed_invalid) out += "\n(first " + number(max_listed_invalid) + " listed)\n";
  }
  if (!r.notes.empty()) {
    out += "\n### Notes\n\n";
    for (const std::string& n : r.notes) out += "- " + cell(n) + "\n";
  }
  return out;
}

// --- csv ----------------------------------------------------------------------------------------

// A cell a spreadsheet would run as a formula starts with = + - @, or with a tab or carriage return
// before one (OWASP, "CSV Injection"): it is quoted and starts with an apostrophe instead.
void append_csv(std::string& out, std::string_view text) {
  const bool formula = !text.empty() && (text[0] == '=' || text[0] == '+' || text[0] == '-' || text[0] == '@' ||
                                         text[0] == '\t' || text[0] == '\r');
  if (!formula && text.find_first_of(",\"\r\n") == std::string_view::npos) {
    out += text;
    return;
  }
  out += '"';
  if (formula) out += '\'';
  for (const char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  out += '"';
}

std::string render_csv(const merged_report& r) {
  std::string out = "hash,outcome,http_status,attempts,error,at,proof,observed,proof_error,report,line\r\n";
  for (const hash_state& h : r.hashes) {
    out += to_hex(h.hash);
    out += ',';
    append_csv(out, h.outcome);
    out += ',';
    if (h.http_status != 0) out += number(h.http_status);
    out += ',' + number(h.attempts) + ',';
    append_csv(out, h.error);
    out += ',';
    append_csv(out, h.at);
    out += ',';
    append_csv(out, h.proof);
    out += ',';
    append_csv(out, h.observed);
    out += ',';
    append_csv(out, h.proof_error);
    out += ',';
    append_csv(out, r.files[r.runs[h.run].file]);
    out += ',';
    if (h.line != 0) out += number(h.line);
    out += "\r\n";
  }
  return out;
}

// --- json ---------------------------------------------------------------------------------------

void append_string_or_null(std::string& out, std::string_view text) {
  if (text.empty()) {
    out += "null";
  } else {
    append_json_string(out, text);
  }
}

void append_strings(std::string& out, const std::vector<std::string>& items) {
  out += '[';
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i != 0) out += ',';
    append_json_string(out, items[i]);
  }
  out += ']';
}

void append_counts(std::string& out, const std::map<std::string, std::uint64_t>& counts) {
  out += '{';
  bool first = true;
  for (const auto& [name, count] : counts) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, name);
    out += ':' + number(count);
  }
  out += '}';
}

std::string render_json(const merged_report& r) {
  std::string out = R"({"all_done":)";
  out += r.all_done() ? "true" : "false";
  out += R"(,"left":)" + number(r.left()) + R"(,"files":)";
  append_strings(out, r.files);
  out += R"(,"problems":)";
  append_strings(out, r.problems);
  out += R"(,"notes":)";
  append_strings(out, r.notes);
  out += R"(,"runs":[)";
  for (std::size_t i = 0; i < r.runs.size(); ++i) {
    const report_run& run = r.runs[i];
    if (i != 0) out += ',';
    out += R"({"report":)";
    append_json_string(out, r.files[run.file]);
    out += R"(,"line":)" + (run.line != 0 ? number(run.line) : std::string{"null"});
    const std::pair<const char*, const std::string*> texts[] = {{"started_at", &run.started_at},
                                                                {"finished_at", &run.finished_at},
                                                                {"operator", &run.operator_name},
                                                                {"action", &run.action},
                                                                {"host", &run.host},
                                                                {"base_url", &run.base_url},
                                                                {"shard", &run.shard},
                                                                {"plan_digest", &run.plan_digest},
                                                                {"version", &run.version}};
    for (const auto& [name, value] : texts) {
      out += ",\"" + std::string{name} + "\":";
      append_string_or_null(out, *value);
    }
    out += R"(,"finished":)";
    out += run.finished ? "true" : "false";
    out += R"(,"exit_code":)" + (run.exit_code ? std::to_string(*run.exit_code) : std::string{"null"});
    out += R"(,"elapsed_s":)" + (run.finished ? one_decimal(run.elapsed_s) : std::string{"null"});
    out += R"(,"pid":)" + number(run.pid) + R"(,"rows":)" + number(run.rows) + R"(,"options":)" +
           run.options + "}";
  }
  out += R"(],"counts":)";
  append_counts(out, r.outcomes);
  out += R"(,"proofs":)";
  append_counts(out, r.proofs);
  out += R"(,"failures":[)";
  for (std::size_t i = 0; i < r.failures.size(); ++i) {
    const failure_group& g = r.failures[i];
    if (i != 0) out += ',';
    out += R"({"state":)";
    append_json_string(out, g.state);
    out += R"(,"error":)";
    append_string_or_null(out, g.error);
    out += R"(,"count":)" + number(g.count) + R"(,"example":")" + to_hex(g.example) + "\"}";
  }
  out += R"(],"invalid":[)";
  for (std::size_t i = 0; i < r.invalid.size(); ++i) {
    const invalid_input& bad = r.invalid[i];
    if (i != 0) out += ',';
    out += R"({"file":)";
    append_string_or_null(out, bad.input_file);
    out += R"(,"line":)" + number(bad.line) + R"(,"error":)";
    append_string_or_null(out, bad.error);
    out += R"(,"input":)";
    append_string_or_null(out, bad.preview);
    out += '}';
  }
  out += R"(],"hashes":[)";
  for (std::size_t i = 0; i < r.hashes.size(); ++i) {
    const hash_state& h = r.hashes[i];
    if (i != 0) out += ',';
    out += R"({"hash":")" + to_hex(h.hash) + R"(","outcome":)";
    append_string_or_null(out, h.outcome);
    out += R"(,"http_status":)" + (h.http_status != 0 ? number(h.http_status) : std::string{"null"});
    out += R"(,"attempts":)" + number(h.attempts) + R"(,"error":)";
    append_string_or_null(out, h.error);
    out += R"(,"at":)";
    append_string_or_null(out, h.at);
    out += R"(,"proof":)";
    append_string_or_null(out, h.proof);
    out += R"(,"observed":)";
    append_string_or_null(out, h.observed);
    out += R"(,"proof_error":)";
    append_string_or_null(out, h.proof_error);
    out += R"(,"report":)";
    append_json_string(out, r.files[r.runs[h.run].file]);
    out += R"(,"line":)" + (h.line != 0 ? number(h.line) : std::string{"null"}) + "}";
  }
  out += "]}\n";
  return out;
}

}  // namespace

std::optional<report_format> parse_report_format(std::string_view name) noexcept {
  if (name == "text") return report_format::text;
  if (name == "markdown" || name == "md") return report_format::markdown;
  if (name == "csv") return report_format::csv;
  if (name == "json") return report_format::json;
  return std::nullopt;
}

std::string render_report(const merged_report& report, report_format format) {
  switch (format) {
    case report_format::markdown:
      return render_markdown(report);
    case report_format::csv:
      return render_csv(report);
    case report_format::json:
      return render_json(report);
    case report_format::text:
      break;
  }
  return render_text(report);
}

}  // namespace keyrevoke::core
