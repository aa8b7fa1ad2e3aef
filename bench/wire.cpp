// Decoding and encoding a change batch in-process: the sync path's CPU per
// change without processes, TLS or LMDB around it, for quick before/after
// comparisons (bench_sync is the end-to-end figure).
#include <algorithm>
#include <chrono>
#include <random>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "bench/bench_args.hpp"
#include "node/cli/allocator.hpp"
#include "node/demo/sample_data.hpp"
#include "node/ingest/csv_reader.hpp"
#include "store/model/category.hpp"
#include "store/model/validate.hpp"
#include "sync/wire.hpp"

namespace {

// `n` admin_enforcement changes from the demo's CSV rows (read with the
// importer's CSV reader), made canonical the way an import makes them.
replication::change_batch sample_batch(std::size_t n) {
  std::mt19937_64 rng(7);
  auto subjects = node::demo::make_enterprises(n / 50 + 1, {"320102", "320104", "320106", "320111"}, rng);
  auto path = std::filesystem::temp_directory_path() / ("bench-wire-" + std::to_string(::getpid()) + ".csv");
  {
    std::ofstream out(path);
    node::demo::write_csv(out, "admin_enforcement", subjects, n, rng);
  }
  node::ingest::byte_source src(path.string());
  node::ingest::csv_reader csv(src, 1 << 20);
  std::vector<std::string> names;
  if (csv.next() == node::ingest::csv_reader::status::ok) names.assign(csv.fields().begin(), csv.fields().end());
  const auto& cat = *store::model::category_registry::builtin().find("admin_enforcement");
  replication::change_batch b{"js.nanjing", "0123456789abcdef0123456789abcdef", {}, 0, false, 0};
  for (auto st = csv.next(); st != node::ingest::csv_reader::status::eof; st = csv.next()) {
    const auto& cols = csv.fields();
    if (st != node::ingest::csv_reader::status::ok || cols.size() != names.size()) continue;
    store::model::raw_row row{cols[0], cols[1], cols[2], cols[3], {}};
    for (std::size_t i = 4; i < cols.size(); ++i) row.fields.emplace_back(names[i], store::model::raw_value{{}, cols[i]});
    replication::wire_change c;
    c.seq = b.changes.size() + 1;
    c.rec = {"admin_enforcement", std::string(cols[0]), std::string(cols[1]), "js.nanjing", 1, std::string(cols[2]),
             std::string(cols[3]), 0, false, {}};
    if (store::model::validate_row(cat, {}, row, c.rec.fields_json)) continue;
    b.changes.push_back(std::move(c));
  }
  std::filesystem::remove(path);
  b.last_seq = b.changes.size();
  return b;
}

template <class F>
double best_seconds(int rounds, F f) {
  double best = 1e9;
  for (int i = 0; i < rounds; ++i) {
    auto t = std::chrono::steady_clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count());
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = std::stoull(bench::arg(argc, argv, "--changes", "20000"));
  int rounds = std::stoi(bench::arg(argc, argv, "--rounds", "15"));
  // As the node runs (main.cpp), unless "--allocator default": glibc's own
  // settings fault fresh pages in for every batch, which is most of the
  // difference between two decoders.
  bool product_allocator = bench::arg(argc, argv, "--allocator", "product") == "product";
  if (product_allocator) node::cli::ask_for_huge_pages(argv), node::cli::tune_allocator();
  auto b = sample_batch(n);
  auto body = replication::encode_batch(b);
  std::size_t decoded = 0;
  double dec = best_seconds(rounds, [&] { decoded += replication::decode_batch(body, n).changes.size(); });
  double enc = best_seconds(rounds, [&] { decoded += replication::encode_batch(b).size() > 0; });
  auto per = [&](double s) { return s / static_cast<double>(b.changes.size()) * 1e6; };
  std::printf("wire: %zu changes, %.0f bytes each as JSON; best of %d: decode %.2f us/change, encode %.2f us/change "
              "(%s allocator)\n",
              b.changes.size(), static_cast<double>(body.size()) / static_cast<double>(b.changes.size()), rounds,
              per(dec), per(enc), product_allocator ? "the node's" : "glibc's default");
  return decoded == 0;
}
