// Over 400 lines on purpose: the flat hash table, the Fenwick trees behind listing and the journal share
// the store's locking; one file keeps that discipline in one view.
#include "keyrevoke/mock/key_store.hpp"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace keyrevoke::mock {
namespace {

constexpr std::size_t shard_count = 256;  // by the hash's first byte
constexpr std::uint64_t max_unknown_tracked = 1u << 20;

std::uint64_t splitmix64(std::uint64_t& state) noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

std::uint64_t ordinal_state(std::uint64_t seed, std::uint32_t ordinal) noexcept {
  std::uint64_t s = seed * 0x2545f4914f6cdd1dULL + ordinal;
  return splitmix64(s);
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

constexpr std::uint32_t empty_slot = 0xffffffffu;

std::uint64_t slot_hash(const key_hash& h) noexcept {
  std::uint64_t v = 0;
  std::memcpy(&v, h.data() + 8, sizeof v);  // key hashes are uniform already
  return v;
}

// Slots for n keys: a power of two, at most half full.
std::size_t index_size_for(std::size_t n) {
  std::size_t size = 16;
  while (size < 2 * n) size *= 2;
  return size;
}

}  // namespace

std::string format_iso8601(unix_seconds t) {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  const std::chrono::hh_mm_ss hms{t - day};
  char out[32];
  std::snprintf(out, sizeof out, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return out;
}

struct key_store::entry {
  // Immutable after load.
  key_hash hash{};
  std::uint32_t ordinal = 0;
  unix_seconds created_at{};
  std::optional<double> limit;
  double usage = 0;
  std::uint8_t label_kind = 0;
  bool management = false;  // the management key's own hash (--management-key-listed)
  // Guarded by the hash's shard mutex.
  bool deleted = false;
  bool disabled = false;
  std::optional<unix_seconds> updated_at;
  std::uint32_t delete_requests = 0;
  std::uint32_t deletes_ok = 0;
  std::uint32_t not_found_after_delete = 0;
  std::uint32_t patch_requests = 0;
  std::uint32_t get_requests = 0;
};

// A Fenwick tree of atomic counts: point updates from any thread, k-th element search.
// Readers racing writers see some recent state, which is what a live listing is anyway.
class key_store::fenwick {
 public:
  explicit fenwick(const std::vector<bool>& present) : tree_(present.size() + 1) {
    std::vector<std::int32_t> t(present.size() + 1, 0);
    for (std::size_t i = 1; i <= present.size(); ++i) {
      t[i] += present[i - 1] ? 1 : 0;
      const std::size_t parent = i + (i & (~i + 1));
      if (parent <= present.size()) t[parent] += t[i];
    }
    for (std::size_t i = 0; i < t.size(); ++i) tree_[i].store(t[i], std::memory_order_relaxed);
  }
  void add(std::size_t pos, std::int32_t delta) noexcept {
    for (std::size_t i = pos + 1; i < tree_.size(); i += i & (~i + 1))
      tree_[i].fetch_add(delta, std::memory_order_relaxed);
  }
  // 0-based position of the k-th (1-based) present element, or size() if there are fewer.
  std::size_t find_kth(std::size_t k) const noexcept {
    const std::size_t n = tree_.size() - 1;
    std::size_t pos = 0;
    std::size_t step = 1;
    while (step * 2 <= n) step *= 2;
    auto remaining = static_cast<std::int64_t>(k);
    for (; step > 0; step /= 2) {
      const std::size_t next = pos + step;
      if (next <= n) {
        const std::int64_t v = tree_[next].load(std::memory_order_relaxed);
        if (v < remaining) {
          pos = next;
          remaining -= v;
        }
      }
    }
    return pos;  // pos is the count of elements before the k-th, i.e. its 0-based index
  }

 private:
  std::vector<std::atomic<std::int32_t>> tree_;
};

std::size_t key_store::hash_hasher::operator()(const key_hash& h) const noexcept {
  return static_cast<std::size_t>(slot_hash(h));
}

key_store::key_store(std::vector<entry> entries, std::uint64_t seed)
    : entries_(std::move(entries)), seed_(seed), shards_(new shard[shard_count]) {
  std::sort(entries_.begin(), entries_.end(), [](const entry& a, const entry& b) {
    if (a.created_at != b.created_at) return a.created_at > b.created_at;
    return a.hash < b.hash;
  });
  std::vector<bool> all(entries_.size(), true);
  std::vector<bool> enabled(entries_.size());
  index_.assign(index_size_for(entries_.size()), empty_slot);
  index_mask_ = index_.size() - 1;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].management) management_pos_ = i;
    enabled[i] = !entries_[i].disabled;
    if (entries_[i].disabled) disabled_.fetch_add(1, std::memory_order_relaxed);
    std::size_t slot = slot_hash(entries_[i].hash) & index_mask_;
    while (index_[slot] != empty_slot) slot = (slot + 1) & index_mask_;
    index_[slot] = static_cast<std::uint32_t>(i);
  }
  all_visible_ = std::make_unique<fenwick>(all);
  enabled_visible_ = std::make_unique<fenwick>(enabled);
}

