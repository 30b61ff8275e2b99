#include "keyrevoke/core/report_merge.hpp"

#include <algorithm>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>
#include <limits>
#include <set>
#include <tuple>

#include "keyrevoke/core/outcome.hpp"
#include "keyrevoke/core/report_reader.hpp"
#include "keyrevoke/core/report_row.hpp"
#include "keyrevoke/core/selection.hpp"

namespace keyrevoke::core {
namespace {

namespace json = boost::json;

std::string string_or_empty(const json::object& row, std::string_view name) {
  const json::value* v = row.if_contains(name);
  return v != nullptr && v->is_string() ? std::string{v->get_string()} : std::string{};
}

// A non-negative integer field that fits `unsigned`; 0 when absent, null or of another type.
unsigned unsigned_or_zero(const json::object& row, std::string_view name) {
  const json::value* v = row.if_contains(name);
  if (v == nullptr) return 0;
  if (v->is_uint64() && v->get_uint64() <= 0xffffffffu) return static_cast<unsigned>(v->get_uint64());
  if (v->is_int64() && v->get_int64() >= 0 && v->get_int64() <= 0xffffffff)
    return static_cast<unsigned>(v->get_int64());
  return 0;
}

bool is_done_name(std::string_view name) {
  const auto o = outcome_from_string(name);
  return o && is_done(*o);
}

bool proof_shows_state(std::string_view proof) { return proof == "verified" || proof == "mismatch"; }

// Compact JSON as keyrevoke writes it: a double keeps a decimal point (30.0, not Boost.JSON's 3E1).
void append_compact(std::string& out, const json::value& v) {
  switch (v.kind()) {
    case json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& member : v.get_object()) {
        if (!first) out += ',';
        first = false;
        append_json_string(out, member.key());
        out += ':';
        append_compact(out, member.value());
      }
      out += '}';
      return;
    }
    case json::kind::array: {
      out += '[';
      bool first = true;
      for (const json::value& item : v.get_array()) {
        if (!first) out += ',';
        first = false;
        append_compact(out, item);
      }
      out += ']';
      return;
    }
    case json::kind::double_: {
      if (!std::isfinite(v.get_double())) {  // 1e400 reads as infinity; "inf" is no JSON
        out += "null";
        return;
      }
      char buffer[40];
      const auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, v.get_double());
      std::string text = ec == std::errc{} ? std::string{buffer, end} : std::string{"null"};
      if (text.find_first_of(".eEn") == std::string::npos) text += ".0";  // n: nan/inf are not written
      out += text;
      return;
    }
    default:
      out += json::serialize(v);
  }
}

}  // namespace

bool merged_report::all_done() const { return problems.empty() && invalid.empty() && left() == 0; }

std::uint64_t merged_report::left() const {
  std::uint64_t n = 0;
  for (const hash_state& h : hashes) {
    // No action row (only verify rows) is not done either: finish() lists it as "no action row".
    // A hash is one thing left to do, however many of its rows say so (the eighth trial: one hash
    // failed and its proof a mismatch read "2 left to do").
    const bool action_left = h.outcome.empty() || (!is_done_name(h.outcome) && h.outcome != "protected");
    const bool proof_left = !h.proof.empty() && h.proof != "verified";
    if (action_left || proof_left) ++n;
  }
  return n;
}

void report_merger::begin_file(std::string name) {
  out_.files.push_back(name);
  current_name_ = std::move(name);
  line_ = 0;
  file_rows_ = 0;
  run_.reset();
}

std::optional<std::string> report_merger::fail(std::string_view why) const {
  return current_name_ + ":" + std::to_string(line_) + ": " + std::string{why};
}

void report_merger::start_run(std::uint64_t line) {
  report_run run;
  run.file = out_.files.size() - 1;
  run.line = line;
  run.options = "{}";
  std::string start;
  if (run_) start = effective_start_[*run_];  // the file's previous run
  out_.runs.push_back(std::move(run));
  effective_start_.push_back(std::move(start));
  run_ = out_.runs.size() - 1;
}

bool report_merger::later(std::size_t run_a, std::uint64_t line_a, std::size_t run_b,
                          std::uint64_t line_b) const {
  const report_run& a = out_.runs[run_a];
  const report_run& b = out_.runs[run_b];
  return std::tie(effective_start_[run_a], a.file, line_a) >
         std::tie(effective_start_[run_b], b.file, line_b);
}

