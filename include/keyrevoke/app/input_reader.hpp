#pragma once
// Reads hash lists on a thread of its own (a slow pipe never blocks the network), validates and
// de-duplicates them, and hands batches to the pipeline. Backpressure: at most `max_batches` batches
// are outstanding, so a 10-million-line file or an endless pipe is never read ahead of the workers.

#include "keyrevoke/core/hash_set.hpp"
#include "keyrevoke/core/key_hash.hpp"
#include "keyrevoke/core/selection.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <semaphore>
#include <string>
#include <thread>
#include <vector>

namespace keyrevoke::app {

struct invalid_entry {
  std::uint64_t line;
  std::uint32_t source;  // index into input_reader::source_names()
  std::string preview;   // redacted
  std::string_view reason;
};

// Which valid hashes a run takes, and what happens to the others. Every pointer may be null and
// must outlive the reader. Checked in this order after de-duplication: shard, protect, plan, done.
struct input_filter {
  core::shard_spec shard{};                  // --shard: other shards' hashes are skipped (counted)
  const core::hash_set* protect = nullptr;   // --protect: reported "protected", never sent
  const core::hash_set* plan = nullptr;      // --confirm: a hash outside it is reported invalid
  const core::hash_set* done = nullptr;      // --resume: a final row is already in the report
  const core::hash_set* verified = nullptr;  // --resume --verify: done hashes proven by a verify row
  bool verify_done = false;                  // done hashes not in `verified` come back in verify_only
  // --resume: done hashes a verify row showed still present (mismatch) and none proved since: they are
  // acted on again, not skipped.
  const core::hash_set* mismatched = nullptr;
};

struct input_batch {
  std::vector<core::key_hash> hashes;  // valid, first occurrence, selected, not already done
  std::vector<core::key_hash> verify_only;  // done in the resumed report, not yet verified
  std::vector<core::key_hash> protected_hashes;
  std::vector<invalid_entry> invalid;
  std::uint64_t lines = 0;
  std::uint64_t hash_lines = 0;  // lines holding a hash or an invalid line (not blank, not a comment)
  std::uint64_t duplicates = 0;
  std::uint64_t already_done = 0;  // skipped: a final row in the resumed report
  std::uint64_t other_shard = 0;   // skipped: another runner's share
  bool last = false;               // no batch follows
  std::string error;               // a read error (the input is cut short)
};

class input_reader {
 public:
  using deliver_fn = std::function<void(input_batch&&)>;

  // paths: empty means stdin; "-" is stdin.
  input_reader(std::vector<std::string> paths, input_filter filter, std::size_t batch_size = 1024,
               std::ptrdiff_t max_batches = 4);
  ~input_reader();
  input_reader(const input_reader&) = delete;
  input_reader& operator=(const input_reader&) = delete;

  // Opens every input up front, so a missing file is an error before anything is sent.
  // Returns an error sentence, or empty. A regular file (stdin too) whose first bytes look like
  // UTF-16 without a byte-order mark is such an error; UTF-16 with a BOM (LE or BE) is decoded to
  // UTF-8 as it is read (core/utf16.hpp), for files and pipes alike.
  std::string open_all();

  // Starts the thread; deliver is called on it (it must hand the batch to the pipeline's thread).
  void start(deliver_fn deliver);
  // The pipeline has consumed one batch: the reader may read another.
  void release_batch() { credits_.release(); }
  // Stop reading at the next line; wakes the thread even if it waits on a pipe.
  void stop();
  // Whether every input is a regular file (reading it to the end cannot block forever).
  bool inputs_are_files() const noexcept { return all_regular_; }
  const std::vector<std::string>& source_names() const noexcept { return names_; }

  // Reads everything on the calling thread (for --dry-run).
  void read_all(const deliver_fn& deliver);

 private:
  void run(const deliver_fn& deliver);
  // The BOM-less UTF-16 check of a regular file, peeking its first bytes (error sentence or empty).
  static std::string check_encoding(int fd, const std::string& name);
  void take(input_batch& batch, const core::key_hash& hash, std::uint64_t line, std::size_t source);
  bool wait_readable(int fd);  // false: stop was asked

  std::vector<std::string> paths_;
  std::vector<std::string> names_;
  std::vector<int> fds_;
  std::vector<bool> regular_;
  int stop_fd_ = -1;
  input_filter filter_;
  core::hash_set seen_;
  std::size_t batch_size_;
  std::counting_semaphore<1024> credits_;
  std::atomic<bool> stop_{false};
  bool all_regular_ = true;
  std::thread thread_;
};

}  // namespace keyrevoke::app