key_store::~key_store() {
  if (journal_ != nullptr) std::fclose(journal_);
}

std::unique_ptr<key_store> key_store::from_hashes(std::vector<key_hash> hashes, std::uint64_t seed,
                                                  unix_seconds now, std::optional<key_hash> management) {
  // Drop duplicates, keeping each hash's first occurrence (a flat table of input positions).
  std::vector<std::uint32_t> seen(index_size_for(hashes.size()), empty_slot);
  const std::size_t mask = seen.size() - 1;
  std::vector<key_hash> unique;
  unique.reserve(hashes.size());
  for (const auto& h : hashes) {
    std::size_t slot = slot_hash(h) & mask;
    bool duplicate = false;
    for (; seen[slot] != empty_slot; slot = (slot + 1) & mask) {
      if (unique[seen[slot]] == h) {
        duplicate = true;
        break;
      }
    }
    if (duplicate) continue;
    seen[slot] = static_cast<std::uint32_t>(unique.size());
    unique.push_back(h);
  }
  const std::size_t ordinary = unique.size();
  if (management && std::find(unique.begin(), unique.end(), *management) == unique.end())
    unique.push_back(*management);  // last ordinal: generation order stays that of the others

  const auto base = std::chrono::floor<std::chrono::days>(now);
  std::vector<entry> entries(unique.size());
  for (std::size_t i = 0; i < unique.size(); ++i) {
    entry& e = entries[i];
    e.hash = unique[i];
    e.ordinal = static_cast<std::uint32_t>(i);
    std::uint64_t s = ordinal_state(seed, e.ordinal);
    const std::uint64_t r = splitmix64(s);
    e.created_at = unix_seconds{base.time_since_epoch()} -
                   std::chrono::seconds{static_cast<std::int64_t>(r % (90ULL * 86400ULL)) + 1};
    const std::uint64_t r2 = splitmix64(s);
    e.label_kind = static_cast<std::uint8_t>(r2 % 10);
    static constexpr double limits[] = {10, 50, 100, 1000};
    if ((r2 >> 8) % 2 == 0) e.limit = limits[(r2 >> 16) % 4];
    e.usage = static_cast<double>((r2 >> 24) % 100000) / 100.0;
    if (e.limit) e.usage = std::min(e.usage, *e.limit);
    e.disabled = (r2 >> 40) % 20 == 0;  // about 5% start disabled
    if (i >= ordinary) {
      e.management = true;
      e.disabled = false;
      e.limit.reset();
    }
  }
  return std::unique_ptr<key_store>(new key_store(std::move(entries), seed));
}