std::optional<std::string> report_merger::add_line(std::string_view line, bool terminated) {
  ++line_;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty() && terminated) return fail("an empty line: not a keyrevoke report row");
  if (line.size() > max_report_row) return fail("a line longer than 64 KiB: not a keyrevoke report row");
  const std::optional<std::string> error = read_row(line);
  if (error && !terminated) {
    // What a kill -9 mid-write leaves; --resume cuts it. Nothing in it is claimed.
    out_.notes.push_back(current_name_ + ":" + std::to_string(line_) +
                         ": the last line is torn (the run was killed mid-write); it is ignored");
    if (!line.empty()) return std::nullopt;
  }
  return error;
}

std::optional<std::string> report_merger::read_row(std::string_view line) {
  std::error_code ec;
  json::value parsed = json::parse(line, ec);
  if (ec || !parsed.is_object()) return fail("not a JSON object: not a keyrevoke report row");
  const json::object& row = parsed.get_object();
  ++file_rows_;

  if (const json::value* type = row.if_contains("type"); type != nullptr) {
    if (!type->is_string()) return fail("\"type\" is not a string: not a keyrevoke report row");
    const std::string_view kind = type->get_string();
    if (kind == "header") {
      if (string_or_empty(row, "tool") != "keyrevoke")
        return fail("a header row of another tool than keyrevoke");
      start_run(line_);
      report_run& run = out_.runs.back();
      run.version = string_or_empty(row, "version");
      run.started_at = string_or_empty(row, "started_at");
      run.operator_name = string_or_empty(row, "operator");
      run.action = string_or_empty(row, "action");
      run.host = string_or_empty(row, "host");
      run.base_url = string_or_empty(row, "base_url");
      run.shard = string_or_empty(row, "shard");
      run.plan_digest = string_or_empty(row, "plan_digest");
      if (const json::value* options = row.if_contains("options");
          options != nullptr && options->is_object()) {
        run.options.clear();
        append_compact(run.options, *options);
      }
      if (const json::value* pid = row.if_contains("pid"); pid != nullptr && pid->is_number()) {
        run.pid = pid->is_uint64()                          ? pid->get_uint64()
                  : pid->is_int64() && pid->get_int64() > 0 ? static_cast<std::uint64_t>(pid->get_int64())
                                                            : 0;
      }
      // Runs are ordered by when they started: the header's "at" (milliseconds) where there is one, so
      // that runs started within one second keep their order; else started_at (whole seconds), written
      // with .000 so that both forms compare as text.
      std::string order_key = string_or_empty(row, "at");
      if (order_key.empty()) {
        order_key = run.started_at;
        if (!order_key.empty() && order_key.back() == 'Z' && order_key.find('.') == std::string::npos)
          order_key.insert(order_key.size() - 1, ".000");
      }
      std::string& start = effective_start_.back();
      start = std::max(start, order_key);
      return std::nullopt;
    }
    if (!run_) start_run(0);
    report_run& run = out_.runs[*run_];
    if (kind == "summary") {
      run.finished = true;
      run.finished_at = string_or_empty(row, "finished_at");
      if (const json::value* code = row.if_contains("exit_code");
          code != nullptr && code->is_int64() && code->get_int64() >= std::numeric_limits<int>::min() &&
          code->get_int64() <= std::numeric_limits<int>::max()) {
        run.exit_code = static_cast<int>(code->get_int64());
      }
      run.exit_reason = string_or_empty(row, "exit_reason");
      if (const json::value* empty = row.if_contains("listing_showed_no_key"); empty != nullptr && empty->is_bool()) {
        run.listing_showed_no_key = empty->get_bool();
      }
      if (const json::value* elapsed = row.if_contains("elapsed_s");
          elapsed != nullptr && elapsed->is_number()) {
        run.elapsed_s = elapsed->to_number<double>();
      }
      return std::nullopt;
    }
    if (kind != "verify") {
      ++out_.unknown_rows;  // a newer version's row
      return std::nullopt;
    }
    const auto hash = parse_key_hash(string_or_empty(row, "hash"));
    // "proof"; an older report's verify rows call it "outcome".
    std::string proof = string_or_empty(row, "proof");
    if (proof.empty()) proof = string_or_empty(row, "outcome");
    if (!hash || proof.empty()) return fail("a verify row without a 64-hex \"hash\" and a \"proof\"");
    ++run.rows;
    entry& e = by_hash_[*hash];
    e.state.hash = *hash;
    verify_entry v{*run_, line_, std::move(proof), string_or_empty(row, "observed"),
                   string_or_empty(row, "error")};
    // Both are kept: which one belongs to the final action row is known only in finish().
    if (proof_shows_state(v.proof) && (!e.proof || later(*run_, line_, e.proof->run, e.proof->line)))
      e.proof = v;
    if (!e.last_proof || later(*run_, line_, e.last_proof->run, e.last_proof->line))
      e.last_proof = std::move(v);
    return std::nullopt;
  }

  const json::value* hash_field = row.if_contains("hash");
  const std::string outcome_name = string_or_empty(row, "outcome");
  if (hash_field == nullptr || outcome_name.empty()) {
    return fail("neither a typed row nor a hash row with an \"outcome\": not a keyrevoke report row");
  }
  if (!run_) start_run(0);
  report_run& run = out_.runs[*run_];
  ++run.rows;
  if (hash_field->is_null()) {
    if (outcome_name != "invalid") return fail("a row without a hash whose outcome is not \"invalid\"");
    invalid_input bad;
    bad.input_file = string_or_empty(row, "file");
    if (const json::value* n = row.if_contains("line"); n != nullptr && n->is_uint64())
      bad.line = n->get_uint64();
    if (const json::value* n = row.if_contains("line");
        n != nullptr && n->is_int64() && n->get_int64() >= 0) {
      bad.line = static_cast<std::uint64_t>(n->get_int64());
    }
    bad.error = string_or_empty(row, "error");
    bad.preview = string_or_empty(row, "input");
    invalid_.insert_or_assign({bad.input_file, bad.line}, std::move(bad));
    return std::nullopt;
  }
  const auto hash = hash_field->is_string() ? parse_key_hash(hash_field->get_string()) : std::nullopt;
  if (!hash) return fail("\"hash\" is not 64 hex digits");
  // keyrevoke writes an invalid input line with "hash": null; one with a hash was not written by it (the
  // fuzzer: such a row was counted as a hash's outcome and left out of the outcome counts).
  if (outcome_name == "invalid") return fail("an \"invalid\" row with a hash: not a keyrevoke report row");

  entry& e = by_hash_[*hash];
  ++e.state.rows;
  if (e.has_row) {
    const bool newer = later(*run_, line_, e.state.run, e.state.line);
    const std::string& later_outcome = newer ? outcome_name : e.state.outcome;
    const std::string& earlier_outcome = newer ? e.state.outcome : outcome_name;
    // The later row wins, unless it shows nothing and the earlier one showed the key's state.
    const bool take_later = is_done_name(later_outcome) || !is_done_name(earlier_outcome);
    if (take_later != newer) return std::nullopt;  // the kept row stays
  }
  e.has_row = true;
  hash_state& s = e.state;
  s.hash = *hash;
  s.outcome = outcome_name;
  s.http_status = unsigned_or_zero(row, "http_status");
  s.attempts = unsigned_or_zero(row, "attempts");
  s.error = string_or_empty(row, "error");
  s.at = string_or_empty(row, "at");
  s.run = *run_;
  s.line = line_;
  return std::nullopt;
}

