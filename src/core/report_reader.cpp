#include "keyrevoke/core/report_reader.hpp"

#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/value.hpp>

#include "keyrevoke/core/outcome.hpp"

namespace keyrevoke::core {
namespace {

namespace json = boost::json;

enum class row_kind { malformed, other, not_done, done, header, summary, verified, mismatch };

struct row_facts {
  row_kind kind = row_kind::malformed;
  key_hash hash{};
  std::string action;    // header rows
  std::string base_url;  // header rows (absent before keyrevoke-plan-v2 reports)
  bool sent = false;     // not_done rows: a request was sent for the hash ("attempts" not 0)
  bool not_found = false;      // done rows: "not_found" or "not_found_after_retry" (a 404 taken as proof)
  bool contradicted = false;   // summary rows: "exit_reason" is "contradicted"
};

row_facts read_row(std::string_view line) {
  row_facts facts;
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  if (line.empty() || line.front() != '{') return facts;  // cheap rejection of blank/garbage lines

  // All parse memory on the stack for an ordinary row; a 64 KiB row spills to the heap.
  unsigned char temp[1024];
  unsigned char storage[4096];
  json::monotonic_resource resource(storage, sizeof storage);
  json::parser parser(json::storage_ptr(), json::parse_options{}, temp, sizeof temp);
  parser.reset(json::storage_ptr(&resource));
  std::error_code ec;
  parser.write(line.data(), line.size(), ec);
  if (ec) return facts;
  const json::value row = parser.release();

  const json::object* object = row.if_object();
  if (object == nullptr) return facts;
  if (const json::value* type = object->if_contains("type"); type != nullptr) {
    if (!type->is_string()) return facts;
    const json::string& name = type->get_string();
    if (name == "header") {
      facts.kind = row_kind::header;
      if (const json::value* act = object->if_contains("action"); act && act->is_string()) {
        facts.action = std::string{act->get_string()};
      }
      if (const json::value* url = object->if_contains("base_url"); url && url->is_string()) {
        facts.base_url = std::string{url->get_string()};
      }
      return facts;
    }
    facts.kind = row_kind::other;
    if (name == "summary") {
      facts.kind = row_kind::summary;
      const json::value* reason = object->if_contains("exit_reason");
      facts.contradicted = reason != nullptr && reason->is_string() && reason->get_string() == "contradicted";
      return facts;
    }
    if (name != "verify") return facts;  // a newer version's row
    const json::value* hash = object->if_contains("hash");
    // "proof"; older reports (rows without "at") name it "outcome": still read, for --resume.
    const json::value* result = object->if_contains("proof");
    if (result == nullptr) result = object->if_contains("outcome");
    if (hash == nullptr || !hash->is_string() || result == nullptr || !result->is_string()) return facts;
    const auto parsed = parse_key_hash(hash->get_string());
    if (parsed && result->get_string() == "verified") {
      facts.kind = row_kind::verified;
      facts.hash = *parsed;
    } else if (parsed && result->get_string() == "mismatch") {
      facts.kind = row_kind::mismatch;
      facts.hash = *parsed;
    }
    return facts;
  }
  const json::value* hash = object->if_contains("hash");
  if (hash == nullptr || !hash->is_string()) {
    facts.kind = row_kind::other;  // an invalid-input row, a header row: nothing to resume
    return facts;
  }
  const auto parsed = parse_key_hash(hash->get_string());
  const json::value* name = object->if_contains("outcome");
  if (!parsed || name == nullptr || !name->is_string()) return facts;
  facts.hash = *parsed;
  const auto result = outcome_from_string(name->get_string());
  facts.kind = result && is_done(*result) ? row_kind::done : row_kind::not_done;
  facts.not_found = result == outcome::not_found || result == outcome::not_found_after_retry;
  // Without a readable "attempts" (an older or edited report), a request may have been sent.
  const json::value* attempts = object->if_contains("attempts");
  facts.sent = attempts == nullptr || !attempts->is_number() || attempts->to_number<double>() != 0.0;
  return facts;
}

}  // namespace

void report_reader::feed(std::string_view chunk) {
  while (!chunk.empty()) {
    const std::size_t newline = chunk.find('\n');
    const std::string_view piece = chunk.substr(0, newline);
    if (newline == std::string_view::npos) {
      if (line_length_ + piece.size() <= max_report_row) line_.append(piece);
      line_length_ += piece.size();
      return;
    }
    chunk.remove_prefix(newline + 1);
    if (line_length_ == 0) {
      end_line(piece, piece.size() > max_report_row);  // the whole line is in this chunk: no copy
      scan_.valid_bytes += piece.size() + 1;
    } else {
      if (line_length_ + piece.size() <= max_report_row) line_.append(piece);
      line_length_ += piece.size();
      end_line(line_, line_length_ > max_report_row);
      scan_.valid_bytes += line_length_ + 1;
      line_.clear();
      line_length_ = 0;
    }
  }
}

void report_reader::end_line(std::string_view line, bool overlong) {
  if (overlong) {
    ++scan_.malformed_rows;
    return;
  }
  const row_facts facts = read_row(line);
  switch (facts.kind) {
    case row_kind::malformed: ++scan_.malformed_rows; return;
    case row_kind::done:
      if (scan_.done.insert(facts.hash) && facts.not_found) run_not_found_.push_back(facts.hash);
      break;
    case row_kind::verified: scan_.verified.insert(facts.hash); break;
    case row_kind::mismatch: scan_.mismatched.insert(facts.hash); break;
    case row_kind::summary:
      scan_.last_run_finished = true;
      if (facts.contradicted) {
        // The run found the server contradicting itself (a listed key answered 404: its key route may
        // reach another API), so its not_found rows prove nothing: each is acted on again, and its 404
        // then is not_found_after_retry (the request went somewhere).
        for (const key_hash& h : run_not_found_) {
          scan_.done.erase(h);
          scan_.sent.insert(h);
          ++scan_.voided_not_found;
        }
      }
      run_not_found_.clear();
      break;
    case row_kind::header:
      run_not_found_.clear();
      if (scan_.headers != 0 && !scan_.last_run_finished) ++scan_.earlier_runs_unfinished;
      scan_.last_run_finished = false;
      if (scan_.headers++ == 0) {
        scan_.action = facts.action;
      } else if (facts.action != scan_.action) {
        scan_.mixed_actions = true;
      }
      if (!facts.base_url.empty()) {
        if (scan_.base_url.empty()) {
          scan_.base_url = facts.base_url;
        } else if (facts.base_url != scan_.base_url) {
          scan_.mixed_base_urls = true;
        }
      }
      break;
    case row_kind::not_done:
      if (facts.sent) scan_.sent.insert(facts.hash);
      break;
    case row_kind::other: break;
  }
  ++scan_.rows;
}

resume_scan report_reader::finish() {
  scan_.torn_tail = line_length_ > 0;
  line_.clear();
  line_.shrink_to_fit();
  line_length_ = 0;
  resume_scan result = std::move(scan_);
  scan_ = resume_scan{};
  return result;
}

}  // namespace keyrevoke::core
