// bench/sync: replication figures with real nodes over mutual TLS on
// loopback (2 cores shared by every process):
//   (a) initial sync of N records (~300 B) local → provincial,
//   (b) steady replication of M new records while connected,
//   (c) single-change latency local → provincial and local → national,
//       p50/p99 over K changes (committed by this program into the local's
//       store, as a CLI import would; the local sees it through inotify).
// A benchmark: prints figures, never fails on a number.
//   build/bench/bench_sync [--records N] [--steady M] [--changes K] [--dir DIR] [--binary PATH]
#include <fcntl.h>
#include <signal.h>
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
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_args.hpp"
#include "node/demo/sample_data.hpp"
#include "store/reader.hpp"
#include "store/writer.hpp"

extern char** environ;
namespace fs = std::filesystem;
using clk = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

std::string bin = CN_BINARY;
fs::path dir;

// Peak anonymous memory (RssAnon: heap, not the store's mapped file) of the
// processes watched, sampled while the bench waits.
std::map<pid_t, long> peak_anon_kb;

void sample_memory() {
  for (auto& [pid, peak] : peak_anon_kb) {
    std::ifstream st("/proc/" + std::to_string(pid) + "/status");
    for (std::string line; std::getline(st, line);)
      if (line.rfind("RssAnon:", 0) == 0) peak = std::max(peak, std::stol(line.substr(8)));
  }
}

pid_t spawn(std::vector<std::string> args, const std::string& err_file = "/dev/null") {
  args.insert(args.begin(), bin);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, err_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  posix_spawn(&pid, bin.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return pid;
}

// CPU seconds (user + system) and minor page faults of the last process
// run() waited for.
double last_run_cpu = 0;
long last_run_faults = 0;

int run(std::vector<std::string> args) {
  int st = 0;
  rusage ru{};
  ::wait4(spawn(std::move(args)), &st, 0, &ru);
  last_run_cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
                 static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  last_run_faults = ru.ru_minflt;
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

// CPU seconds (user + system) a running process has used so far, and its
// minor page faults (fresh memory touched: ~10 us each on this VM): with
// two cores shared by every process, a phase is bound either by one
// process's serial work (CPU to spare) or by the sum (none to spare).
struct usage {
  double cpu = 0;
  double faults = 0;
  double written_mb = 0;  // handed to write calls (wchar): LMDB's pages, mostly
};

double written_mb_of(pid_t pid) {
  std::ifstream io("/proc/" + std::to_string(pid) + "/io");
  std::string k;
  unsigned long long v = 0;
  while (io >> k >> v)
    if (k == "wchar:") return static_cast<double>(v) / 1e6;
  return 0;
}

usage usage_of(pid_t pid) {
  std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(st)), {});
  auto p = s.rfind(')');
  if (p == std::string::npos) return {};
  std::istringstream in(s.substr(p + 2));
  std::string f;
  unsigned long long minflt = 0, ut = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> f; ++i) {  // field 10: minflt; 14 and 15: utime, stime in clock ticks
    if (i == 10) minflt = std::stoull(f);
    if (i == 14) ut = std::stoull(f);
    if (i == 15) stime = std::stoull(f);
  }
  return {static_cast<double>(ut + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK)), static_cast<double>(minflt),
          written_mb_of(pid)};
}

int port_seq = 41000 + static_cast<int>(::getpid() % 1000) * 10;

struct bnode {
  std::string id, cfg, data, sync;
};

bnode make(const std::string& id, const std::string& role, const std::string& jur, const bnode* parent) {
  bnode n{id, (dir / id / "node.toml").string(), (dir / id / "data").string(), "127.0.0.1:" + std::to_string(port_seq++)};
  run({"init", "--role", role, "--node-id", id, "--jurisdiction", jur, "--dir", (dir / id).string()});
  run({"pki", "sign", "--ca", (dir / "ca").string(), "--csr", (dir / id / "tls/node.csr").string(), "--out",
       (dir / id / "tls/node.pem").string(), "--role", role, "--node-id", id, "--jurisdiction", jur});
  fs::copy_file(dir / "ca/ca.pem", dir / id / "tls/ca.pem");
  std::ifstream in(n.cfg);
  std::string t((std::istreambuf_iterator<char>(in)), {});
  auto set = [&](const std::string& k, const std::string& v) {
    auto p = t.find("\n" + k + " = ");
    t.replace(p + 1, t.find('\n', p + 1) - p - 1, k + " = \"" + v + "\"");
  };
  set("sync", n.sync);
  set("api", "127.0.0.1:" + std::to_string(port_seq++));
  set("admin", "127.0.0.1:" + std::to_string(port_seq++));
  set("level", std::getenv("BENCH_LOG_LEVEL") ? std::getenv("BENCH_LOG_LEVEL") : "warn");
  if (auto* rows = std::getenv("BENCH_IMPORT_BATCH_ROWS")) {  // [import] batch_rows (a number, not a string)
    auto p = t.find("\nbatch_rows = ");
    if (p == std::string::npos) throw std::runtime_error("BENCH_IMPORT_BATCH_ROWS: no batch_rows line in " + n.cfg);
    t.replace(p + 1, t.find('\n', p + 1) - p - 1, std::string("batch_rows = ") + rows);
  }
  if (parent) t += "\n[upstream]\nurl = \"https://" + parent->sync + "\"\nnode_id = \"" + parent->id + "\"\n";
  std::ofstream(n.cfg, std::ios::trunc) << t;
  if (parent) run({"admin", "approve", id, "--role", role, "--jurisdiction", jur, "-c", parent->cfg});
  return n;
}

