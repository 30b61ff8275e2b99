#pragma once
// What goes wrong with a request: chosen per request by probability (seeded, deterministic for a
// given sequence of draws) or per listed hash, plus the latency added before the handler runs.
// Pure: the randomness is a seeded generator owned here; no clock, no sockets. Thread-safe.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "keyrevoke/core/key_hash.hpp"

namespace keyrevoke::mock {

enum class fault {
  none,
  status_500,  // answer 500 with an error body
  status_400,  // answer 400 with an error body
  reset,       // close the TCP connection abruptly (RST) before answering
  hang,        // never answer; keep the socket open until the client closes or the mock stops
  ghost,       // a DELETE/PATCH answers success but the store is not changed (fault file only;
               // decide() never returns it: see take_ghost())
  lost,        // a DELETE/PATCH is applied to the store, then answered 504 with a gateway's HTML
               // page: a gateway that timed out on a backend that did the work (fault file only;
               // decide() never returns it: see take_lost())
};

std::string_view to_string(fault f);

enum class latency_dist { fixed, exp, lognormal };
std::optional<latency_dist> parse_latency_dist(std::string_view text);
std::string_view to_string(latency_dist d);

// A per-hash fault from the fault file: `<hash> <kind> [count]`.
// kinds: 500, reset, hang (once, or `count` times), 400 and always500 (every request), ghost (every
// DELETE/PATCH of the hash, or its first `count`; other methods neither meet nor consume it), lost
// (the first applied DELETE/PATCH of the hash, or its first `count`; a write the store refuses with
// 404 neither meets nor consumes it).
struct hash_fault {
  fault kind = fault::none;
  std::int64_t times = 1;  // < 0: every request
};

// Parses one fault-file line; nullopt for blank/comment lines; throws std::invalid_argument on junk.
std::optional<std::pair<core::key_hash, hash_fault>> parse_fault_line(std::string_view line);

struct fault_decision {
  fault kind = fault::none;
  std::chrono::microseconds latency{0};
};

// Latency: `fixed` is exactly latency_ms; `exp` has mean latency_ms (p99 ~ 4.6x); `lognormal` has
// median latency_ms and sigma 1 (p99 ~ 10x, the long tail). Draws are capped at 60 s.
class fault_plan {
 public:
  fault_plan(double p500, double preset, double phang, double latency_ms, latency_dist dist,
             std::uint64_t seed);

  // A ghost (and a lost answer) goes to its own table: a hash can have both and another fault.
  void add_hash_fault(const core::key_hash& hash, hash_fault f);
  void load_file(const std::string& path);  // throws std::runtime_error naming the bad line
  std::size_t hash_fault_count() const noexcept { return by_hash_.size() + ghosts_.size() + losts_.size(); }

  // Probability that a DELETE/PATCH reaching the handler is a ghost write (clamped to [0, 1]).
  // Drawn from the same seeded generator, only when > 0 (so --seed sequences stay as they were).
  void set_ghost_rate(double p) noexcept;
  // Called by the handler for a DELETE/PATCH of `hash` it is about to apply: true when this write
  // must be a ghost (consumes a counted ghost fault; else draws against the ghost rate). A ghost
  // meeting a key that does not exist (or no longer does) gets the real 404: nothing to lie about.
  bool take_ghost(const core::key_hash& hash);
  bool ghosts_active() const noexcept { return ghost_rate_ > 0 || !ghosts_.empty(); }

  // Called by the handler after the store applied a DELETE/PATCH of `hash`: true when its answer
  // must be lost (a 504 instead of the success); consumes one use of the hash's `lost` fault.
  bool take_lost(const core::key_hash& hash);
  bool losts_active() const noexcept { return !losts_.empty(); }

  // `hash` is the request's key hash when it has one. Per-hash faults win over probabilities.
  fault_decision decide(const core::key_hash* hash);

  bool active() const noexcept { return random_faults_ || latency_ms_ > 0 || !by_hash_.empty(); }

 private:
  struct hash_hasher {
    std::size_t operator()(const core::key_hash& h) const noexcept;
  };
  struct hash_entry {
    fault kind;
    std::atomic<std::int64_t> remaining;  // < 0: forever
  };
  double uniform();  // [0, 1); caller holds rng_mutex_
  std::chrono::microseconds draw_latency();
  // Takes one use of a counted entry (always true for a permanent one); false once used up.
  static bool consume(hash_entry& entry) noexcept;

  double p500_, preset_, phang_, latency_ms_;
  double ghost_rate_ = 0;
  latency_dist dist_;
  bool random_faults_;
  std::mutex rng_mutex_;
  std::mt19937_64 rng_;
  std::unordered_map<core::key_hash, hash_entry, hash_hasher> by_hash_;  // read-only once serving
  std::unordered_map<core::key_hash, hash_entry, hash_hasher> ghosts_;   // likewise
  std::unordered_map<core::key_hash, hash_entry, hash_hasher> losts_;    // likewise
};

}  // namespace keyrevoke::mock
