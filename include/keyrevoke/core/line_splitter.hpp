#pragma once
// Splits a byte stream into lines with bounded memory: a 1 MB line or a 10M-line pipe never grows it.
//
// Lines that lie wholly inside one chunk are handed out as views into that chunk (no copy); only a
// line that straddles chunks is copied, and only its first max_kept bytes. Everything beyond max_kept
// is counted (full_length) but never stored, so the caller can still say "line too long".

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace keyrevoke::core {

struct input_line {
  std::string_view text;    // the line without '\n', truncated to at most max_kept bytes
  std::size_t full_length;  // the line's real length in bytes (without '\n')
  std::uint64_t number;     // 1-based line number
};

class line_splitter {
 public:
  explicit line_splitter(std::size_t max_kept = 1024) : max_kept_(max_kept) { pending_.reserve(max_kept_); }

  // Calls on_line(const input_line&) for every complete line in chunk (chunks split lines anywhere).
  // The view in input_line is valid only during the call.
  template <class OnLine>
  void feed(std::string_view chunk, OnLine&& on_line) {
    while (!chunk.empty()) {
      const std::size_t newline = chunk.find('\n');
      if (newline == std::string_view::npos) {
        keep(chunk);
        return;
      }
      const std::string_view piece = chunk.substr(0, newline);
      chunk.remove_prefix(newline + 1);
      if (pending_length_ == 0) {
        // Fast path: the whole line is in this chunk, hand out a view into it.
        emit(piece.substr(0, std::min(piece.size(), max_kept_)), piece.size(), on_line);
      } else {
        keep(piece);
        emit(pending_, pending_length_, on_line);
        pending_.clear();
        pending_length_ = 0;
      }
    }
  }

  // At end of input: emits the last line if it had no trailing '\n' (and was non-empty).
  template <class OnLine>
  void finish(OnLine&& on_line) {
    if (pending_length_ == 0) return;
    emit(pending_, pending_length_, on_line);
    pending_.clear();
    pending_length_ = 0;
  }

  std::uint64_t lines_seen() const noexcept { return lines_; }
  std::size_t max_kept() const noexcept { return max_kept_; }

 private:
  // Remembers the start of a line that continues in a later chunk (at most max_kept bytes of it).
  void keep(std::string_view part) {
    if (pending_.size() < max_kept_) {
      pending_.append(part.substr(0, std::min(part.size(), max_kept_ - pending_.size())));
    }
    pending_length_ += part.size();
  }

  template <class OnLine>
  void emit(std::string_view text, std::size_t full_length, OnLine& on_line) {
    ++lines_;
    const input_line line{text, full_length, lines_};
    on_line(line);
  }

  std::size_t max_kept_;
  std::string pending_;             // the kept prefix of a line split across chunks
  std::size_t pending_length_ = 0;  // its real length so far; 0 = no line pending
  std::uint64_t lines_ = 0;
};

}  // namespace keyrevoke::core
