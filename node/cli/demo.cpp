// `credit-node demo`: a first look. Today: one local platform (Nanjing,
// 320100) with synthetic data from every local department, a file of
// corrections with deliberate mistakes, and the resulting status. The
// network of four nodes joins it once sync exists.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "node/cli/commands.hpp"
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

int cmd_demo(int argc, char** argv) {
  auto a = parse(argc, argv, 2, {{"--once"}, {"--dir"}, 0});
  fs::path dir = fs::absolute(a.get("--dir").value_or("credit-node-demo"));
  prepare_dir(dir);
  auto cfg = init_node({"local", "js.nanjing", "320100", (dir / "js.nanjing").string()}, std::nullopt);
  std::mt19937_64 rng(20261127);
  auto subjects = demo::make_enterprises(300, {"320102", "320104", "320105", "320106", "320111", "320113"}, rng);
  std::cout << "local platform js.nanjing (320100): importing department files from " << dir.string()
            << "/data-files\n";
  auto env = open_store(cfg);
  std::uint64_t expected = 0;
  for (const auto& cat : demo::local_categories()) {
    auto file = dir / "data-files" / (cat + ".csv");
    {
      std::ofstream out(file);
      demo::write_csv(out, cat, subjects, 1200, rng);
    }
    expected += import_file(*env, cfg, cat, file).inserted;
  }
  std::cout << "importing tax.csv again changes nothing:\n";
  auto again = import_file(*env, cfg, "tax", dir / "data-files" / "tax.csv");
  std::cout << "a corrections file from the tax bureau (2 changed rows, 3 mistakes):\n";
  auto fix = dir / "data-files" / "tax-corrections.csv";
  std::ofstream(fix) << corrections(subjects, dir / "data-files" / "tax.csv");
  auto r = import_file(*env, cfg, "tax", fix);
  std::cout << "\n";
  print_status(cfg, *env, a.has("--json"));
  bool ok = store::reader(*env).stats().total == expected && r.updated == 2 && r.quarantined == 3 &&
            again.inserted + again.updated == 0;
  std::cout << "\n" << (ok ? "demo: every record arrived where it should" : "demo: MISSING RECORDS") << "\n"
            << "try: " << "credit-node status -c " << cfg.source_path << "\n"
            << "     credit-node import -c " << cfg.source_path << " --show-quarantine\n";
  return ok ? 0 : 1;
}

}  // namespace node::cli
