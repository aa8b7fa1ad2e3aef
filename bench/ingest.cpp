// bench/ingest: import N synthetic records (~330 bytes each) from CSV with
// the real binary, durable at the end, and print records/s and peak RSS.
// A benchmark, not a test: it prints figures and never fails on time.
//
//   build/bench/bench_ingest [--records N] [--dir DIR] [--category C] [--batch-rows N]
//                            [--order random|sorted]
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "bench/bench_args.hpp"
#include "node/demo/sample_data.hpp"

extern char** environ;
namespace fs = std::filesystem;

namespace {

struct run_stats {
  int exit_code = -1;
  double seconds = 0;
  long max_rss_kb = 0;   // from wait4: anonymous + mapped store pages
  long max_anon_kb = 0;  // sampled: the process's own memory
};

long status_kb(pid_t pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field, 0) == 0) return std::atol(line.c_str() + std::strlen(field));
  return 0;
}

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
  run_stats r;
  // Sample anonymous memory while it runs: ru_maxrss also counts the clean
  // store pages the kernel maps around index lookups (page cache, shared).
  for (;;) {
    siginfo_t info{};
    ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT);  // peek, do not reap
    if (info.si_pid == pid) break;
    r.max_anon_kb = std::max(r.max_anon_kb, status_kb(pid, "RssAnon:"));
    ::usleep(20000);
  }
  ::wait4(pid, &status, 0, &ru);  // this child's own peak RSS
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.max_rss_kb = ru.ru_maxrss;
  return r;
}

}  // namespace

using bench::arg;

int main(int argc, char** argv) {
  std::size_t n = std::stoull(arg(argc, argv, "--records", "1000000"));
  std::string category = arg(argc, argv, "--category", "admin_enforcement");
  fs::path dir = fs::absolute(arg(argc, argv, "--dir", "bench-ingest"));
  std::string batch = arg(argc, argv, "--batch-rows", "");
  // random: rows cycle through shuffled subjects (an export in date order,
  // the worst case for the subject index); sorted: grouped by credit code.
  std::string order = arg(argc, argv, "--order", "random");
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::string bin = arg(argc, argv, "--binary", CN_BINARY);  // another build, for a before/after comparison
  std::string cfg = (dir / "node" / "node.toml").string();
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
  if (order == "sorted") std::sort(subjects.begin(), subjects.end());
  else std::shuffle(subjects.begin(), subjects.end(), rng);
  auto csv = dir / (category + ".csv");
  {
    std::ofstream out(csv);
    node::demo::write_csv(out, category, subjects, n, rng,
                          order == "sorted" ? node::demo::row_order::grouped : node::demo::row_order::interleaved);
  }
  auto bytes = fs::file_size(csv);
  std::printf("ingest: %zu %s records (%s order), %.1f MB CSV, %.0f bytes/record\n", n, category.c_str(), order.c_str(),
              static_cast<double>(bytes) / 1e6, static_cast<double>(bytes) / static_cast<double>(n));
  ::sync();  // start from a quiet disk: earlier runs' writeback is not ours
  auto r = run({bin, "import", "-c", cfg, "--category", category, csv.string()});
  std::printf("ingest: exit %d, %.2f s, %.0f records/s, %.1f MB/s, peak RSS %.1f MB (anonymous %.1f MB)\n",
              r.exit_code, r.seconds, static_cast<double>(n) / r.seconds,
              static_cast<double>(bytes) / 1e6 / r.seconds, static_cast<double>(r.max_rss_kb) / 1024.0,
              static_cast<double>(r.max_anon_kb) / 1024.0);
  // A figure for a broken import would be worthless: check what landed.
  std::string status;
  if (std::FILE* p = ::popen((bin + " status --json -c " + cfg).c_str(), "r")) {
    char buf[4096];
    for (std::size_t k; (k = std::fread(buf, 1, sizeof buf, p)) > 0;) status.append(buf, k);
    ::pclose(p);
  }
  bool all_in = status.find("\"total\":" + std::to_string(n) + ",") != std::string::npos;
  std::printf("ingest: store holds %s\n", all_in ? "every record" : "THE WRONG NUMBER OF RECORDS");
  ::sync();
  auto again = run({bin, "import", "-c", cfg, "--category", category, csv.string()});
  std::printf("ingest: re-import (no changes) %.2f s, %.0f records/s, peak RSS %.1f MB\n", again.seconds,
              static_cast<double>(n) / again.seconds, static_cast<double>(again.max_rss_kb) / 1024.0);
  std::printf("ingest: store size %.1f MB\n",
              static_cast<double>(fs::file_size(dir / "node" / "data" / "data.mdb")) / 1e6);
  if (!std::getenv("KEEP")) fs::remove_all(dir);
  return r.exit_code == 0 && all_in ? 0 : 1;
}
