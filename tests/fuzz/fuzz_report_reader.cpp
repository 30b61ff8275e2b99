// The --resume reader: byte 0 picks a chunk size; the rest is a report file. Chunked and whole
// feeding must agree, and valid_bytes/torn_tail must describe the input exactly.

#include <cstdint>
#include <string>

#include "fuzz_check.hpp"
#include "keyrevoke/core/report_reader.hpp"

namespace kc = keyrevoke::core;

namespace {

kc::resume_scan scan(std::string_view report, std::size_t chunk) {
  kc::report_reader reader;
  for (std::size_t at = 0; at < report.size(); at += chunk) reader.feed(report.substr(at, chunk));
  return reader.finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t chunk = std::size_t{data[0]} % 64 + 1;
  const std::string_view report(reinterpret_cast<const char*>(data + 1), size - 1);

  const kc::resume_scan whole = scan(report, report.size() + 1);
  const kc::resume_scan chunked = scan(report, chunk);
  FUZZ_CHECK(whole.rows == chunked.rows);
  FUZZ_CHECK(whole.malformed_rows == chunked.malformed_rows);
  FUZZ_CHECK(whole.valid_bytes == chunked.valid_bytes);
  FUZZ_CHECK(whole.torn_tail == chunked.torn_tail);
  FUZZ_CHECK(whole.done.size() == chunked.done.size());

  const std::size_t last_newline = report.rfind('\n');
  const std::uint64_t expected_valid = last_newline == std::string_view::npos ? 0 : last_newline + 1;
  FUZZ_CHECK(whole.valid_bytes == expected_valid);
  FUZZ_CHECK(whole.torn_tail == (expected_valid < report.size()));
  std::uint64_t lines = 0;
  for (const char c : report) lines += c == '\n' ? 1 : 0;
  FUZZ_CHECK(whole.rows + whole.malformed_rows == lines);
  FUZZ_CHECK(whole.done.size() <= whole.rows);
  return 0;
}
