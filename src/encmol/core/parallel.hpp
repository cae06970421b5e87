// A small persistent thread pool with static work splitting. Work is divided
// into contiguous index ranges that depend only on (n, thread count), so a
// body that writes per-index results gives the same output for any number of
// threads. Nested calls from inside a worker run serially.
#pragma once

#include <cstddef>
#include <functional>

namespace encmol::core {

/// Sets the number of threads used by parallel_for (0 = hardware concurrency).
/// Cheap when the count does not change; not to be called concurrently with
/// parallel_for.
void set_thread_count(unsigned threads);
unsigned thread_count();

/// Calls body(begin, end) on disjoint ranges covering [0, n), at most
/// thread_count() of them at once, and returns when all are done. `min_chunk`
/// keeps tiny ranges from being split. The first exception thrown by a body is
/// rethrown in the caller after all ranges finish.
void parallel_for_ranges(std::size_t n, const std::function<void(std::size_t, std::size_t)>& body,
                         std::size_t min_chunk = 1);

/// Calls body(i) for every i in [0, n).
void parallel_for(std::size_t n, const std::function<void(std::size_t)>& body,
                  std::size_t min_chunk = 1);

}  // namespace encmol::core
