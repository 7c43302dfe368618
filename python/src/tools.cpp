// The module's functions around training: doctor, fetch, datasets, presets, `%%cu`, and the error
// type every library error arrives as.
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.hpp"
#include "dltrain/data.hpp"
#include "dltrain/fetch.hpp"
#include "dltrain/models.hpp"
#include "dltrain/report.hpp"
#include "dltrain/system.hpp"

namespace dltrain::python {
namespace {

PyObject* error_type = nullptr;

nb::tuple split(Dataset d) {
  return nb::make_tuple(to_numpy(std::move(d.images)), to_numpy(Tensor::from_labels(d.labels)));
}

nb::tuple load_dataset_arrays(const std::string& name_or_folder) {
  DatasetSplits s;
  {
    nb::gil_scoped_release nogil;
    s = load_dataset(name_or_folder);
  }
  std::vector<std::string> names = s.train.class_names;
  return nb::make_tuple(split(std::move(s.train)), split(std::move(s.test)), names, s.folder);
}

std::string fetch_path(const std::string& uri, const std::string& name, const std::string& endpoint,
                       const std::string& region, bool offline, bool no_sign, const std::string& sha256, bool extract) {
  FetchOptions o;
  o.name = name;
  o.s3.endpoint = endpoint;
  o.s3.region = region;
  o.s3.no_sign = no_sign;
  o.offline = offline;
  o.sha256 = sha256;
  o.extract = extract;
  nb::gil_scoped_release nogil;
  return fetch(uri, o).folder;
}

nb::tuple cuda_run_cell(const std::string& source, const std::string& arch, const std::vector<std::string>& flags,
                        const std::vector<std::string>& args, bool compile_only) {
  CudaRunOptions o;
  o.arch = arch;
  o.nvcc_flags = flags;
  o.args = args;
  o.compile_only = compile_only;
  o.capture = true;
  CudaRunResult r;
  {
    nb::gil_scoped_release nogil;
    r = cuda_run(source, o);
  }
  return nb::make_tuple(r.output, r.status, r.ran, r.build.cached, r.target, r.build.binary);
}

}  // namespace

void bind_tools(nb::module_& m) {
  error_type = PyErr_NewExceptionWithDoc("dltrain.Error", "An error from dltrain: str() holds the message and hint; "
                                         ".message and .hint hold them apart.", PyExc_Exception, nullptr);
  m.attr("Error") = nb::handle(error_type);
  nb::register_exception_translator([](const std::exception_ptr& p, void*) {
    try {
      std::rethrow_exception(p);
    } catch (const Error& e) {
      const std::string text = e.hint().empty() ? e.what() : std::string(e.what()) + "\nhint: " + e.hint();
      nb::object exc = nb::handle(error_type)(text);
      exc.attr("message") = std::string(e.what());
      exc.attr("hint") = e.hint();
      PyErr_SetObject(error_type, exc.ptr());
    }
  });
  m.def("doctor_json", [](bool smoke) {
        nb::gil_scoped_release nogil;
        return inspect_system(smoke).to_json();
      }, nb::arg("smoke") = true, "inspect_system() as JSON: CPU ISA, kernels, CUDA driver, GPUs, nvcc, smoke test");
  m.def("load_dataset", &load_dataset_arrays, nb::arg("name_or_folder"),
        "((x, y), (x_test, y_test), class_names, folder): the arrays own dltrain's memory (no copy)");
  m.def("fetch", &fetch_path, nb::arg("uri"), nb::arg("name") = "", nb::arg("endpoint") = "", nb::arg("region") = "",
        nb::arg("offline") = false, nb::arg("no_sign") = false, nb::arg("sha256") = "", nb::arg("extract") = false);
  m.def("write_report", [](const std::string& run_dir, const std::optional<HostArray>& x, const std::optional<HostArray>& y) {
        ReportOptions o;
        Dataset test;
        if (x.has_value() != y.has_value()) throw Error("data must be (x_test, y_test)");
        if (x) {
          test.images = image_tensor(*x, "x_test");
          test.labels = labels_vector(*y, "y_test", 0);
          if (test.size() != test.images.shape()[0]) throw Error("x_test and y_test differ in length");
          o.test = &test;
        }
        nb::gil_scoped_release nogil;
        return write_report(run_dir, o);
      }, nb::arg("run_dir"), nb::arg("x").none(), nb::arg("y").none(),
      "report.html and its figures for a run folder (evaluated on x, y when given); returns the page's path");
  m.def("presets", [] {
    std::vector<std::pair<std::string, std::string>> out;
    for (const Preset& p : presets()) out.emplace_back(p.name, p.description);
    return out;
  });
  m.def("cuda_run", &cuda_run_cell, nb::arg("source"), nb::arg("arch") = "", nb::arg("nvcc_flags") = std::vector<std::string>{},
        nb::arg("args") = std::vector<std::string>{}, nb::arg("compile_only") = false,
        "(output, exit status, ran, cached, target, binary)");
  m.def("_omp_threads", &num_threads, "the calling thread's OpenMP thread count: tests check that fit leaves it alone");
  m.def("_borrowed_address", [](const HostArray& a) {
        const Tensor t = image_tensor(a, "x");
        return uintptr_t(t.dtype() == DType::u8 ? static_cast<const void*>(t.u8()) : t.f32());
      }, "where image_tensor (what fit, predict and evaluate use) reads x: tests check that it is x's memory");
}

}  // namespace dltrain::python
