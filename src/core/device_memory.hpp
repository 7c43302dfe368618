// Memory on a device other than the host, as Storage and Tensor use it. Implemented by
// src/backend/cuda/memory.cpp (the CUDA runtime behind a CachingAllocator per GPU) or, in a build
// without the CUDA toolkit, by src/backend/cuda/no_memory.cpp, whose functions throw an Error with
// a hint. CMake picks the file; no #ifdef.
#pragma once

#include <cstddef>

#include "caching_allocator.hpp"
#include "dltrain/core.hpp"

namespace dltrain::device_memory {

// Throws a dltrain::Error saying why `device` cannot be used (CUDA not built in, no driver, no
// such GPU); returns when it can.
void require(Device device);
// Number of GPUs the CUDA runtime sees; 0 without the toolkit, a driver or a GPU.
int gpu_count();
// A block of at least `bytes` from the device's caching allocator.
void* allocate(Device device, size_t bytes);
void release(Device device, void* p) noexcept;
// Copies bytes between any two devices (host <-> GPU, GPU <-> GPU); synchronous.
void copy(void* dst, Device to, const void* src, Device from, size_t bytes);
void zero(Device device, void* p, size_t bytes);
AllocatorStats stats(Device device);

}  // namespace dltrain::device_memory