// Opening a store takes LMDB's write lock for a moment (format check), so
// each store is opened once here: reopening it in a polling loop would
// compete with the node's own writer and distort what is measured.
store::environment& env_of(const bnode& n) {
  static std::map<std::string, std::unique_ptr<store::environment>> open;
  auto& e = open[n.data];
  if (!e) e = store::environment::open({n.data});
  return *e;
}

std::uint64_t total(const bnode& n) { return store::reader(env_of(n)).stats().total; }

// Seconds until `n` holds `want` records; exits (a broken run has no
// figure worth printing) when that takes more than 10 minutes.
double wait_total(const bnode& n, std::uint64_t want, clk::time_point since) {
  while (total(n) < want) {
    if (clk::now() - since > 600s) {
      std::fprintf(stderr, "sync: %s holds %llu of %llu records after 10 minutes; see %s\n", n.id.c_str(),
                   static_cast<unsigned long long>(total(n)), static_cast<unsigned long long>(want), dir.c_str());
      std::exit(1);
    }
    sample_memory();
    std::this_thread::sleep_for(20ms);
  }
  return std::chrono::duration<double>(clk::now() - since).count();
}

std::string csv(std::size_t rows, std::uint64_t seed, const std::string& prefix) {
  std::mt19937_64 rng(seed);
  auto subjects = node::demo::make_enterprises(rows / 50 + 1, {"320102", "320104", "320106", "320111"}, rng);
  auto f = (dir / ("rows-" + prefix + ".csv")).string();
  std::ofstream out(f);
  node::demo::write_csv(out, "admin_enforcement", subjects, rows, rng, node::demo::row_order::interleaved, prefix);
  return f;
}

double pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<std::size_t>(p * static_cast<double>(v.size())))];
}

}  // namespace

using bench::arg;

