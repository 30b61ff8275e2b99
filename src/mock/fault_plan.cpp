#include "keyrevoke/mock/fault_plan.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <numbers>
#include <stdexcept>

namespace keyrevoke::mock {
namespace {

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// Splits on runs of blanks.
std::vector<std::string_view> fields(std::string_view s) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    const std::size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

constexpr double max_latency_ms = 60'000;

}  // namespace

std::string_view to_string(fault f) {
  switch (f) {
    case fault::none: return "none";
    case fault::status_500: return "500";
    case fault::status_400: return "400";
    case fault::reset: return "reset";
    case fault::hang: return "hang";
    case fault::ghost: return "ghost";
    case fault::lost:
      return "lost";
  }
  return "none";
}

std::optional<latency_dist> parse_latency_dist(std::string_view text) {
  if (text == "fixed") return latency_dist::fixed;
  if (text == "exp") return latency_dist::exp;
  if (text == "lognormal") return latency_dist::lognormal;
  return std::nullopt;
}

std::string_view to_string(latency_dist d) {
  switch (d) {
    case latency_dist::fixed: return "fixed";
    case latency_dist::exp: return "exp";
    case latency_dist::lognormal: return "lognormal";
  }
  return "fixed";
}

std::optional<std::pair<core::key_hash, hash_fault>> parse_fault_line(std::string_view line) {
  line = trim(line);
  if (line.empty() || line.front() == '#') return std::nullopt;
  const auto f = fields(line);
  if (f.size() < 2 || f.size() > 3) throw std::invalid_argument("expected `<hash> <fault> [count]`");
  const auto hash = core::parse_key_hash(f[0]);
  if (!hash) throw std::invalid_argument("not a 64-hex-digit key hash");
  hash_fault hf;
  if (f[1] == "500") {
    hf = {fault::status_500, 1};
  } else if (f[1] == "always500") {
    hf = {fault::status_500, -1};
  } else if (f[1] == "400") {
    hf = {fault::status_400, -1};
  } else if (f[1] == "reset") {
    hf = {fault::reset, 1};
  } else if (f[1] == "hang") {
    hf = {fault::hang, 1};
  } else if (f[1] == "ghost") {
    hf = {fault::ghost, -1};
  } else if (f[1] == "lost") {
    hf = {fault::lost, 1};
  } else {
    throw std::invalid_argument("unknown fault `" + std::string(f[1]) +
                                "` (500, reset, hang, 400, always500, ghost, lost)");
  }
  if (f.size() == 3) {
    std::int64_t n = 0;
    const auto [ptr, ec] = std::from_chars(f[2].data(), f[2].data() + f[2].size(), n);
    if (ec != std::errc{} || ptr != f[2].data() + f[2].size() || n < 1)
      throw std::invalid_argument("count must be a positive integer");
    if (hf.times > 0 || hf.kind == fault::ghost) hf.times = n;  // always500 / 400 stay permanent
  }
  return std::pair{*hash, hf};
}

std::size_t fault_plan::hash_hasher::operator()(const core::key_hash& h) const noexcept {
  std::uint64_t v = 0;
  std::memcpy(&v, h.data(), sizeof v);
  return static_cast<std::size_t>(v);
}

fault_plan::fault_plan(double p500, double preset, double phang, double latency_ms, latency_dist dist,
                       std::uint64_t seed)
    : p500_(std::clamp(p500, 0.0, 1.0)),
      preset_(std::clamp(preset, 0.0, 1.0)),
      phang_(std::clamp(phang, 0.0, 1.0)),
      latency_ms_(std::clamp(latency_ms, 0.0, max_latency_ms)),
      dist_(dist),
      random_faults_(p500_ + preset_ + phang_ > 0),
      rng_(seed) {
  if (p500_ + preset_ + phang_ > 1.0)
    throw std::invalid_argument("--p500 + --preset + --phang must not exceed 1");
}

void fault_plan::add_hash_fault(const core::key_hash& hash, hash_fault f) {
  auto& table = f.kind == fault::ghost ? ghosts_ : f.kind == fault::lost ? losts_ : by_hash_;
  auto [it, inserted] = table.try_emplace(hash);
  it->second.kind = f.kind;
  it->second.remaining.store(f.times, std::memory_order_relaxed);
}

void fault_plan::load_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open fault file " + path);
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    try {
      if (auto parsed = parse_fault_line(line)) add_hash_fault(parsed->first, parsed->second);
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(path + ":" + std::to_string(line_no) + ": " + e.what());
    }
  }
}

double fault_plan::uniform() {
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

std::chrono::microseconds fault_plan::draw_latency() {
  double ms = latency_ms_;
  switch (dist_) {
    case latency_dist::fixed: break;
    case latency_dist::exp: ms = -latency_ms_ * std::log1p(-uniform()); break;
    case latency_dist::lognormal: {
      // Box-Muller; median latency_ms, sigma 1.
      const double u1 = 1.0 - uniform();  // (0, 1]
      const double u2 = uniform();
      const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
      ms = latency_ms_ * std::exp(z);
      break;
    }
  }
  ms = std::clamp(ms, 0.0, max_latency_ms);
  return std::chrono::microseconds{static_cast<std::int64_t>(ms * 1000.0)};
}

bool fault_plan::consume(hash_entry& entry) noexcept {
  auto& remaining = entry.remaining;
  std::int64_t left = remaining.load(std::memory_order_relaxed);
  while (left != 0) {
    if (left < 0) return true;
    if (remaining.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) return true;
  }
  return false;
}

void fault_plan::set_ghost_rate(double p) noexcept { ghost_rate_ = std::clamp(p, 0.0, 1.0); }

bool fault_plan::take_ghost(const core::key_hash& hash) {
  bool ghost = false;
  if (!ghosts_.empty())
    if (const auto it = ghosts_.find(hash); it != ghosts_.end()) ghost = consume(it->second);
  if (ghost_rate_ > 0) {
    std::lock_guard lock(rng_mutex_);
    const double u = uniform();  // always drawn, so the sequence does not depend on per-hash hits
    ghost = ghost || u < ghost_rate_;
  }
  return ghost;
}

bool fault_plan::take_lost(const core::key_hash& hash) {
  if (losts_.empty()) return false;
  const auto it = losts_.find(hash);
  return it != losts_.end() && consume(it->second);
}

fault_decision fault_plan::decide(const core::key_hash* hash) {
  fault_decision d;
  if (hash != nullptr && !by_hash_.empty()) {
    if (const auto it = by_hash_.find(*hash); it != by_hash_.end())
      if (consume(it->second)) d.kind = it->second.kind;
  }
  if (!random_faults_ && latency_ms_ <= 0) return d;
  std::lock_guard lock(rng_mutex_);
  if (random_faults_) {
    const double u = uniform();  // always drawn, so the sequence does not depend on per-hash hits
    if (d.kind == fault::none) {
      if (u < p500_)
        d.kind = fault::status_500;
      else if (u < p500_ + preset_)
        d.kind = fault::reset;
      else if (u < p500_ + preset_ + phang_)
        d.kind = fault::hang;
    }
  }
  if (latency_ms_ > 0) {
    const auto latency = draw_latency();  // drawn for every request: a stable sequence per seed
    if (d.kind != fault::reset && d.kind != fault::hang) d.latency = latency;
  }
  return d;
}

}  // namespace keyrevoke::mock
