// NVIDIA driver and CUDA libraries, opened with dlopen at run time so that the same binary runs
// on machines without a driver. Function signatures and attribute numbers are the CUDA driver
// API's (cuda.h), cuBLAS's cublasGetProperty and cuDNN's cudnnGetVersion.
#include <dlfcn.h>

#include "dltrain/system.hpp"

namespace dltrain {
namespace {

void* open_first(std::initializer_list<const char*> names) {
  for (const char* n : names)
    if (void* h = ::dlopen(n, RTLD_NOW | RTLD_LOCAL)) return h;
  return nullptr;
}

template <class F>
F symbol(void* lib, const char* name) {
  return reinterpret_cast<F>(::dlsym(lib, name));
}

constexpr int attr_sm_count = 16, attr_cc_major = 75, attr_cc_minor = 76;

}  // namespace

CudaInfo inspect_cuda() {
  CudaInfo info;
  info.runtime_version = cuda_runtime_version();
  void* cuda = open_first({"libcuda.so.1", "libcuda.so"});
  if (!cuda) {
    info.driver_error = "no NVIDIA driver (libcuda.so.1 not found)";
  } else {
    using Init = int (*)(unsigned);
    using IntOut = int (*)(int*);
    using DeviceGet = int (*)(int*, int);
    using Name = int (*)(char*, int, int);
    using Attr = int (*)(int*, int, int);
    using Mem = int (*)(size_t*, int);
    using ErrorString = int (*)(int, const char**);
    auto init = symbol<Init>(cuda, "cuInit");
    auto driver_version = symbol<IntOut>(cuda, "cuDriverGetVersion");
    auto count = symbol<IntOut>(cuda, "cuDeviceGetCount");
    auto get = symbol<DeviceGet>(cuda, "cuDeviceGet");
    auto name = symbol<Name>(cuda, "cuDeviceGetName");
    auto attr = symbol<Attr>(cuda, "cuDeviceGetAttribute");
    auto mem = symbol<Mem>(cuda, "cuDeviceTotalMem_v2");
    auto error_string = symbol<ErrorString>(cuda, "cuGetErrorString");
    if (!init || !driver_version || !count || !get || !name || !attr || !mem) {
      info.driver_error = "libcuda.so.1 lacks the driver API functions dltrain needs";
    } else if (const int rc = init(0); rc != 0) {
      driver_version(&info.driver_version);
      const char* why = nullptr;
      if (error_string) error_string(rc, &why);
      info.driver_error = std::string("the NVIDIA driver did not initialise: ") + (why ? why : std::to_string(rc));
    } else {
      driver_version(&info.driver_version);
      int n = 0;
      count(&n);
      for (int i = 0; i < n; ++i) {
        GpuInfo g;
        int dev = 0;
        get(&dev, i);
        char buf[256] = {};
        name(buf, sizeof buf - 1, dev);
        g.index = i;
        g.name = buf;
        attr(&g.cc_major, attr_cc_major, dev);
        attr(&g.cc_minor, attr_cc_minor, dev);
        attr(&g.sm_count, attr_sm_count, dev);
        size_t bytes = 0;
        mem(&bytes, dev);
        g.memory_bytes = bytes;
        info.gpus.push_back(g);
      }
    }
  }
  if (void* cublas = open_first({"libcublas.so", "libcublas.so.13", "libcublas.so.12",
                                 "/usr/local/cuda/lib64/libcublas.so"})) {
    using Property = int (*)(int, int*);
    if (auto prop = symbol<Property>(cublas, "cublasGetProperty")) {
      int major = 0, minor = 0, patch = 0;
      prop(0, &major);
      prop(1, &minor);
      prop(2, &patch);
      info.cublas_version = std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
    }
  }
  if (void* cudnn = open_first({"libcudnn.so", "libcudnn.so.9", "libcudnn.so.8", "/usr/local/cuda/lib64/libcudnn.so"})) {
    using Version = size_t (*)();
    if (auto v = symbol<Version>(cudnn, "cudnnGetVersion")) {
      const size_t n = v();  // 90100 -> 9.1.0 (cuDNN 9); 8902 -> 8.9.2 (cuDNN 8)
      info.cudnn_version = n >= 90000 ? std::to_string(n / 10000) + "." + std::to_string(n % 10000 / 100) + "." +
                                            std::to_string(n % 100)
                                      : std::to_string(n / 1000) + "." + std::to_string(n % 1000 / 100) + "." +
                                            std::to_string(n % 100);
    }
  }
  return info;
}

}  // namespace dltrain
