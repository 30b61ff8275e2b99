#pragma once
// The randomized and simulation cases (list paging under churn, a million hashes, rate controllers
// sharing a bucket) run at full size in an uninstrumented build: tests/run_all.sh's release stage.
// Under ASan/UBSan and gcc --coverage (KEYREVOKE_INSTRUMENTED, set by tests/CMakeLists.txt) each runs
// every case and every assertion on a sample of its seeds and parameter combinations, spread over the
// whole range: instrumentation costs 50-100x there, and those builds look for memory errors and
// uncovered code, which the sample reaches as well.

#include <algorithm>
#include <cstddef>

namespace keyrevoke::test {

#if defined(KEYREVOKE_INSTRUMENTED)
inline constexpr std::size_t sample_one_in = 8;
#else
inline constexpr std::size_t sample_one_in = 1;
#endif

// n, or n / sample_one_in (at least 1) in an instrumented build: for seed counts and sizes.
constexpr std::size_t sampled(std::size_t n) noexcept { return std::max<std::size_t>(1, n / sample_one_in); }

// Counts the combinations of a nested loop and says whether this one runs: all of them, or every
// sample_one_in-th in an instrumented build (the first always runs).
class combination_sample {
 public:
  bool next() noexcept { return index_++ % sample_one_in == 0; }

 private:
  std::size_t index_ = 0;
};

}  // namespace keyrevoke::test