int main(int argc, char** argv) {
  std::size_t n = std::stoull(arg(argc, argv, "--records", "1000000"));
  std::size_t m = std::stoull(arg(argc, argv, "--steady", "200000"));
  // p99 over 100 samples is their maximum: 300 make it a percentile.
  std::size_t k = std::stoull(arg(argc, argv, "--changes", "300"));
  dir = fs::absolute(arg(argc, argv, "--dir", "bench-sync"));
  bin = arg(argc, argv, "--binary", CN_BINARY);  // another build, for a before/after comparison
  fs::remove_all(dir);
  fs::create_directories(dir);
  run({"pki", "ca-init", "--dir", (dir / "ca").string(), "--name", "Bench CA"});
  auto nat = make("cn.national", "national", "100000", nullptr);
  auto prov = make("js.province", "provincial", "320000", &nat);
  auto local = make("js.nanjing", "local", "320100", &prov);

  // (a) N records already at the local; the province starts empty.
  run({"import", "-c", local.cfg, "--category", "admin_enforcement", csv(n, 1, "a-")});
  ::sync();
  auto t0 = clk::now();
  pid_t pp = spawn({"run", "-c", prov.cfg}, (dir / "prov.log").string());
  pid_t pl = spawn({"run", "-c", local.cfg}, (dir / "local.log").string());
  peak_anon_kb[pp] = peak_anon_kb[pl] = 0;
  double a = wait_total(prov, n, t0);
  std::printf("sync: (a) initial %zu records local -> provincial: %.2f s, %.0f records/s\n", n, a, static_cast<double>(n) / a);
  auto use_p = usage_of(pp), use_l = usage_of(pl);
  std::printf("sync: (a) CPU seconds: provincial %.2f, local %.2f (of %.2f on two cores); page faults: provincial %.0f, "
              "local %.0f; written: provincial %.0f MB\n", use_p.cpu, use_l.cpu, 2 * a, use_p.faults, use_l.faults,
              use_p.written_mb);

  // (b) M new records while connected (the import itself included).
  auto f = csv(m, 2, "b-");
  auto t1 = clk::now();
  run({"import", "-c", local.cfg, "--category", "admin_enforcement", f});
  double imported = std::chrono::duration<double>(clk::now() - t1).count();
  double import_cpu = last_run_cpu;
  long import_faults = last_run_faults;
  double b = wait_total(prov, n + m, t1);
  std::printf("sync: (b) steady %zu records while connected: %.2f s, %.0f records/s (import included; the import "
              "itself ended at %.2f s)\n", m, b, static_cast<double>(m) / b, imported);
  auto now_p = usage_of(pp), now_l = usage_of(pl);
  std::printf("sync: (b) CPU seconds: import %.2f, provincial %.2f, local %.2f (of %.2f on two cores); page faults: "
              "import %ld, provincial %.0f, local %.0f; written: provincial %.0f MB\n", import_cpu, now_p.cpu - use_p.cpu,
              now_l.cpu - use_l.cpu, 2 * b, import_faults, now_p.faults - use_p.faults, now_l.faults - use_l.faults,
              now_p.written_mb - use_p.written_mb);
  std::printf("sync: peak anonymous memory during (a) and (b): provincial %ld MB, local %ld MB\n", peak_anon_kb[pp] / 1024,
              peak_anon_kb[pl] / 1024);

  // (c) the national node catches up, then single changes are timed.
  pid_t pn = spawn({"run", "-c", nat.cfg}, (dir / "national.log").string());
  wait_total(nat, n + m, clk::now());
  // As before (a): the bench's own files and the catch-up's dirty pages are
  // written back now, not under the single changes' fsyncs.
  ::sync();
  store::writer w(env_of(local));
  std::mt19937_64 rng(3);
  auto firm = node::demo::make_enterprises(1, {"320105"}, rng)[0];
  std::vector<double> one, two;
  std::vector<std::pair<double, double>> slow;  // (seconds into (c), ms to the national) of changes over 10 ms
  // BENCH_GAP_MS: the pause between changes — slow changes that keep their
  // spacing in time when it changes come from something periodic.
  const auto gap = std::chrono::milliseconds(std::getenv("BENCH_GAP_MS") ? std::atoi(std::getenv("BENCH_GAP_MS")) : 20);
  auto c0 = clk::now();
  for (std::size_t i = 0; i < k; ++i) {
    store::write_batch batch;
    batch.origin = "js.nanjing";
    std::string rid = "lat-" + std::to_string(i);
    batch.rows.push_back({"tax", firm, rid, "2026-10-01", "bench", R"({"period":"2026-09","tax_type":"VAT","amount_paid":"1.00"})", 1, {}});
    w.submit(std::move(batch)).get();
    auto t = clk::now();
    auto &penv = env_of(prov), &nenv = env_of(nat);
    bool got1 = false;
    for (auto end = t + 10s; clk::now() < end;) {
      if (!got1 && store::reader(penv).get("tax", firm, rid)) {
        one.push_back(std::chrono::duration<double, std::milli>(clk::now() - t).count());
        got1 = true;
      }
      if (got1 && store::reader(nenv).get("tax", firm, rid)) {
        two.push_back(std::chrono::duration<double, std::milli>(clk::now() - t).count());
        if (two.back() > 10) slow.emplace_back(std::chrono::duration<double>(t - c0).count(), two.back());
        break;
      }
      std::this_thread::sleep_for(200us);
    }
    std::this_thread::sleep_for(gap);
  }
  if (!one.empty() && !two.empty())
    std::printf("sync: (c) single change over %zu changes: local -> provincial p50 %.1f ms p90 %.1f ms p99 %.1f ms; "
                "local -> national p50 %.1f ms p90 %.1f ms p99 %.1f ms\n",
                one.size(), pct(one, 0.5), pct(one, 0.9), pct(one, 0.99), pct(two, 0.5), pct(two, 0.9), pct(two, 0.99));
  // Where the tail comes from: whether the slow changes cluster in time.
  if (!slow.empty()) {
    std::printf("sync: (c) changes over 10 ms to the national (s into (c): ms):");
    for (auto [at, ms] : slow) std::printf(" %.1f:%.1f", at, ms);
    std::printf("\n");
  }
  for (pid_t p : {pl, pp, pn}) ::kill(p, SIGTERM);
  for (pid_t p : {pl, pp, pn}) ::waitpid(p, nullptr, 0);
  if (!std::getenv("KEEP")) fs::remove_all(dir);
  return 0;
}
