#include "allocation_counter.hpp"

#include <atomic>
#include <cstdlib>
#include <new>

#include <malloc.h>

namespace {
std::atomic<std::size_t> allocations{0};
std::atomic<int> active{0};
std::atomic<std::size_t> bytes_in_use{0};
constexpr std::size_t malloc_header = 8;

void* counted_allocate(std::size_t size) {
  if (active.load(std::memory_order_relaxed) > 0) allocations.fetch_add(1, std::memory_order_relaxed);
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p != nullptr) bytes_in_use.fetch_add(malloc_usable_size(p) + malloc_header, std::memory_order_relaxed);
  return p;
}

void counted_free(void* p) noexcept {
  if (p == nullptr) return;
  bytes_in_use.fetch_sub(malloc_usable_size(p) + malloc_header, std::memory_order_relaxed);
  std::free(p);
}
}  // namespace

void* operator new(std::size_t size) {
  if (void* p = counted_allocate(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  if (void* p = counted_allocate(size)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return counted_allocate(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return counted_allocate(size); }
void operator delete(void* p) noexcept { counted_free(p); }
void operator delete[](void* p) noexcept { counted_free(p); }
void operator delete(void* p, std::size_t) noexcept { counted_free(p); }
void operator delete[](void* p, std::size_t) noexcept { counted_free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { counted_free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { counted_free(p); }

namespace keyrevoke::test {

std::size_t heap_bytes_in_use() noexcept { return bytes_in_use.load(); }

allocation_counter::allocation_counter() noexcept : start_(allocations.load()) { active.fetch_add(1); }
allocation_counter::~allocation_counter() { active.fetch_sub(1); }
std::size_t allocation_counter::count() const noexcept { return allocations.load() - start_; }

}  // namespace keyrevoke::test