std::optional<std::string> report_merger::end_file() {
  if (file_rows_ == 0) return current_name_ + ": no report row in it: not a keyrevoke report";
  return std::nullopt;
}

merged_report report_merger::finish() {
  // Hashes, with the proof that belongs to their final row (later() reads out_.runs: first).
  out_.hashes.reserve(by_hash_.size());
  for (auto& item : by_hash_) {
    auto& e = item.second;  // not a structured binding: clang 14 cannot capture one in a lambda
    hash_state s = std::move(e.state);
    if (e.has_row && (s.outcome == "not_found" || s.outcome == "not_found_after_retry") &&
        out_.runs[s.run].exit_reason == "contradicted") {
      // Its run stopped because a key its listing showed answered 404 (a key route reaching another
      // API): no 404 of that run is proof, and --resume sends the hash again.
      s.error = s.outcome + " in a run that stopped as contradicted (its 404s may have come from another API): unproven";
      s.outcome = "failed";
    }
    // The proof of the final row: the latest one after it that showed the key's state, else the latest
    // one after it (an unproven proof never hides a verified or mismatch one of the same row).
    const auto after_row = [&](const std::optional<verify_entry>& p) {
      return p && (!e.has_row || later(p->run, p->line, s.run, s.line));
    };
    std::optional<verify_entry>& chosen = after_row(e.proof) ? e.proof : e.last_proof;
    if (after_row(chosen)) {
      s.proof = std::move(chosen->proof);
      s.observed = std::move(chosen->observed);
      s.proof_error = std::move(chosen->error);
      if (!e.has_row) s.run = chosen->run;
    }
    if (e.has_row && out_.runs[s.run].exit_reason == "unattributable" &&
        (s.outcome == "deleted" || s.outcome == "not_found" || s.outcome == "not_found_after_retry" ||
         s.outcome == "disabled" || s.outcome == "enabled")) {
      // Its run stopped on an answer no request asked for (a server answering twice): any answer that
      // run took may have been another request's. Unproven, until a later run settles it; a later proof
      // shows the key's state but not who changed it (trial 12: keys that never existed stayed
      // "deleted" once proven gone), so a deletion proven gone is "gone, maybe deleted by this run".
      if (s.proof == "verified" && s.outcome == "deleted") {
        s.outcome = "not_found_after_retry";
        s.error = "gone (a later read proved it); its deletion was claimed in a run that stopped as unattributable, "
                  "so this run may not have deleted it";
      } else if (s.proof != "verified") {
        s.error = s.outcome +
                  " in a run that stopped as unattributable (its server sent answers no request asked for, so this "
                  "answer may have been another request's): unproven; --resume --verify proves it";
        s.outcome = "failed";
      }
    }
    out_.hashes.push_back(std::move(s));
  }
  by_hash_.clear();
  merged_report r = std::move(out_);
  out_ = merged_report{};
  for (auto& [where, bad] : invalid_) r.invalid.push_back(std::move(bad));
  invalid_.clear();

  // Counts, and what is left grouped by reason.
  std::map<std::pair<std::string, std::string>, failure_group> groups;
  for (const hash_state& h : r.hashes) {
    if (!h.outcome.empty()) ++r.outcomes[h.outcome];
    if (!h.proof.empty()) ++r.proofs[h.proof];
    const auto add = [&](const std::string& state, const std::string& error) {
      failure_group& g = groups[{state, error}];
      if (g.count++ == 0) {
        g.state = state;
        g.error = error;
        g.example = h.hash;
      }
    };
    if (h.outcome.empty())
      add("no action row", "");
    else if (!is_done_name(h.outcome) && h.outcome != "protected")
      add(h.outcome, h.error);
    if (!h.proof.empty() && h.proof != "verified") add("verify " + h.proof, h.proof_error);
  }
  if (!r.invalid.empty()) r.outcomes["invalid"] = r.invalid.size();
  for (auto& [key, g] : groups) r.failures.push_back(std::move(g));
  std::stable_sort(r.failures.begin(), r.failures.end(),
                   [](const failure_group& a, const failure_group& b) { return a.count > b.count; });

  // Runs: the last run of each file must be finished; an earlier unfinished one was resumed.
  for (std::size_t i = 0; i < r.runs.size(); ++i) {
    const report_run& run = r.runs[i];
    const bool last_of_file = i + 1 == r.runs.size() || r.runs[i + 1].file != run.file;
    const std::string where =
        r.files[run.file] + (run.line != 0 ? ":" + std::to_string(run.line) : std::string{});
    if (run.line == 0) {
      // An older keyrevoke wrote neither header nor summary rows: whether it finished is unknown.
      r.notes.push_back(r.files[run.file] + ": rows before any header row (written by an older keyrevoke)");
      continue;
    }
    if (run.listing_showed_no_key) {
      r.notes.push_back(where + ": the run started " + (run.started_at.empty() ? "(unknown)" : run.started_at) +
                        " met a server whose listing showed no key at all: its not_found rows are the word of a "
                        "server that holds none (was " + (run.base_url.empty() ? "its base URL" : run.base_url) +
                        " the keys' environment?)");
    }
    if (run.finished) continue;
    if (last_of_file) {
      r.problems.push_back(
          where + ": the run started " + (run.started_at.empty() ? "(unknown)" : run.started_at) +
          " has no summary row: it was killed, or is still running; its hashes without a row "
          "are unknown (rerun it with --resume)");
    } else {
      r.notes.push_back(where + ": the run started " +
                        (run.started_at.empty() ? "(unknown)" : run.started_at) +
                        " was interrupted before its summary; a later run in the same report resumed it");
    }
  }

  // Servers and actions.
  std::set<std::string> servers, actions;
  for (const report_run& run : r.runs) {
    if (!run.base_url.empty()) servers.insert(run.base_url);
    if (!run.action.empty()) actions.insert(run.action);
  }
  const auto joined = [](const std::set<std::string>& names) {
    std::string text;
    for (const std::string& n : names) text += (text.empty() ? "" : ", ") + n;
    return text;
  };
  if (servers.size() > 1) {
    r.problems.push_back("the reports are of runs against different servers (" + joined(servers) +
                         "): one hash's rows may not be about the same key");
  }
  if (actions.size() > 1)
    r.notes.push_back("the runs took different actions (" + joined(actions) +
                      "); the final state is the latest proven one");

  // Shards: each file is one runner's report (its runs all name one shard, or none).
  std::map<unsigned, std::map<unsigned, std::vector<std::size_t>>> shards;  // N -> K -> files
  std::vector<std::size_t> unsharded;
  for (std::size_t f = 0; f < r.files.size(); ++f) {
    std::set<std::string> named;
    bool any_run = false;
    for (const report_run& run : r.runs) {
      if (run.file != f || run.line == 0) continue;
      any_run = true;
      named.insert(run.shard);
    }
    if (!any_run) continue;
    if (named.size() > 1) {
      r.problems.push_back(r.files[f] + ": its runs name different shards (" + joined(named) + ")");
      continue;
    }
    const std::string& text = *named.begin();
    const auto spec = parse_shard(text);
    if (!spec) {
      unsharded.push_back(f);
      continue;
    }
    shards[spec->count][spec->index + 1].push_back(f);
  }
  if (!shards.empty()) {
    if (shards.size() > 1) {
      std::set<std::string> counts;
      for (const auto& [n, ks] : shards) counts.insert(std::to_string(n));
      r.problems.push_back("the reports split the input into different numbers of shards (" + joined(counts) +
                           ")");
    }
    for (const std::size_t f : unsharded) {
      r.problems.push_back(r.files[f] + ": a run without --shard, merged with sharded ones");
    }
    for (const auto& [n, ks] : shards) {
      std::vector<unsigned> missing;
      for (unsigned k = 1; k <= n; ++k) {
        const auto it = ks.find(k);
        if (it == ks.end()) {
          missing.push_back(k);
          continue;
        }
        if (it->second.size() > 1) {
          std::string names;
          for (const std::size_t f : it->second) names += (names.empty() ? "" : ", ") + r.files[f];
          r.problems.push_back(
              "shard " + std::to_string(k) + "/" + std::to_string(n) + " is in " +
              std::to_string(it->second.size()) + " reports (" + names +
              "): give each shard's report once (a resumed shard appends to its own report)");
        }
      }
      if (!missing.empty()) {
        std::string list;
        for (std::size_t i = 0; i < missing.size() && i < 20; ++i) {
          list += (list.empty() ? "" : ", ") + std::to_string(missing[i]) + "/" + std::to_string(n);
        }
        if (missing.size() > 20) list += ", ...";
        r.problems.push_back(std::to_string(missing.size()) + " of " + std::to_string(n) +
                             " shards have no report: " + list + " (their hashes are not in this report)");
      }
    }
  }
  if (r.unknown_rows != 0) {
    r.notes.push_back(std::to_string(r.unknown_rows) +
                      " rows of a type this version does not know were skipped");
  }
  effective_start_.clear();
  return r;
}

}  // namespace keyrevoke::core