std::unique_ptr<key_store> key_store::generate(std::size_t count, std::uint64_t seed, unix_seconds now,
                                               std::optional<key_hash> management) {
  std::vector<key_hash> hashes(count);
  std::uint64_t state = seed ^ 0x6b65797265766f6bULL;  // "keyrevok"
  for (auto& h : hashes) {
    for (std::size_t i = 0; i < h.size(); i += 8) {
      const std::uint64_t v = splitmix64(state);
      std::memcpy(h.data() + i, &v, 8);
    }
  }
  return from_hashes(std::move(hashes), seed, now, management);
}

std::unique_ptr<key_store> key_store::load_file(const std::string& path, std::uint64_t seed,
                                                unix_seconds now, std::optional<key_hash> management) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open keys file " + path);
  std::vector<key_hash> hashes;
  std::string line;
  std::size_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    const auto text = trim(line);
    if (text.empty() || text.front() == '#') continue;
    const auto h = core::parse_key_hash(text);
    if (!h) throw std::runtime_error(path + ":" + std::to_string(line_no) + ": not a 64-hex-digit key hash");
    hashes.push_back(*h);
  }
  return from_hashes(std::move(hashes), seed, now, management);
}

key_store::shard& key_store::shard_of(const key_hash& h) const noexcept { return shards_[h[0]]; }

std::size_t key_store::find(const key_hash& h) const noexcept {
  for (std::size_t slot = slot_hash(h) & index_mask_;; slot = (slot + 1) & index_mask_) {
    const std::uint32_t pos = index_[slot];
    if (pos == empty_slot) return npos;
    if (entries_[pos].hash == h) return pos;
  }
}

key_view key_store::view_of(const entry& e) const {
  static constexpr const char* label_prefixes[] = {"ci-", "ci-", "ci-", "ci-", "prod-",
                                                   "prod-", "prod-", "staging-", "staging-", "dev-"};
  key_view v;
  v.hash = e.hash;
  v.ordinal = e.ordinal;
  if (e.management) {
    v.name = "management";
    v.label = "mgmt";
  } else {
    char name[24];
    std::snprintf(name, sizeof name, "key-%06u", e.ordinal);
    v.name = name;
    v.label = std::string(label_prefixes[e.label_kind % 10]) + std::to_string(e.ordinal);
  }
  v.disabled = e.disabled;
  v.limit = e.limit;
  v.usage = e.usage;
  v.created_at = e.created_at;
  v.updated_at = e.updated_at;
  return v;
}

bool key_store::mark_deleted_locked(entry& e) {
  if (e.deleted) return false;
  e.deleted = true;
  e.deletes_ok = 1;
  const auto pos = static_cast<std::size_t>(&e - entries_.data());
  all_visible_->add(pos, -1);
  if (e.disabled) {
    disabled_.fetch_sub(1, std::memory_order_relaxed);  // counts live disabled keys only
  } else {
    enabled_visible_->add(pos, -1);
  }
  deleted_.fetch_add(1, std::memory_order_relaxed);
  if (e.management) management_revoked_.store(true);
  return true;
}

key_store::unknown_entry* key_store::track_unknown_locked(shard& sh, const key_hash& hash) {
  auto u = sh.unknown.find(hash);
  if (u == sh.unknown.end()) {
    // Bounded: past max_unknown_tracked hashes, new unknown hashes are answered but not counted.
    if (unknown_tracked_.load(std::memory_order_relaxed) >= max_unknown_tracked) return nullptr;
    unknown_tracked_.fetch_add(1, std::memory_order_relaxed);
    u = sh.unknown.emplace(hash, unknown_entry{}).first;
  }
  return &u->second;
}

void key_store::count_delete_locked(std::uint32_t& delete_requests) noexcept {
  if (++delete_requests == 2) repeated_.fetch_add(1, std::memory_order_relaxed);
}

void key_store::count_patch_locked(std::uint32_t& patch_requests) noexcept {
  patch_requests_.fetch_add(1, std::memory_order_relaxed);
  if (++patch_requests == 2) patched_repeated_.fetch_add(1, std::memory_order_relaxed);
}

hash_counters key_store::counters_of(const entry& e) {
  return {e.hash,           true, e.deleted, e.delete_requests, e.deletes_ok, e.not_found_after_delete,
          e.patch_requests, e.get_requests};
}

