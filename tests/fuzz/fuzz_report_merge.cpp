// `keyrevoke report`: byte 0 picks where the input is cut into two report files; each is fed line by
// line (a last line without '\n' as torn). Any input is a clean error or a merged report whose four
// renderings hold: JSON parses as one object, CSV has a line per hash, the counts add up.

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "keyrevoke/core/report_format.hpp"
#include "keyrevoke/core/report_merge.hpp"

namespace kc = keyrevoke::core;

namespace {

// Feeds one file; false when the merger refused a line (the command exits 2 then).
bool feed(kc::report_merger& merger, std::string_view text, std::string name) {
  merger.begin_file(std::move(name));
  while (!text.empty()) {
    const std::size_t newline = text.find('\n');
    const bool terminated = newline != std::string_view::npos;
    if (auto error = merger.add_line(text.substr(0, newline), terminated)) {
      FUZZ_CHECK(!error->empty());
      return false;
    }
    text.remove_prefix(terminated ? newline + 1 : text.size());
  }
  return !merger.end_file();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::string_view input(reinterpret_cast<const char*>(data + 1), size - 1);
  const std::size_t cut = input.empty() ? 0 : std::size_t{data[0]} * input.size() / 256;

  kc::report_merger merger;
  if (!feed(merger, input.substr(0, cut), "a.jsonl") || !feed(merger, input.substr(cut), "b.jsonl")) return 0;
  const kc::merged_report r = merger.finish();

  std::uint64_t counted = 0;
  for (const auto& [name, n] : r.outcomes) counted += name == "invalid" ? 0 : n;
  std::uint64_t with_outcome = 0;
  for (const kc::hash_state& h : r.hashes) with_outcome += h.outcome.empty() ? 0 : 1;
  FUZZ_CHECK(counted == with_outcome);
  FUZZ_CHECK(r.left() <= 2 * r.hashes.size());
  FUZZ_CHECK(!r.all_done() || r.problems.empty());

  const std::string json_text = kc::render_report(r, kc::report_format::json);
  std::error_code ec;
  const boost::json::value parsed = boost::json::parse(json_text, ec);
  FUZZ_CHECK(!ec && parsed.is_object());
  FUZZ_CHECK(parsed.get_object().at("hashes").as_array().size() == r.hashes.size());

  const std::string csv = kc::render_report(r, kc::report_format::csv);
  FUZZ_CHECK(csv.ends_with("\r\n"));
  for (const auto format : {kc::report_format::text, kc::report_format::markdown}) {
    const std::string text = kc::render_report(r, format);
    FUZZ_CHECK(!text.empty() && text.back() == '\n');
  }
  return 0;
}
