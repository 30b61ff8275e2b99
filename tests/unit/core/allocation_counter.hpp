#pragma once
// Counts global operator new calls while an allocation_counter is alive (this test binary replaces
// operator new; see allocation_counter.cpp). For the "no per-line allocation" budgets.
// heap_bytes_in_use(): bytes held through operator new right now (malloc_usable_size of each live
// block, plus 8 bytes of malloc's header). Unlike mallinfo2(), which reads zeros under ASan's allocator,
// it measures the same in the Release and the ASan builds.

#include <cstddef>

namespace keyrevoke::test {

std::size_t heap_bytes_in_use() noexcept;

class allocation_counter {
 public:
  allocation_counter() noexcept;
  ~allocation_counter();
  allocation_counter(const allocation_counter&) = delete;
  allocation_counter& operator=(const allocation_counter&) = delete;

  std::size_t count() const noexcept;  // allocations since construction

 private:
  std::size_t start_;
};

}  // namespace keyrevoke::test
