#include "keyrevoke/app/input_reader.hpp"

#include "keyrevoke/app/options.hpp"
#include "keyrevoke/core/redact.hpp"
#include "keyrevoke/core/hash_line.hpp"
#include "keyrevoke/core/line_splitter.hpp"
#include "keyrevoke/core/utf16.hpp"

#include <cerrno>
#include <system_error>
#include <cstring>

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

namespace keyrevoke::app {

input_reader::input_reader(std::vector<std::string> paths, input_filter filter, std::size_t batch_size,
                           std::ptrdiff_t max_batches)
    : paths_{std::move(paths)}, filter_{filter}, batch_size_{batch_size}, credits_{max_batches} {
  if (paths_.empty()) paths_.emplace_back("-");
  stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
}

input_reader::~input_reader() {
  // The thread first: closing descriptors it may still read would let a new file reuse their
  // numbers under it.
  if (thread_.joinable()) {
    stop();
    thread_.join();
  }
  for (const int fd : fds_) {
    if (fd > STDIN_FILENO) ::close(fd);
  }
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

std::string input_reader::open_all() {
  for (const std::string& path : paths_) {
    int fd = STDIN_FILENO;
    if (path == "-") {
      names_.emplace_back("<stdin>");
    } else {
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0) return "cannot open input file '" + core::safe_display(path) + "': " + std::generic_category().message(errno);
      names_.push_back(path);
    }
    fds_.push_back(fd);
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
      return "input '" + core::safe_display(path) + "' is a directory";
    }
    const bool regular = ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    regular_.push_back(regular);
    if (!regular) all_regular_ = false;
    if (regular) {
      if (std::string error = check_encoding(fd, names_.back()); !error.empty()) return error;
    }
  }
  return {};
}

