#pragma once
// Counts global operator new calls while an allocation_counter is alive (this test binary replaces
// operator new; see allocation_counter.cpp). For the "no per-line allocation" budgets.

#include <cstddef>

namespace keyrevoke::test {

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
