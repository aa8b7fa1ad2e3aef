// bench/ingest: import N synthetic records (~330 bytes each) from CSV with
// the real binary, durable at the end, and print records/s and peak RSS.
// A benchmark, not a test: it prints figures and never fails on time.
//
//   build/bench/bench_ingest [--records N] [--dir DIR] [--category C] [--batch-rows N]
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "node/demo/sample_data.hpp"

extern char** environ;
namespace fs = std::filesystem;

namespace {

struct run_stats {
  int exit_code = -1;
  double seconds = 0;
  long max_rss_kb = 0;
};

run_stats run(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid;
  if (posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) != 0) {
    std::perror("spawn");
    std::exit(2);
  }
  int status = 0;
  struct rusage ru{};
  ::wait4(pid, &status, 0, &ru);  // the child's own peak RSS, not ours
  run_stats r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.max_rss_kb = ru.ru_maxrss;
  return r;
}

std::string arg(int argc, char** argv, const char* name, std::string dflt) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return dflt;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = std::stoull(arg(argc, argv, "--records", "1000000"));
  std::string category = arg(argc, argv, "--category", "admin_enforcement");
  fs::path dir = fs::absolute(arg(argc, argv, "--dir", "bench-ingest"));
  std::string batch = arg(argc, argv, "--batch-rows", "");
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string bin = CN_BINARY, cfg = (dir / "node" / "node.toml").string();
  run({bin, "init", "--role", "local", "--node-id", "bench.local", "--jurisdiction", "320100", "--dir",
       (dir / "node").string()});
  if (!batch.empty()) {
    std::string text;
    { std::ifstream in(cfg); text.assign(std::istreambuf_iterator<char>(in), {}); }
    auto pos = text.find("batch_rows = ");
    if (pos != std::string::npos) text.replace(pos, text.find('\n', pos) - pos, "batch_rows = " + batch);
    std::ofstream(cfg, std::ios::trunc) << text;
  }
  std::mt19937_64 rng(42);
  auto subjects = node::demo::make_enterprises(n / 50 + 1,
      {"320102", "320104", "320105", "320106", "320111", "320113", "320114", "320115"}, rng);
  std::shuffle(subjects.begin(), subjects.end(), rng);
  auto csv = dir / (category + ".csv");
  {
    std::ofstream out(csv);
    node::demo::write_csv(out, category, subjects, n, rng);
  }
  auto bytes = fs::file_size(csv);
  std::printf("ingest: %zu %s records, %.1f MB CSV, %.0f bytes/record\n", n, category.c_str(),
              static_cast<double>(bytes) / 1e6, static_cast<double>(bytes) / static_cast<double>(n));
  auto r = run({bin, "import", "-c", cfg, "--category", category, csv.string()});
  std::printf("ingest: exit %d, %.2f s, %.0f records/s, %.1f MB/s, peak RSS %.1f MB\n", r.exit_code, r.seconds,
              static_cast<double>(n) / r.seconds, static_cast<double>(bytes) / 1e6 / r.seconds,
              static_cast<double>(r.max_rss_kb) / 1024.0);
  auto again = run({bin, "import", "-c", cfg, "--category", category, csv.string()});
  std::printf("ingest: re-import (no changes) %.2f s, %.0f records/s, peak RSS %.1f MB\n", again.seconds,
              static_cast<double>(n) / again.seconds, static_cast<double>(again.max_rss_kb) / 1024.0);
  std::printf("ingest: store size %.1f MB\n",
              static_cast<double>(fs::file_size(dir / "node" / "data" / "data.mdb")) / 1e6);
  if (!std::getenv("KEEP")) fs::remove_all(dir);
  return r.exit_code == 0 ? 0 : 1;
}