std::string input_reader::check_encoding(int fd, const std::string& name) {
  // Peek without moving the read position (stdin may be a file the shell opened for us).
  const off_t at = ::lseek(fd, 0, SEEK_CUR);
  if (at < 0) return {};
  char head[512];
  ssize_t n = -1;
  do {
    n = ::pread(fd, head, sizeof head, at);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return {};  // a read error shows up (and is reported) when the input is read
  const std::string_view bytes{head, static_cast<std::size_t>(n)};
  if (core::sniff_encoding(bytes) == core::input_encoding::utf8 && core::looks_like_bomless_utf16(bytes)) {
    return "input '" + core::safe_display(name) +
           "' looks like UTF-16 without a byte-order mark; save it as UTF-8 (or as UTF-16 with a BOM)";
  }
  return {};
}

void input_reader::start(deliver_fn deliver) {
  thread_ = std::thread{[this, deliver = std::move(deliver)] { run(deliver); }};
}

void input_reader::stop() {
  if (stop_.exchange(true)) return;
  credits_.release();  // wake the reader if it waits for the pipeline
  const std::uint64_t one = 1;
  if (stop_fd_ >= 0) (void)!::write(stop_fd_, &one, sizeof one);  // wake it if it waits on a pipe
}

bool input_reader::wait_readable(int fd) {
  pollfd fds[2] = {{fd, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  for (;;) {
    const int n = ::poll(fds, stop_fd_ >= 0 ? 2 : 1, -1);
    if (n < 0 && errno == EINTR) continue;
    return !stop_.load() && (n <= 0 || (fds[1].revents & POLLIN) == 0);
  }
}

void input_reader::read_all(const deliver_fn& deliver) {
  // Without a consumer thread releasing credits, give every batch its credit back at once.
  run([&](input_batch&& batch) {
    deliver(std::move(batch));
    credits_.release();
  });
}

void input_reader::take(input_batch& batch, const core::key_hash& hash, std::uint64_t line, std::size_t source) {
  if (!seen_.insert(hash)) {
    ++batch.duplicates;
  } else if (filter_.shard.count > 1 && core::shard_of(hash, filter_.shard.count) != filter_.shard.index) {
    ++batch.other_shard;
  } else if (filter_.protect != nullptr && filter_.protect->contains(hash)) {
    batch.protected_hashes.push_back(hash);
  } else if (filter_.plan != nullptr && !filter_.plan->contains(hash)) {
    batch.invalid.push_back({line, static_cast<std::uint32_t>(source), core::to_hex(hash),
                             "not in the confirmed plan (the input changed after --plan?); not sent"});
  } else if (filter_.done != nullptr && filter_.done->contains(hash) &&
             !(filter_.mismatched != nullptr && filter_.mismatched->contains(hash) &&
               (filter_.verified == nullptr || !filter_.verified->contains(hash)))) {
    if (filter_.verify_done && (filter_.verified == nullptr || !filter_.verified->contains(hash))) {
      batch.verify_only.push_back(hash);
    } else {
      ++batch.already_done;
    }
  } else {
    batch.hashes.push_back(hash);
  }
}

void input_reader::run(const deliver_fn& deliver) {
  input_batch batch;
  batch.hashes.reserve(batch_size_);
  auto ship = [&](bool last) {
    // Once stopped, never wait for a credit again: nobody is left to release one.
    if (stop_.load()) return;
    batch.last = last;
    credits_.acquire();
    if (stop_.load()) return;  // the pipeline has gone: hand nothing more over
    deliver(std::move(batch));
    batch = input_batch{};
    batch.hashes.reserve(batch_size_);
  };

  std::string chunk(1 << 16, '\0');
  for (std::size_t source = 0; source < fds_.size() && !stop_.load(std::memory_order_relaxed); ++source) {
    core::line_splitter splitter{core::max_hash_line_length};
    // UTF-16 with a BOM becomes UTF-8 here, before the lines are split; UTF-8 passes uncopied.
    core::input_decoder decoder;
    auto on_line = [&](const core::input_line& line) {
      ++batch.lines;
      core::parsed_line parsed = core::parse_hash_line(line.text, line.full_length, line.number == 1);
      if (parsed.kind == core::line_kind::invalid && decoder.is_utf16()) {
        if (const std::string_view why = core::utf16_error_reason(line.text); !why.empty())
          parsed.reason = why;
      }
      if (parsed.kind != core::line_kind::skip) ++batch.hash_lines;
      switch (parsed.kind) {
        case core::line_kind::skip:
          return;
        case core::line_kind::invalid: {
          // A CRLF list previews like its LF twin: the '\r' is the line's end, not a character of it.
          std::string_view text = line.text;
          std::size_t length = line.full_length;
          if (length == text.size() && text.ends_with('\r')) {
            text.remove_suffix(1);
            --length;
          }
          batch.invalid.push_back({line.number, static_cast<std::uint32_t>(source),
                                   core::redact_preview(text, length), parsed.reason});
          break;
        }
        case core::line_kind::hash:
          take(batch, parsed.hash, line.number, source);
          break;
      }
      if (batch.hashes.size() + batch.verify_only.size() + batch.protected_hashes.size() >= batch_size_ ||
          batch.invalid.size() >= batch_size_) {
        ship(false);
      }
    };
    for (;;) {
      if (stop_.load(std::memory_order_relaxed)) break;
      if (!regular_[source] && !wait_readable(fds_[source])) break;
      const ssize_t n = ::read(fds_[source], chunk.data(), chunk.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        batch.error = "cannot read '" + names_[source] + "': " + std::generic_category().message(errno);
        break;
      }
      if (n == 0) {
        splitter.feed(decoder.finish(), on_line);
        splitter.finish(on_line);
        break;
      }
      splitter.feed(decoder.feed(std::string_view{chunk.data(), static_cast<std::size_t>(n)}), on_line);
      // A pipe may pause for a long time (or forever): what it gave so far goes now, not when a
      // batch is full. A regular file fills whole batches.
      if (!regular_[source] && (!batch.hashes.empty() || !batch.invalid.empty() || !batch.verify_only.empty() ||
                                !batch.protected_hashes.empty())) {
        ship(false);
      }
    }
    if (!batch.error.empty()) break;
  }
  ship(true);
}

}  // namespace keyrevoke::app
