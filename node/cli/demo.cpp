// `credit-node demo`: a first look at a whole network on loopback —
// national, Jiangsu's provincial node, the Nanjing and Suzhou locals — with
// synthetic data from every local department and nationally held data,
// printing what arrived where. --once exits 0 when every record is where it
// should be (non-zero otherwise); without it the network runs until Ctrl-C.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>
#include <fstream>
#include <iostream>

#include "node/cli/commands.hpp"
#include "node/cli/demo_network.hpp"
#include "node/demo/sample_data.hpp"
#include "node/ingest/importer.hpp"
#include "store/reader.hpp"

namespace node::cli {
namespace {

namespace fs = std::filesystem;
const char* marker = ".credit-node-demo";

// Reuses a directory only if an earlier demo made it: never wipes a stranger's.
void prepare_dir(const fs::path& dir) {
  if (fs::exists(dir)) {
    if (!fs::exists(dir / marker) && !fs::is_empty(dir))
      throw usage_error(dir.string() + " exists and was not made by the demo; pass another --dir");
    fs::remove_all(dir);
  }
  fs::create_directories(dir / "data-files");
  std::ofstream(dir / marker) << "made by credit-node demo\n";
}

// Corrections a department might send: two changed rows (they become
// version 2) and three mistakes the importer must refuse with reasons.
std::string corrections(const std::vector<std::string>& subjects, const fs::path& first_tax) {
  std::ifstream in(first_tax);
  std::string header, row1, row2;
  std::getline(in, header);
  std::getline(in, row1);
  std::getline(in, row2);
  auto change_amount = [](std::string row) {  // amount_paid is the 7th column
    std::size_t pos = 0;
    for (int i = 0; i < 6; ++i) pos = row.find(',', pos) + 1;
    return row.substr(0, pos) + "99999.99" + row.substr(row.find(',', pos));
  };
  std::string bad_code = subjects[0];
  bad_code[17] = bad_code[17] == 'A' ? 'B' : 'A';
  return header + "\n" + change_amount(row1) + "\n" + change_amount(row2) + "\n" +
         bad_code + ",2026-09-0,2026-10-15,国家税务总局南京市税务局,2026-09,增值税,100.00,,A\n" +
         subjects[1] + ",2026-09-0,2026-13-45,国家税务总局南京市税务局,2026-09,增值税,100.00,,A\n" +
         subjects[2] + ",2026-09-0,2026-10-15,国家税务总局南京市税务局,2026-09,增值税,100.00,,E\n";
}

ingest::import_report import_file(store::environment& env, const config::node_config& cfg,
                                  const std::string& category, const fs::path& file) {
  ingest::import_options o;
  o.path = file.string();
  o.category = category;
  o.origin = cfg.node.id;
  o.jurisdiction = cfg.node.jurisdiction;
  o.on_bad = [](const store::quarantine_entry& q) {
    std::cout << "    refused " << fs::path(q.file).filename().string() << ":" << q.line << " "
              << q.field << ": " << q.reason << "\n";
  };
  auto r = ingest::run_import(env, o);
  std::cout << "  " << category << ": " << r.rows << " rows, " << r.inserted << " new, " << r.updated
            << " updated, " << r.unchanged << " unchanged, " << r.quarantined << " refused\n";
  if (!r.fatal.empty()) throw std::runtime_error(r.fatal);
  return r;
}

}  // namespace

namespace {

std::vector<std::string> firms(std::size_t n, const std::vector<std::string>& divisions, std::mt19937_64& rng) {
  return demo::make_enterprises(n, divisions, rng);
}

// Writes `category` rows about `subjects` and imports them at `n`.
std::uint64_t feed(const demo_node& n, const fs::path& dir, const std::string& category,
                   const std::vector<std::string>& subjects, std::size_t rows, std::mt19937_64& rng,
                   const std::string& id_prefix = "") {
  auto file = dir / "data-files" / (n.id + "-" + category + id_prefix + ".csv");
  {
    std::ofstream out(file);
    demo::write_csv(out, category, subjects, rows, rng, demo::row_order::interleaved, id_prefix);
  }
  auto env = open_store(n.cfg);
  return import_file(*env, n.cfg, category, file).inserted;
}

// Records a node holds, by owner.
std::map<std::string, std::uint64_t> holdings(const demo_node& n) {
  std::map<std::string, std::uint64_t> by_origin;
  auto env = open_store(n.cfg);
  store::reader(*env).for_each_record({}, [&](const store::model::record& r) { return ++by_origin[r.origin], true; });
  return by_origin;
}

std::uint64_t total(const std::map<std::string, std::uint64_t>& m) {
  std::uint64_t t = 0;
  for (const auto& [_, n] : m) t += n;
  return t;
}

void print_holdings(demo_network& net, const std::map<std::string, std::uint64_t>& expected) {
  for (auto& n : net.nodes()) {
    auto h = holdings(n);
    std::cout << "  " << n.id << " (" << n.role << ", " << n.jurisdiction << "): " << total(h) << " of "
              << expected.at(n.id) << " expected —";
    for (const auto& [origin, count] : h) std::cout << " " << count << " from " << origin;
    std::cout << "\n";
  }
}

// Each parent's registry: whom it admitted (the demo approved every child
// before it first joined, as `credit-node admin approve` does).
void print_registries(demo_network& net) {
  for (auto& n : net.nodes()) {
    auto env = open_store(n.cfg);
    auto children = store::reader(*env).nodes();
    if (children.empty()) continue;
    std::cout << "  " << n.id << " registry (credit-node admin nodes):";
    for (const auto& c : children)
      std::cout << " " << c.node_id << " " << store::to_string(c.state) << " (joined " << c.last_decision << ", v" << c.version << ")";
    std::cout << "\n";
  }
}

bool converged(demo_network& net, const std::map<std::string, std::uint64_t>& expected) {
  for (auto& n : net.nodes())
    if (total(holdings(n)) != expected.at(n.id)) return false;
  return true;
}

void wait_for_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // after the children started: they keep theirs
  int sig = 0;
  sigwait(&set, &sig);
}

}  // namespace