std::size_t key_store::open_journal(const std::string& path) {
  std::size_t replayed = 0;
  bool torn_tail = false;  // killed mid-line: the next append must start on a fresh line
  if (std::ifstream in(path); in) {
    std::string line;
    while (std::getline(in, line)) {
      torn_tail = in.eof();  // getline hit the end before a '\n'

      const auto h = core::parse_key_hash(trim(line));
      if (!h) continue;  // a torn last line from a kill: ignore it
      const std::size_t pos = find(*h);
      if (pos == npos) continue;  // not in this store (another seed or keys file)
      std::lock_guard lock(shard_of(*h).mutex);
      if (mark_deleted_locked(entries_[pos])) ++replayed;
    }
  }
  std::lock_guard lock(journal_mutex_);
  journal_ = std::fopen(path.c_str(), "a");
  if (journal_ == nullptr) throw std::runtime_error("cannot open store journal " + path);
  if (torn_tail) {
    std::fputc('\n', journal_);
    std::fflush(journal_);
  }
  return replayed;
}

void key_store::journal_append(const key_hash& hash) {
  char line[core::key_hash_hex_size + 1];
  core::write_hex(hash, line);
  line[core::key_hash_hex_size] = '\n';
  std::lock_guard lock(journal_mutex_);
  if (journal_ == nullptr) return;
  std::fwrite(line, 1, sizeof line, journal_);
  std::fflush(journal_);  // survives a kill -9 of the mock (not a power cut: no fsync)
}

erase_result key_store::erase(const key_hash& hash) {
  auto& sh = shard_of(hash);
  const std::size_t pos = find(hash);
  bool journal = false;
  {
    std::lock_guard lock(sh.mutex);
    if (pos == npos) {
      unknown_deletes_.fetch_add(1, std::memory_order_relaxed);
      if (auto* u = track_unknown_locked(sh, hash)) count_delete_locked(u->delete_requests);
      return erase_result::not_found;
    }
    entry& e = entries_[pos];
    count_delete_locked(e.delete_requests);
    if (e.deleted) {
      ++e.not_found_after_delete;
      not_found_after_delete_.fetch_add(1, std::memory_order_relaxed);
      return erase_result::not_found;
    }
    mark_deleted_locked(e);
    journal = true;
  }
  if (journal) journal_append(hash);
  return erase_result::deleted;
}

std::optional<key_view> key_store::get(const key_hash& hash) const {
  const std::size_t pos = find(hash);
  if (pos == npos) return std::nullopt;
  std::lock_guard lock(shard_of(hash).mutex);
  if (entries_[pos].deleted) return std::nullopt;
  return view_of(entries_[pos]);
}

std::optional<key_view> key_store::get_counted(const key_hash& hash) {
  auto& sh = shard_of(hash);
  const std::size_t pos = find(hash);
  get_requests_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(sh.mutex);
  if (pos == npos) {
    if (auto* u = track_unknown_locked(sh, hash)) ++u->get_requests;
    return std::nullopt;
  }
  entry& e = entries_[pos];
  ++e.get_requests;
  if (e.deleted) return std::nullopt;
  return view_of(e);
}

