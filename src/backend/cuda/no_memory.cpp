// Built instead of memory.cpp when CMake finds no CUDA toolkit: there is no device memory, and
// asking for it says so with a hint.
#include "core/device_memory.hpp"

namespace dltrain::device_memory {

void require(Device device) {
  throw Error(device_name(device) + ": this dltrain was built without CUDA",
              "train on the CPU (--device cpu), or rebuild with the CUDA toolkit installed "
              "(`dltrain doctor` says what it found)");
}
int gpu_count() { return 0; }
void* allocate(Device device, size_t) {
  require(device);
  return nullptr;
}
void release(Device, void*) noexcept {}
void copy(void*, Device to, const void*, Device from, size_t) { require(to.is_cuda() ? to : from); }
void zero(Device device, void*, size_t) { require(device); }
AllocatorStats stats(Device) { return {}; }

}  // namespace dltrain::device_memory