int cmd_demo(int argc, char** argv) {
  auto a = parse(argc, argv, 2, {{"--once"}, {"--dir"}, 0});
  fs::path dir = fs::absolute(a.get("--dir").value_or("credit-node-demo"));
  prepare_dir(dir);
  std::cout << "demo: a CA and four nodes in " << dir.string() << " (certificates from credit-node's own pki)\n";
  demo_network net(dir);
  net.start();
  for (auto& n : net.nodes())
    std::cout << "  " << n.id << " " << n.role << " " << n.jurisdiction << (n.parent.empty() ? "" : " → " + n.parent)
              << "   status page: http://" << n.admin_addr << "/metrics\n";
  std::mt19937_64 rng(20261127);
  auto nj = firms(300, {"320102", "320104", "320105", "320106", "320111", "320113"}, rng);
  auto sz = firms(200, {"320505", "320506", "320507", "320508"}, rng);
  auto xm = firms(100, {"350203", "350206"}, rng);
  std::map<std::string, std::uint64_t> got;
  std::cout << "local departments' files, imported at the locals:\n";
  for (const auto& cat : demo::local_categories()) {
    got["nj"] += feed(net.get("js.nanjing"), dir, cat, nj, 600, rng);
    got["sz"] += feed(net.get("js.suzhou"), dir, cat, sz, 400, rng);
  }
  std::cout << "a corrections file from Nanjing's tax bureau (2 changed rows become version 2, 3 mistakes):\n";
  {
    auto fix = dir / "data-files" / "js.nanjing-tax-corrections.csv";
    std::ofstream(fix) << corrections(nj, dir / "data-files" / "js.nanjing-tax.csv");
    auto env = open_store(net.get("js.nanjing").cfg);
    import_file(*env, net.get("js.nanjing").cfg, "tax", fix);
  }
  std::cout << "nationally held data (tax, 总对总), imported at the national node:\n";
  got["nat_nj"] = feed(net.get("cn.national"), dir, "tax", {nj.begin(), nj.begin() + 100}, 100, rng, "NAT-NJ-");
  got["nat_sz"] = feed(net.get("cn.national"), dir, "tax", {sz.begin(), sz.begin() + 100}, 100, rng, "NAT-SZ-");
  got["nat_xm"] = feed(net.get("cn.national"), dir, "tax", xm, 100, rng, "NAT-XM-");
  std::map<std::string, std::uint64_t> expected{
      {"cn.national", got["nj"] + got["sz"] + got["nat_nj"] + got["nat_sz"] + got["nat_xm"]},
      {"js.province", got["nj"] + got["sz"] + got["nat_nj"] + got["nat_sz"]},
      {"js.nanjing", got["nj"] + got["nat_nj"]},
      {"js.suzhou", got["sz"] + got["nat_sz"]}};
  std::cout << "waiting for every record to arrive where it should (up to 60 s):\n";
  auto end = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  bool ok = false;
  while (!(ok = converged(net, expected)) && std::chrono::steady_clock::now() < end)
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  print_holdings(net, expected);
  std::cout << "admission: every child joined with its posture report and was admitted:\n";
  print_registries(net);
  if (ok) ok = demo_bank_api(net.get("js.nanjing").cfg, nj.front());
  std::cout << (ok ? "demo: every record arrived where it should\n" : "demo: MISSING RECORDS (see the .log files)\n");
  if (!a.has("--once")) {
    std::cout << "running; try `credit-node status -c " << net.get("js.nanjing").cfg.source_path
              << "`; Ctrl-C stops the network\n";
    wait_for_signal();
  }
  net.stop();
  return ok ? 0 : 1;
}

}  // namespace node::cli