bool key_store::ghost_erase(const key_hash& hash) {
  auto& sh = shard_of(hash);
  const std::size_t pos = find(hash);
  std::lock_guard lock(sh.mutex);
  if (pos == npos) {
    unknown_deletes_.fetch_add(1, std::memory_order_relaxed);
    if (auto* u = track_unknown_locked(sh, hash)) count_delete_locked(u->delete_requests);
    return false;
  }
  entry& e = entries_[pos];
  count_delete_locked(e.delete_requests);
  if (e.deleted) {  // a real 404: the key is gone, nothing to lie about
    ++e.not_found_after_delete;
    not_found_after_delete_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  return true;
}

std::optional<key_view> key_store::ghost_set_disabled(const key_hash& hash, bool disabled, unix_seconds now) {
  return patch(hash, disabled, now, false);
}

std::optional<key_view> key_store::set_disabled(const key_hash& hash, bool disabled, unix_seconds now) {
  return patch(hash, disabled, now, true);
}

// A PATCH that reached the store: counted either way; applied unless it is a ghost (then the answer
// shows the asked-for state and the store is unchanged).
std::optional<key_view> key_store::patch(const key_hash& hash, bool disabled, unix_seconds now, bool apply) {
  auto& sh = shard_of(hash);
  const std::size_t pos = find(hash);
  std::lock_guard lock(sh.mutex);
  if (pos == npos) {
    if (auto* u = track_unknown_locked(sh, hash)) count_patch_locked(u->patch_requests);
    else patch_requests_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  entry& e = entries_[pos];
  count_patch_locked(e.patch_requests);
  if (e.deleted) return std::nullopt;
  if (!apply) {
    auto v = view_of(e);
    v.disabled = disabled;
    v.updated_at = now;
    return v;
  }
  if (e.management && disabled) management_revoked_.store(true);
  if (e.disabled != disabled) {
    e.disabled = disabled;
    enabled_visible_->add(pos, disabled ? -1 : 1);
    if (disabled)
      disabled_.fetch_add(1, std::memory_order_relaxed);
    else
      disabled_.fetch_sub(1, std::memory_order_relaxed);
  }
  e.updated_at = now;
  return view_of(e);
}

std::vector<key_view> key_store::list(std::size_t offset, bool include_disabled, std::size_t limit) const {
  std::vector<key_view> page;
  const fenwick& tree = include_disabled ? *all_visible_ : *enabled_visible_;
  std::size_t pos = tree.find_kth(offset + 1);
  page.reserve(std::min<std::size_t>(limit, 1000));
  for (; pos < entries_.size() && page.size() < limit; ++pos) {
    const entry& e = entries_[pos];
    std::lock_guard lock(shard_of(e.hash).mutex);
    if (e.deleted || (!include_disabled && e.disabled)) continue;
    page.push_back(view_of(e));
  }
  return page;
}

store_totals key_store::totals() const noexcept {
  store_totals t;
  t.total = entries_.size();
  t.deleted = deleted_.load(std::memory_order_relaxed);
  t.remaining = t.total - t.deleted;
  t.disabled = disabled_.load(std::memory_order_relaxed);
  return t;
}

std::optional<hash_counters> key_store::counters(const key_hash& hash) const {
  auto& sh = shard_of(hash);
  const std::size_t pos = find(hash);
  std::lock_guard lock(sh.mutex);
  if (pos != npos) return counters_of(entries_[pos]);
  if (const auto u = sh.unknown.find(hash); u != sh.unknown.end())
    return hash_counters{hash, false, false, u->second.delete_requests, 0, 0, u->second.patch_requests,
                         u->second.get_requests};
  return std::nullopt;
}

std::vector<hash_counters> key_store::repeated_hashes() const {
  std::vector<hash_counters> out;
  for (const entry& e : entries_) {
    std::lock_guard lock(shard_of(e.hash).mutex);
    if (e.delete_requests > 1 || e.patch_requests > 1) out.push_back(counters_of(e));
  }
  for (std::size_t s = 0; s < shard_count; ++s) {
    const shard& sh = shards_[s];
    std::lock_guard lock(sh.mutex);
    for (const auto& [hash, u] : sh.unknown)
      if (u.delete_requests > 1 || u.patch_requests > 1)
        out.push_back({hash, false, false, u.delete_requests, 0, 0, u.patch_requests, u.get_requests});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.hash < b.hash; });
  return out;
}

std::vector<key_hash> key_store::hashes_in_generation_order() const {
  std::vector<key_hash> out(entries_.size() - (management_key_listed() ? 1 : 0));
  for (const auto& e : entries_)
    if (!e.management) out[e.ordinal] = e.hash;
  return out;
}

}  // namespace keyrevoke::mock
