// The dltrain program end to end: each subcommand, its output and exit code, bad arguments, and
// the train -> resume -> eval -> predict story on real Fashion-MNIST. The binary is spawned
// directly (no shell); stdout is a file, so progress comes as plain lines.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <stb_image.h>
#include <stb_image_write.h>
#include <sys/wait.h>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "dltrain/data.hpp"
#include "dltrain/io.hpp"
#include "dltrain/system.hpp"
#include "dltrain/train.hpp"
#include "helpers.hpp"

extern char** environ;

namespace dltrain {
namespace {
using test::TempDir;

using test::Result;

// Runs dltrain with `args`; `during(pid)` (if given) runs while it executes.
Result run(std::vector<std::string> args, std::vector<std::string> env_extra = {},
           const std::function<void(pid_t)>& during = {}) {
  args.insert(args.begin(), DLTRAIN_BINARY);
  return test::run(std::move(args), std::move(env_extra), during);
}

#define EXPECT_HAS(text, part) EXPECT_NE((text).find(part), std::string::npos) << "missing '" << (part) << "' in:\n" << (text)

TEST(Cli, HelpVersionAndUsageErrors) {
  Result help = run({"--help"});
  EXPECT_EQ(help.code, 0);
  for (const char* sub : {"train", "eval", "predict", "summary"}) EXPECT_HAS(help.out, sub);
  EXPECT_EQ(run({"--version"}).code, 0);
  EXPECT_EQ(run({}).code, 2);
  EXPECT_EQ(run({"frobnicate"}).code, 2);
  EXPECT_EQ(run({"train", "--epochs", "0"}).code, 2);
  EXPECT_EQ(run({"train", "--batch", "many"}).code, 2);
  EXPECT_EQ(run({"train", "--resume", "/", "--model", "mlp"}).code, 2);  // --resume excludes --model
  EXPECT_EQ(run({"eval", "/no/such/model.safetensors"}).code, 2);
  EXPECT_EQ(run({"predict", "/no/such/model.safetensors", "x.png"}).code, 2);
  EXPECT_EQ(run({"push", "/tmp", "s3://b/p/", "--part-size", "1000"}).code, 2);  // S3 parts are 5 MiB at least
  EXPECT_EQ(run({"push", "/tmp"}).code, 2);                                     // no destination
  const Result nowhere = run({"push", "/no/such/run", "s3://b/p/"});
  EXPECT_EQ(nowhere.code, 1);
  EXPECT_HAS(nowhere.err, "/no/such/run");
  const Result not_s3 = run({"push", DLTRAIN_SOURCE_DIR "/README.md", "https://example.org/x"});
  EXPECT_EQ(not_s3.code, 1);
  EXPECT_HAS(not_s3.err, "only s3:// destinations");
  Result train_help = run({"train", "--help"});
  EXPECT_HAS(train_help.out, "--optim");
  EXPECT_HAS(train_help.out, "--resume");
}

TEST(Cli, Summary) {
  Result cnn = run({"summary", "--model", "cnn"});
  EXPECT_EQ(cnn.code, 0) << cnn.err;
  EXPECT_HAS(cnn.out, "Total params: 542,230");
  EXPECT_HAS(cnn.out, "(None, 13, 13, 32)");
  Result custom = run({"summary", "--model", "conv:16x3x3,same,relu res{ conv:16x3x3,same } gap dense:5,softmax",
                       "--input", "32,32,3", "--classes", "5"});
  EXPECT_EQ(custom.code, 0) << custom.err;
  EXPECT_HAS(custom.out, "Connected to");
  Result bad = run({"summary", "--model", "conv:32x3x3 wobble"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_HAS(bad.err, "unknown layer 'wobble'");
  EXPECT_HAS(bad.err, "hint:");
  EXPECT_HAS(run({"summary", "--list"}).out, "lenet5");
  EXPECT_HAS(run({"summary", "--help"}).out, "res{ ... }");
}

TEST(Cli, TrainErrorsAreClear) {
  TempDir cache;
  Result missing = run({"train", "--data", "mnist", "--runs", cache / "runs"}, {"DLTRAIN_CACHE=" + cache.path()});
  EXPECT_EQ(missing.code, 1);
  EXPECT_HAS(missing.err, cache.path() + "/datasets/mnist");
  EXPECT_HAS(missing.err, "dltrain fetch mnist");
  Result no_folder = run({"train", "--data", cache / "nope", "--runs", cache / "runs"});
  EXPECT_EQ(no_folder.code, 1);
  EXPECT_HAS(no_folder.err, "neither a known dataset nor a folder");
  Result bad_model = run({"train", "--model", "resnet", "--runs", cache / "runs"});
  EXPECT_EQ(bad_model.code, 1);
  Result bad_optim = run({"train", "--optim", "sgd:learning_rate=1", "--runs", cache / "runs"});
  EXPECT_EQ(bad_optim.code, 1);
  EXPECT_HAS(bad_optim.err, "lr, momentum, nesterov, weight_decay");
  Result not_a_run = run({"train", "--resume", cache.path()});
  EXPECT_EQ(not_a_run.code, 1);
  EXPECT_HAS(not_a_run.err, "no checkpoint.safetensors");
}

// --device: a GPU that cannot be used is an error with doctor's hint (exit 1, as other errors), on
// this machine for any of its reasons (no CUDA build, no driver, no GPU).
TEST(Cli, DeviceErrorsAreClear) {
  TempDir cache;
  for (const char* cmd : {"train", "eval", "predict"}) {
    std::vector<std::string> args{cmd};
    if (std::string(cmd) != "train") args.push_back(DLTRAIN_SOURCE_DIR "/README.md");
    args.insert(args.end(), {"--device", "cuda"});
    Result r = run(args, {"DLTRAIN_CACHE=" + cache.path()});
    EXPECT_EQ(r.code, 1) << cmd << "\n" << r.err;
    EXPECT_HAS(r.err, "--device cuda: ");
    EXPECT_HAS(r.err, "--device cpu");
    args.back() = "tpu";
    Result bad = run(args);
    EXPECT_EQ(bad.code, 1) << cmd;
    EXPECT_HAS(bad.err, "unknown device 'tpu'");
  }
}

TEST(Cli, TrainResumeEvalPredictStory) {
  DLTRAIN_REQUIRE_FASHION_MNIST();
  TempDir dir;
  const std::string data = test::fashion_mnist_dir(), run_dir = dir / "run";
  Result train = run({"train", "--data", data, "--limit", "2000", "--epochs", "1", "--threads", "2", "--run-dir",
                      run_dir, "--seed", "3"});
  ASSERT_EQ(train.code, 0) << train.err;
  EXPECT_HAS(train.out, "epoch 1/1 - 63 steps");
  EXPECT_HAS(train.out, "val_accuracy");
  EXPECT_HAS(read_file(run_dir + "/command.txt"), "--limit 2000");
  Result resumed = run({"train", "--resume", run_dir, "--epochs", "2"});
  ASSERT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_HAS(resumed.out, "epoch 2/2");
  EXPECT_EQ(read_history(run_dir).size(), 2u);
  Result quiet = run({"train", "--resume", run_dir, "--quiet"});  // already complete: nothing to do
  EXPECT_EQ(quiet.code, 0) << quiet.err;
  EXPECT_EQ(quiet.out, "");

  const std::string model = run_dir + "/model.safetensors";
  Result eval = run({"eval", model, "--data", data});
  ASSERT_EQ(eval.code, 0) << eval.err;
  EXPECT_HAS(eval.out, "accuracy: 0.");
  EXPECT_HAS(eval.out, "Confusion matrix");
  EXPECT_HAS(eval.out, "\n  9 ");  // the row of class 9
  if (data == "/usr/share/datasets/fashion-mnist") {
    EXPECT_HAS(eval.out, "Ankle boot");  // the catalog's class names, though given by path
  }

  // Images for predict: a test image as PNG (28x28 and upscaled 56x56), as BMP and as raw bytes.
  const DatasetSplits fm = load_idx_folder(data);
  const uint8_t* img = fm.test.images.u8();
  ASSERT_TRUE(stbi_write_png((dir / "a.png").c_str(), 28, 28, 1, img, 28));
  std::vector<uint8_t> big(56 * 56);
  for (int y = 0; y < 56; ++y)
    for (int x = 0; x < 56; ++x) big[size_t(y * 56 + x)] = img[(y / 2) * 28 + x / 2];
  ASSERT_TRUE(stbi_write_png((dir / "big.png").c_str(), 56, 56, 1, big.data(), 56));
  ASSERT_TRUE(stbi_write_bmp((dir / "a.bmp").c_str(), 28, 28, 1, img));
  std::ofstream(dir / "a.raw", std::ios::binary).write(reinterpret_cast<const char*>(img), 784);
  Result predict = run({"predict", model, dir / "a.png", dir / "big.png", dir / "a.bmp", dir / "a.raw", "--top", "2"});
  ASSERT_EQ(predict.code, 0) << predict.err;
  EXPECT_HAS(predict.out, dir / "a.raw");
  // The same pixels in three containers give the same answer.
  auto first_line_after = [&](const std::string& name) {
    const size_t at = predict.out.find(dir / name + ":");
    return predict.out.substr(at + (dir / name).size(), predict.out.find('\n', at) - at - (dir / name).size());
  };
  EXPECT_EQ(first_line_after("a.png"), first_line_after("a.raw"));
  EXPECT_EQ(first_line_after("a.bmp"), first_line_after("a.raw"));

  std::ofstream(dir / "text.txt") << "not an image";
  Result bad_image = run({"predict", model, dir / "text.txt"});
  EXPECT_EQ(bad_image.code, 1);
  EXPECT_HAS(bad_image.err, "not a readable image");
  std::ofstream(dir / "corrupt.safetensors") << "garbage that is not a model";
  Result corrupt = run({"eval", dir / "corrupt.safetensors", "--data", data});
  EXPECT_EQ(corrupt.code, 1);
  EXPECT_HAS(corrupt.err, "corrupt.safetensors");
  Result summary = run({"summary", model});
  EXPECT_EQ(summary.code, 0) << summary.err;
  EXPECT_HAS(summary.out, "Trained on: " + data);
}

TEST(Cli, DoctorReportsAndSucceedsWithoutAGpu) {
  Result doctor = run({"doctor", "--no-smoke"});
  EXPECT_EQ(doctor.code, 0) << doctor.err;
  for (const char* part : {"CPU", "ISA", "Kernels", "dense layers: dltrain GEMM", "Driver", "nvcc", "GPU"})
    EXPECT_HAS(doctor.out, part);
  Result json = run({"doctor", "--json"});
  ASSERT_EQ(json.code, 0) << json.err;
  const auto j = nlohmann::json::parse(json.out);
  if (j["cuda"]["gpus"].empty()) {
    EXPECT_EQ(j["device"], "cpu");
    EXPECT_HAS(run({"doctor"}).out, "no GPU: training will use the CPU");
  }
  Result no_nvcc = run({"doctor"}, {"DLTRAIN_NVCC=/no/such/nvcc"});
  EXPECT_EQ(no_nvcc.code, 0);
  EXPECT_HAS(no_nvcc.out, "nvcc not found");
}

// The kernel level follows DLTRAIN_CPU_ISA; doctor warns that it is below the CPU's, a level the
// CPU lacks or a misspelt one is an error before anything runs.
TEST(Cli, ForcedKernelLevelIsReportedAndChecked) {
  const auto j = nlohmann::json::parse(run({"doctor", "--json", "--no-smoke"}).out);
  const std::string detected = j["kernels"]["detected"];
  EXPECT_EQ(j["kernels"]["gemm"], detected);
  EXPECT_EQ(j["kernels"]["gemm_why"], "detected");
  Result low = run({"doctor", "--no-smoke"}, {"DLTRAIN_CPU_ISA=sse2"});
  EXPECT_EQ(low.code, 0) << low.err;
  EXPECT_HAS(low.out, "dltrain GEMM, sse2");
  if (detected != "sse2") {
    EXPECT_HAS(low.out, "the GEMM kernels run at sse2 although this CPU runs " + detected);
  }
  Result bogus = run({"summary", "--model", "cnn"}, {"DLTRAIN_CPU_ISA=avx1024"});
  EXPECT_EQ(bogus.code, 0) << "summary runs no kernel and must not care";
  Result bad = run({"doctor", "--no-smoke"}, {"DLTRAIN_CPU_ISA=avx1024"});
  EXPECT_EQ(bad.code, 1);
  EXPECT_HAS(bad.err, "DLTRAIN_CPU_ISA=avx1024 is not a kernel level");
  TempDir dir;
  Result train = run({"train", "--epochs", "1", "--run-dir", dir / "run"}, {"DLTRAIN_CPU_ISA=avx1024"});
  EXPECT_EQ(train.code, 1);
  EXPECT_HAS(train.err, "DLTRAIN_CPU_ISA=avx1024 is not a kernel level");
  EXPECT_FALSE(std::filesystem::exists(dir / "run/history.csv")) << "refused before training";
}

TEST(Cli, CudaRunErrorPathsAndCache) {
  TempDir dir;
  const std::string cache = "DLTRAIN_CACHE=" + dir.path();
  Result examples = run({"cuda", "examples"});
  EXPECT_EQ(examples.code, 0);
  EXPECT_HAS(examples.out, "max_reduction");
  Result no_nvcc = run({"cuda", "run", "hello", "--arch", "sm_80", "--compile-only"}, {"DLTRAIN_NVCC=/no/nvcc", cache});
  EXPECT_EQ(no_nvcc.code, 1);
  EXPECT_HAS(no_nvcc.err, "DLTRAIN_NVCC");
  Result unknown = run({"cuda", "run", "no_such_example", "--arch", "sm_80", "--compile-only"}, {cache});
  EXPECT_EQ(unknown.code, 1);
  EXPECT_HAS(unknown.err, "built-in examples: hello");
  if (find_nvcc().path.empty()) GTEST_SKIP() << "nvcc is not installed: compile paths not checked";
  // A notebook cell with a mistake on its third line: nvcc's message names the file and line 3.
  std::ofstream(dir / "cell.cu") << "%%cu\n#include <cstdio>\nint main() { undefined_thing(); }\n";
  Result bad = run({"cuda", "run", dir / "cell.cu", "--arch", "sm_80", "--compile-only"}, {cache});
  EXPECT_EQ(bad.code, 1);
  EXPECT_HAS(bad.out + bad.err, dir / "cell.cu(3)");
  EXPECT_HAS(bad.err, "nvcc failed");
  Result first = run({"cuda", "run", "vector_add", "--arch", "sm_80", "--compile-only", "--nvcc-flags", "-O3 -lineinfo"},
                     {cache});
  EXPECT_EQ(first.code, 0) << first.err;
  EXPECT_HAS(first.err, "compiled vector_add for sm_80");
  Result second = run({"cuda", "run", "vector_add", "--arch", "sm_80", "--compile-only", "--nvcc-flags", "-O3 -lineinfo"},
                      {cache});
  EXPECT_HAS(second.err, "using the cached build");
  if (inspect_cuda().gpus.empty()) {
    Result no_gpu = run({"cuda", "run", "hello"}, {cache});
    EXPECT_EQ(no_gpu.code, 1);
    EXPECT_HAS(no_gpu.err, "--compile-only");
    // Only building needs no GPU and no --arch: nvcc's default architecture, said as such.
    Result build_only = run({"cuda", "run", "hello", "--compile-only"}, {cache});
    EXPECT_EQ(build_only.code, 0) << build_only.err;
    EXPECT_HAS(build_only.err, "compiled hello for nvcc's default architecture (no GPU found");
  }
}

// Waits up to a minute for `path` to appear (a running training's first checkpoint).
void wait_for_file(const std::string& path) {
  const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!std::filesystem::exists(path) && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

TEST(Cli, CtrlCStopsCleanlyAndTheRunResumes) {
  DLTRAIN_REQUIRE_FASHION_MNIST();
  TempDir dir;
  const std::string run_dir = dir / "run";
  // Interrupt once the first epoch's checkpoint exists: the run stops at the next step with 130.
  Result stopped = run({"train", "--data", test::fashion_mnist_dir(), "--limit", "3200", "--epochs", "50",
                        "--no-validation", "--threads", "2", "--run-dir", run_dir},
                       {}, [&](pid_t pid) {
                         wait_for_file(run_dir + "/checkpoint.safetensors");
                         ::kill(pid, SIGINT);
                       });
  ASSERT_EQ(stopped.code, 130) << stopped.err;
  EXPECT_HAS(stopped.err, "dltrain train --resume " + run_dir);
  const size_t done = read_history(run_dir).size();
  EXPECT_GE(done, 1u);
  EXPECT_LT(done, 50u);
  Result resumed = run({"train", "--resume", run_dir, "--epochs", std::to_string(done + 1), "--quiet"});
  EXPECT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_EQ(read_history(run_dir).size(), done + 1);
}

// A second training into a run folder in use fails at once, naming the holder's pid; the lock goes
// with the process however it ends (kill -9 here), and the run resumes.
TEST(Cli, ARunFolderIsLockedWhileItTrains) {
  DLTRAIN_REQUIRE_FASHION_MNIST();
  TempDir dir;
  const std::string run_dir = dir / "run", data = test::fashion_mnist_dir();
  Result second, resume_too;
  std::string holder;
  Result first = run({"train", "--data", data, "--limit", "3200", "--epochs", "50", "--no-validation", "--threads", "1",
                      "--run-dir", run_dir},
                     {}, [&](pid_t pid) {
                       holder = std::to_string(pid);
                       wait_for_file(run_dir + "/checkpoint.safetensors");
                       second = run({"train", "--data", data, "--limit", "320", "--epochs", "1", "--run-dir", run_dir});
                       resume_too = run({"train", "--resume", run_dir, "--quiet"});
                       ::kill(pid, SIGKILL);
                     });
  ASSERT_EQ(first.code, 128 + SIGKILL) << first.err;
  for (const Result* r : {&second, &resume_too}) {
    EXPECT_EQ(r->code, 1) << r->out;
    EXPECT_HAS(r->err, run_dir + " is in use by another training (pid " + holder + ")");
  }
  const size_t done = read_history(run_dir).size();
  ASSERT_GE(done, 1u);
  Result resumed = run({"train", "--resume", run_dir, "--epochs", std::to_string(done + 1), "--quiet"});
  EXPECT_EQ(resumed.code, 0) << resumed.err;
  EXPECT_EQ(read_history(run_dir).size(), done + 1);
}

// A model whose outputs do not match the data's classes is refused before the first step.
TEST(Cli, ModelOutputsMustMatchTheDatasetClasses) {
  DLTRAIN_REQUIRE_FASHION_MNIST();
  TempDir dir;
  Result r = run({"train", "--data", test::fashion_mnist_dir(), "--model", "flatten dense:50,softmax", "--limit", "320",
                  "--epochs", "1", "--run-dir", dir / "run"});
  EXPECT_EQ(r.code, 1);
  EXPECT_HAS(r.err, "ends in (50,) outputs, but " + test::fashion_mnist_dir() + " has 10 classes");
  EXPECT_EQ(r.out.find("epoch 1/1"), std::string::npos) << "training started:\n" << r.out;
  EXPECT_FALSE(std::filesystem::exists(dir / "run/checkpoint.safetensors"));
}

}  // namespace
}  // namespace dltrain

namespace dltrain {
namespace {

// An expected digest that is not one is a usage error (exit 2) before anything is fetched.
TEST(Cli, FetchDigestUsageErrors) {
  TempDir cache;
  const std::string env = "DLTRAIN_CACHE=" + cache.path();
  const Result short_flag = run({"fetch", "http://127.0.0.1:9/a.bin", "--sha256", "abc"}, {env});
  EXPECT_EQ(short_flag.code, 2) << short_flag.err;
  EXPECT_HAS(short_flag.err, "64");
  EXPECT_EQ(run({"fetch", "http://127.0.0.1:9/a.bin", "--md5", std::string(32, 'z')}, {env}).code, 2);
  const Result fragment = run({"fetch", "http://127.0.0.1:9/a.bin?token=s3cr3t#sha256=12"}, {env});
  EXPECT_EQ(fragment.code, 2) << fragment.err;
  EXPECT_HAS(fragment.err, "64 hex digits");
  EXPECT_EQ(fragment.err.find("s3cr3t"), std::string::npos) << fragment.err;
  EXPECT_EQ(run({"fetch", "http://127.0.0.1:9/a", "http://127.0.0.1:9/b", "--md5", std::string(32, 'a')}, {env}).code,
            2);
  EXPECT_FALSE(std::filesystem::exists(cache / "blobs"));
}

// `dltrain fetch` then `dltrain train --data NAME`: one story, through a loopback mirror.
TEST(Cli, FetchThenTrainFromTheCache) {
  DLTRAIN_REQUIRE_FASHION_MNIST();
  TempDir cache;
  test::ServerProcess server({"python3", test::servers_dir() + "/http_faults.py", test::fashion_mnist_dir()});
  ASSERT_TRUE(server.running());
  const std::string mirror = "http://127.0.0.1:" + server.first_line().substr(5) + "/m/ok/";
  const std::string env = "DLTRAIN_CACHE=" + cache.path();
  Result fetched = run({"fetch", "fashion-mnist", "--mirror", mirror, "--name", "fm"}, {env});
  ASSERT_EQ(fetched.code, 0) << fetched.err;
  EXPECT_HAS(fetched.out, cache.path() + "/datasets/fm/train-images-idx3-ubyte.gz");
  Result again = run({"fetch", "fashion-mnist", "--offline", "--name", "fm"}, {env});
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_HAS(again.out, "(cached)");
  Result train = run({"train", "--data", "fm", "--limit", "640", "--epochs", "1", "--no-validation", "--run-dir",
                      cache / "run"}, {env});
  EXPECT_EQ(train.code, 0) << train.err;
  EXPECT_HAS(train.out, "on fm:");
  Result missing = run({"fetch", "kmnist", "--offline"}, {env});
  EXPECT_EQ(missing.code, 1);
  EXPECT_HAS(missing.err, "not in the cache");
  Result insecure = run({"fetch", mirror + "t10k-labels-idx1-ubyte.gz", "--insecure", "-q"}, {env});
  EXPECT_EQ(insecure.code, 0) << insecure.err;
  EXPECT_HAS(insecure.err, "TLS certificates are NOT checked");
  EXPECT_EQ(run({"fetch", "s3://"}, {env}).code, 1);
  EXPECT_EQ(run({"fetch", "kmnist", "--limit-rate", "fast"}, {env}).code, 1);
}

// --extract refuses an archive over its limit (here --max-extract; 16 GiB and 100:1 by default),
// says which option raises it, and leaves none of its members; raised, the same archive extracts.
TEST(Cli, FetchExtractHasASizeLimit) {
  TempDir src, cache;
  const std::string tar = src / "zeros.tar.gz";
  {
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_add_filter_gzip(a);
    archive_write_open_filename(a, tar.c_str());
    for (const auto& [name, size] : {std::pair<std::string, size_t>{"a/small.txt", 5}, {"a/zeros.bin", 3 << 20}}) {
      archive_entry* e = archive_entry_new();
      archive_entry_set_pathname(e, name.c_str());
      archive_entry_set_filetype(e, AE_IFREG);
      archive_entry_set_perm(e, 0644);
      archive_entry_set_size(e, int64_t(size));
      archive_write_header(a, e);
      const std::string data(size, '\0');
      archive_write_data(a, data.data(), data.size());
      archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
  }
  const std::string env = "DLTRAIN_CACHE=" + cache.path();
  const Result refused = run({"fetch", tar, "--extract", "--max-extract", "1M", "--name", "z"}, {env});
  EXPECT_EQ(refused.code, 1) << refused.err;
  EXPECT_HAS(refused.err, "extracts to more than " + std::to_string(1'000'000) + " bytes");
  EXPECT_HAS(refused.err, "--max-extract");
  EXPECT_FALSE(std::filesystem::exists(cache / "datasets/z/a")) << "members of a refused archive were left";
  const Result bad = run({"fetch", tar, "--extract", "--max-extract", "lots"}, {env});
  EXPECT_EQ(bad.code, 1);
  EXPECT_HAS(bad.err, "--max-extract lots: not a size");
  const Result ok = run({"fetch", tar, "--extract", "--max-extract", "1Gi", "--name", "z"}, {env});
  EXPECT_EQ(ok.code, 0) << ok.err;
  EXPECT_EQ(std::filesystem::file_size(cache / "datasets/z/a/zeros.bin"), size_t(3) << 20);
  const Result by_env = run({"fetch", tar, "--extract", "--name", "z"}, {env, "DLTRAIN_MAX_EXTRACT=1M"});
  EXPECT_EQ(by_env.code, 1) << by_env.err;
}

// Two processes fetching the same local file at once both succeed and publish one correct blob.
// They used to copy it into the same partial file: one deleted or overwrote the copy the other was
// still writing or hashing, and failed (or published bytes under another digest).
TEST(Cli, ConcurrentFetchesOfOneLocalFile) {
  TempDir src;
  Rng rng(5);
  std::string data(size_t(48) << 20, '\0');
  for (char& c : data) c = char(rng.below(256));
  std::ofstream(src / "big.bin", std::ios::binary) << data;
  const std::string digest = sha256_hex(data);
  for (int round = 0; round < 3; ++round) {
    TempDir cache;
    const std::string env = "DLTRAIN_CACHE=" + cache.path();
    Result second;
    const Result first = run({"fetch", src / "big.bin", "-q"}, {env},
                             [&](pid_t) { second = run({"fetch", src / "big.bin", "-q"}, {env}); });
    EXPECT_EQ(first.code, 0) << "round " << round << ": " << first.err;
    EXPECT_EQ(second.code, 0) << "round " << round << ": " << second.err;
    for (const auto& blob : std::filesystem::directory_iterator(cache / "blobs"))
      EXPECT_EQ(digest_file(blob.path()).sha256, blob.path().filename().string()) << "round " << round;
    EXPECT_EQ(digest_file(cache / "datasets/big.bin/big.bin").sha256, digest) << "round " << round;
    EXPECT_TRUE(std::filesystem::is_empty(cache / "partial")) << "round " << round;
  }
}

// Credentials in a URL never reach the terminal, error messages or the cache: a password and signed
// query parameters are planted, then fetched (success, cached, --offline miss, a download cut off
// that leaves its sidecar), and every output and every file under the cache is searched for them.
TEST(Cli, FetchNeverShowsOrStoresCredentials) {
  TempDir root, cache;
  std::ofstream(root / "file.bin", std::ios::binary) << std::string(300000, 'a');
  std::ofstream(root / "file2.bin", std::ios::binary) << std::string(300000, 'b');
  test::ServerProcess server({"python3", test::servers_dir() + "/http_faults.py", root.path()});
  ASSERT_TRUE(server.running());
  const std::vector<std::string> secrets = {"PW-s3cr3t-1", "SIG-s3cr3t-2", "TOK-s3cr3t-3", "CRED-s3cr3t-4"};
  const std::string host = "http://alice:" + secrets[0] + "@127.0.0.1:" + server.first_line().substr(5) + "/m/";
  const std::string query = "?X-Amz-Signature=" + secrets[1] + "&token=" + secrets[2] + "&X-Amz-Credential=" + secrets[3];
  const std::string env = "DLTRAIN_CACHE=" + cache.path();
  std::vector<Result> results;
  results.push_back(run({"fetch", host + "ok/file.bin" + query}, {env}));
  EXPECT_EQ(results.back().code, 0) << results.back().err;
  EXPECT_HAS(results.back().out, "alice:***@127.0.0.1");
  results.push_back(run({"fetch", host + "ok/file.bin" + query, "--offline"}, {env}));
  EXPECT_EQ(results.back().code, 0) << results.back().err;
  EXPECT_HAS(results.back().out, "(cached)");
  results.push_back(run({"fetch", host + "ok/other.bin" + query, "--offline"}, {env}));
  EXPECT_EQ(results.back().code, 1);
  EXPECT_HAS(results.back().err, "not in the cache");
  results.push_back(run({"fetch", host + "dropfirst-1000/file2.bin" + query, "--retries", "0"}, {env}));
  EXPECT_EQ(results.back().code, 1);
  results.push_back(run({"fetch", host + "ok/missing.bin" + query, "--retries", "0"}, {env}));
  EXPECT_EQ(results.back().code, 1);
  EXPECT_HAS(results.back().err, "HTTP 404");
  bool sidecar = false, index = false;
  for (const auto& e : std::filesystem::recursive_directory_iterator(cache.path())) {
    if (!e.is_regular_file()) continue;
    sidecar = sidecar || (e.path().extension() == ".json" && e.path().parent_path().filename() == "partial");
    index = index || e.path().filename() == "index.json";
    const std::string content = read_file(e.path().string());
    for (const std::string& secret : secrets) {
      EXPECT_EQ(content.find(secret), std::string::npos) << secret << " is stored in " << e.path();
      EXPECT_EQ(e.path().string().find(secret), std::string::npos) << secret << " names a file: " << e.path();
    }
  }
  EXPECT_TRUE(sidecar) << "the cut-off download left no sidecar to check";
  EXPECT_TRUE(index);
  for (const Result& r : results)
    for (const std::string& secret : secrets) {
      EXPECT_EQ(r.out.find(secret), std::string::npos) << secret << " printed:\n" << r.out;
      EXPECT_EQ(r.err.find(secret), std::string::npos) << secret << " in an error:\n" << r.err;
    }
}

// The transfer-learning story through the CLI: ImageNet predictions from the TFLite file, a head
// trained on a folder of photos (with augmented views, resumed for more epochs), its predictions.
TEST(Cli, TransferLearningStory) {
  const char* env = std::getenv("DLTRAIN_TEST_DATA");
  const std::string data = env && *env ? env : std::string(DLTRAIN_SOURCE_DIR) + "/../shared/data";
  const std::string model = data + "/mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite";
  if (!std::filesystem::exists(model)) GTEST_SKIP() << "the MobileNetV2 file is not here (../shared/data, or set DLTRAIN_TEST_DATA)";
  Result p = run({"predict", "--backbone", model, "--labels", data + "/mobilenet_v2/imagenet_labels.txt", "-k", "2",
                  data + "/images/parrot.jpg"});
  EXPECT_EQ(p.code, 0) << p.err;
  EXPECT_HAS(p.out, "parrot.jpg: macaw (0.99");

  TempDir dir;
  for (const std::string name : {"cat_train_0", "dog_train_0", "hotdog_train_0", "hotdog_train_1", "cat_test_0",
                                 "dog_test_0", "hotdog_test_0"}) {
    const std::string split = name.find("train") != std::string::npos ? "train" : "test";
    const std::string folder = dir / ("photos/" + split + "/" + name.substr(0, name.find('_')));
    std::filesystem::create_directories(folder);
    std::filesystem::copy_file(data + "/images/imprinting/" + name + ".bmp", folder + "/" + name + ".bmp");
  }
  const std::string cache = "DLTRAIN_CACHE=" + (dir / "cache");
  Result t = run({"train", "--backbone", model, "--data", dir / "photos", "--head", "", "--optim", "adam:lr=0.01",
                  "--epochs", "8", "--augment", "1", "--run-dir", dir / "run"},
                 {cache});
  EXPECT_EQ(t.code, 0) << t.err;
  EXPECT_HAS(t.out, "4 training / 3 test images");
  Result more = run({"train", "--resume", dir / "run", "--epochs", "16"}, {cache});
  EXPECT_EQ(more.code, 0) << more.err;
  EXPECT_HAS(more.out, "Test accuracy 1.0000");
  // The report shows the photos: 3 test images, each a 96x96 thumbnail in colour.
  EXPECT_HAS(more.out, "Report: " + dir / "run/report.html");
  int w = 0, h = 0, c = 0;
  ASSERT_TRUE(stbi_info((dir / "run/samples.png").c_str(), &w, &h, &c));
  EXPECT_EQ(w, 3 * 120);
  EXPECT_EQ(c, 3);
  Result ev = run({"eval", dir / "run/model.safetensors"});  // the photos' test split, found again
  EXPECT_EQ(ev.code, 0) << ev.err;
  EXPECT_HAS(ev.out, "test split, 3 images");
  EXPECT_HAS(ev.out, "accuracy: 1.0000");
  Result mine = run({"predict", dir / "run/model.safetensors", dir / "photos/test/hotdog/hotdog_test_0.bmp"});
  EXPECT_EQ(mine.code, 0) << mine.err;
  EXPECT_HAS(mine.out, "hotdog_test_0.bmp: hotdog");
  Result wrong = run({"train", "--model", "mobilenet_v2-transfer", "--data", dir / "photos"});
  EXPECT_EQ(wrong.code, 1);
  EXPECT_HAS(wrong.err, "needs --backbone");
}

TEST(Cli, TrainsOnCifarBatches) {
  // 32x32 colour images in CIFAR-10's binary layout: the preset networks take the third channel.
  TempDir dir;
  auto records = [](int n, uint64_t seed) {
    std::string s = test::random_bytes(size_t(n) * 3073, seed);
    for (int i = 0; i < n; ++i) s[size_t(i) * 3073] = char(i % 10);
    return s;
  };
  for (int b = 1; b <= 5; ++b) test::write(dir / ("data/data_batch_" + std::to_string(b) + ".bin"), records(20, uint64_t(b)));
  test::write(dir / "data/test_batch.bin", records(20, 9));
  const Result r = run({"train", "--data", dir / "data", "--model", "cnn", "--epochs", "1", "--runs", dir / "runs"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_HAS(r.out, "Test accuracy");
}

}  // namespace
}  // namespace dltrain
