#pragma once
// Time as the pure core sees it: a monotonic time point passed in by the caller (a fake clock in tests).

#include <chrono>

namespace keyrevoke::core {

using steady_time = std::chrono::steady_clock::time_point;
using seconds_f = std::chrono::duration<double>;
using millis = std::chrono::milliseconds;

inline double to_seconds(std::chrono::steady_clock::duration d) noexcept {
  return std::chrono::duration_cast<seconds_f>(d).count();
}

inline std::chrono::steady_clock::duration from_seconds(double s) noexcept {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(seconds_f{s});
}

}  // namespace keyrevoke::core
