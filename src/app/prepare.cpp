#include "keyrevoke/app/prepare.hpp"

#include "keyrevoke/app/operator_name.hpp"

#include "keyrevoke/core/glob.hpp"
#include "keyrevoke/core/hash_line.hpp"
#include "keyrevoke/core/protect_line.hpp"
#include "keyrevoke/core/redact.hpp"
#include "keyrevoke/core/report_row.hpp"
#include "keyrevoke/core/selection.hpp"

#include <array>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace keyrevoke::app {

std::variant<protect_list, std::string> load_protect_file(const std::string& path) {
  std::ifstream in{path};
  if (!in) {
    return "cannot read --protect file '" + core::safe_display(path) + "': " + std::generic_category().message(errno);
  }
  protect_list list;
  std::string line;
  std::uint64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    const auto parsed = core::parse_protect_line(line);
    if (const auto* error = std::get_if<std::string>(&parsed)) {
      return "--protect file '" + core::safe_display(path) + "', line " + std::to_string(number) + ": " + *error;
    }
    const auto& entry = std::get<core::protect_line>(parsed);
    switch (entry.what) {
      case core::protect_line::kind::skip: break;
      case core::protect_line::kind::hash: list.hashes.insert(entry.hash); break;
      case core::protect_line::kind::name_glob: list.name_globs.emplace_back(entry.glob); break;
      case core::protect_line::kind::label_glob: list.label_globs.emplace_back(entry.glob); break;
      case core::protect_line::kind::name_and_label_glob:
        list.name_globs.emplace_back(entry.glob);
        list.label_globs.emplace_back(entry.glob);
        break;
    }
  }
  if (in.bad()) return "cannot read --protect file '" + core::safe_display(path) + "'";
  return list;
}

bool protected_by_glob(const protect_list& list, std::string_view name, std::string_view label) {
  for (const std::string& glob : list.name_globs) {
    if (!name.empty() && core::glob_match(glob, name)) return true;
  }
  for (const std::string& glob : list.label_globs) {
    if (!label.empty() && core::glob_match(glob, label)) return true;
  }
  return false;
}

selection_result read_selection(const options& opts, const core::hash_set* protect) {
  selection_result result;
  input_reader reader{opts.inputs, input_filter{opts.shard, protect, nullptr, nullptr, nullptr, false}};
  if (std::string error = reader.open_all(); !error.empty()) {
    result.error = std::move(error);
    return result;
  }
  result.source_names = reader.source_names();
  reader.read_all([&](input_batch&& batch) {
    result.lines += batch.lines;
    result.hash_lines += batch.hash_lines;
    result.duplicates += batch.duplicates;
    result.invalid += batch.invalid.size();
    result.protected_count += batch.protected_hashes.size();
    result.other_shard += batch.other_shard;
    result.hashes.insert(result.hashes.end(), batch.hashes.begin(), batch.hashes.end());
    for (invalid_entry& bad : batch.invalid) {
      if (result.first_invalid.size() < 10) result.first_invalid.push_back(std::move(bad));
    }
    if (!batch.error.empty()) result.error = batch.error;
  });
  return result;
}

std::vector<input_print> fingerprint_inputs(const std::vector<std::string>& inputs) {
  std::vector<input_print> prints;
  const std::vector<std::string> stdin_only{"-"};
  for (const std::string& path : inputs.empty() ? stdin_only : inputs) {
    input_print print{path, {}};
    struct stat st {};
    if (path != "-" && ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        core::sha256_stream digest;
        std::string buffer(1 << 16, '\0');
        bool ok = true;
        for (;;) {
          const ssize_t n = ::read(fd, buffer.data(), buffer.size());
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) ok = false;
          if (n <= 0) break;
          digest.update(std::string_view{buffer.data(), static_cast<std::size_t>(n)});
        }
        ::close(fd);
        if (ok) print.sha256 = digest.hex_digest();
      }
    }
    prints.push_back(std::move(print));
  }
  return prints;
}

namespace {

std::vector<core::input_fingerprint> fingerprints_of(const std::vector<input_print>& inputs) {
  std::vector<core::input_fingerprint> fingerprints;
  fingerprints.reserve(inputs.size());
  for (const input_print& input : inputs) fingerprints.push_back({input.name, input.sha256});
  return fingerprints;
}

std::string_view shard_or_empty(const options& opts) {
  return opts.shard.count > 1 ? std::string_view{opts.shard_text} : std::string_view{};
}

}  // namespace

std::string plan_row_text(const options& opts, const core::base_url& base, std::string_view digest,
                          const selection_result& sel, const std::vector<input_print>& inputs) {
  const std::vector<core::input_fingerprint> fingerprints = fingerprints_of(inputs);
  const std::array<std::pair<std::string_view, std::uint64_t>, 6> counts{{
      {"selected", sel.hashes.size()},
      {"lines", sel.lines},
      {"duplicates", sel.duplicates},
      {"invalid", sel.invalid},
      {"protected", sel.protected_count},
      {"other_shards", sel.other_shard},
  }};
  std::string row;
  core::append_row(row, core::plan_row{digest, core::to_string(opts.act), base.host_header, base.canonical, fingerprints, shard_or_empty(opts),
                                       counts});
  return row;
}

std::string header_row_text(const options& opts, const core::base_url& base, const std::vector<input_print>& inputs) {
  const std::vector<core::input_fingerprint> fingerprints = fingerprints_of(inputs);
  const std::string operator_name = current_operator_name();  // $USER, $LOGNAME, the uid's account, "uid N"
  const auto now = std::chrono::system_clock::now();
  const std::string started = core::format_utc(now);
  const std::string at = core::format_utc_ms(now);
  std::string row;
  core::append_row(row, core::header_row{KEYREVOKE_VERSION, started, operator_name, core::to_string(opts.act), base.host_header, base.canonical,
                                         fingerprints, opts.confirm.value_or(""), shard_or_empty(opts),
                                         opts.protect.value_or(""),
                                         opts.concurrency, opts.rate, opts.max_attempts, opts.timeout_s, opts.verify,
                                         opts.resume, static_cast<std::uint64_t>(::getpid()), at});
  return row;
}

}  // namespace keyrevoke::app
