#pragma once
// When the pool resolves its origin's host name again, and in which order a dial tries the addresses
// the name resolved to. Pure: time is a parameter; the pool holds the addresses themselves.
//
// Why: a name resolved once per process keeps pointing at the old address after a failover (the
// name moved, by DNS or /etc/hosts, and the old address died): the run failed every request until
// it gave up (504 of 2,000 keys deleted; issue 15, item 2).
//
// The rules:
//  - The next dial resolves the name first when a dial to the current addresses failed since the
//    last resolution was attempted (every address had been tried), or when that attempt is
//    `refresh` old (30 s, a bounded staleness whatever the records' TTL, which getaddrinfo does not
//    report). A dial that started before the latest attempt and fails after it does not ask again:
//    the attempt already answered it. Only one resolution runs at a time (the pool's part).
//  - A failed resolution keeps the addresses there were: a resolver outage alone does not stop a
//    server that still answers. It counts as an attempt: the next one waits for a failed dial or
//    for `refresh` again.
//  - A dial tries every address, one after the other, each within --timeout: first the one that
//    last connected (if the latest resolution still has it), then the others in the resolver's
//    order (getaddrinfo sorts them by RFC 6724).
// So in an outage each probe whose dial failed makes the next probe's dial resolve afresh: the run
// gives up (server_health's rule, at least 5 failed probes) only when fresh resolutions failed too.

#include "keyrevoke/core/clock.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>

namespace keyrevoke::core {

struct dial_addresses_config {
  millis refresh{30000};  // resolve again when the last attempt is this old, ms (> 0)
};

class dial_addresses {
 public:
  explicit dial_addresses(const dial_addresses_config& config) noexcept;

  // Must the next dial resolve the name first? Always before any resolution was attempted.
  bool needs_resolution(steady_time now) const noexcept;

  // A resolution gave `count` (>= 1) addresses; `kept`: where in them the address that last
  // connected is, if there. Starts a new generation.
  void on_resolved(steady_time now, std::size_t count, std::optional<std::size_t> kept) noexcept;
  // A resolution failed (or gave no address): the addresses stay. Starts a new generation.
  void on_resolve_failed(steady_time now) noexcept;

  // The generation a dial starts in (for on_dial_failed and on_connected).
  std::uint64_t generation() const noexcept { return generation_; }
  std::size_t count() const noexcept { return count_; }  // addresses to try; 0 before any resolved
  // The address (its index in the resolver's list) for a dial's k-th try, 0 <= k < count().
  std::size_t pick(std::size_t k) const noexcept { return count_ == 0 ? 0 : (preferred_ + k) % count_; }
  std::size_t preferred() const noexcept { return preferred_; }

  // A dial that started in `generation` connected to address `index`: dials try it first.
  void on_connected(std::uint64_t generation, std::size_t index) noexcept;
  // A dial that started in `generation` failed at every address.
  void on_dial_failed(std::uint64_t generation) noexcept;

 private:
  dial_addresses_config config_;
  bool attempted_ = false;
  bool stale_ = false;  // a dial of this generation failed
  steady_time attempted_at_{};
  std::uint64_t generation_ = 0;
  std::size_t count_ = 0;
  std::size_t preferred_ = 0;
};

}  // namespace keyrevoke::core
