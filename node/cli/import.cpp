// `credit-node import`: validated ingest, and a look at what was refused.
#include <unistd.h>

#include <chrono>
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "node/cli/commands.hpp"
#include "node/ingest/importer.hpp"
#include "node/service/parent_link.hpp"
#include "store/model/validate.hpp"
#include "store/reader.hpp"

namespace node::cli {
namespace {

// Bad rows are printed as they are found, up to this many; the rest are in
// quarantine for --show-quarantine.
constexpr std::uint64_t max_printed = 50;

ingest::file_format parse_format(const std::optional<std::string>& f) {
  if (!f || *f == "auto") return ingest::file_format::automatic;
  if (*f == "csv") return ingest::file_format::csv;
  if (*f == "jsonl") return ingest::file_format::jsonl;
  throw usage_error("--format must be csv, jsonl or auto, not '" + *f + "'");
}

// A progress line on a terminal, for files big enough to wait for.
auto progress_printer(std::chrono::steady_clock::time_point start) {
  auto last = std::make_shared<std::chrono::steady_clock::time_point>(start);
  return [start, last](std::uint64_t rows, std::uint64_t bytes, std::uint64_t total) {
    auto now = std::chrono::steady_clock::now();
    if (now - *last < std::chrono::milliseconds(500)) return;
    *last = now;
    double secs = std::chrono::duration<double>(now - start).count();
    double pct = total ? 100.0 * static_cast<double>(bytes) / static_cast<double>(total) : 0;
    std::fprintf(stderr, "\r  %llu rows  %5.1f%%  %.0f rows/s   ", static_cast<unsigned long long>(rows),
                 pct, static_cast<double>(rows) / secs);
  };
}

int show_quarantine(const args& a) {
  auto cfg = load_config(a);
  auto env = open_store(cfg);
  store::reader rd(*env);
  std::uint64_t limit = a.number("--limit", 1000, 1, UINT64_MAX), n = 0;
  rd.for_each_quarantine([&](std::uint64_t seq, std::string_view json) {
    if (a.has("--json")) std::cout << "{\"seq\":" << seq << "," << json.substr(1) << "\n";
    else std::cout << "#" << seq << " " << json << "\n";
    return ++n < limit;
  });
  if (!a.has("--json")) std::cout << n << " quarantined row(s) shown\n";
  return 0;
}

void print_summary(const args& a, const ingest::import_options& o, const ingest::import_report& r, double secs) {
  if (a.has("--json")) {
    std::string file, cat;
    store::model::append_json_string(file, o.path);
    store::model::append_json_string(cat, o.category);
    std::printf("{\"file\":%s,\"category\":%s,\"rows\":%llu,\"inserted\":%llu,\"updated\":%llu,"
                "\"unchanged\":%llu,\"quarantined\":%llu,\"seconds\":%.3f,\"exit\":%d}\n",
                file.c_str(), cat.c_str(), (unsigned long long)r.rows,
                (unsigned long long)r.inserted, (unsigned long long)r.updated,
                (unsigned long long)r.unchanged, (unsigned long long)r.quarantined, secs, r.exit_code());
    return;
  }
  std::printf("%s → %s: %llu rows read, %llu new, %llu updated, %llu unchanged, %llu quarantined "
              "(%.2f s, %.0f rows/s)\n",
              o.path.c_str(), o.category.c_str(), (unsigned long long)r.rows,
              (unsigned long long)r.inserted, (unsigned long long)r.updated,
              (unsigned long long)r.unchanged, (unsigned long long)r.quarantined, secs,
              secs > 0 ? static_cast<double>(r.rows) / secs : 0.0);
  if (r.rows == 0) std::printf("the file has a header but no data rows\n");
  if (r.quarantined)
    std::printf("see the refused rows with: credit-node import -c %s --show-quarantine\n",
                a.config_path().c_str());
}

}  // namespace

int cmd_import(int argc, char** argv) {
  auto a = parse(argc, argv, 2, {{"--show-quarantine", "--clear-quarantine"}, {"--category", "--format", "--limit"}, 1});
  // An option that does not apply is refused, not ignored.
  auto only = [&](const char* mode, std::initializer_list<const char*> allowed) {
    for (const auto& [opt, _] : a.options)
      if (opt != "-c" && std::find_if(allowed.begin(), allowed.end(), [&](const char* o) { return opt == o; }) == allowed.end())
        throw usage_error(opt + " does not go with " + mode);
  };
  if (a.has("--show-quarantine")) {
    only("--show-quarantine", {"--limit"});
    if (!a.positional.empty()) throw usage_error("--show-quarantine takes no FILE");
    return show_quarantine(a);
  }
  if (a.has("--clear-quarantine")) {
    only("--clear-quarantine", {});
    if (!a.positional.empty()) throw usage_error("--clear-quarantine takes no FILE");
    auto env = open_store(load_config(a));
    store::write_batch b;
    b.clear_quarantine = true;
    auto r = store::writer(*env).submit(std::move(b)).get();
    std::printf("quarantine: %llu refused rows cleared\n", static_cast<unsigned long long>(r.quarantine_cleared));
    return 0;
  }
  if (a.positional.size() != 1) throw usage_error("import needs exactly one FILE");
  if (a.get("--limit")) throw usage_error("--limit goes with --show-quarantine (how many refused rows to show); an import reads the whole FILE");
  auto cfg = load_config(a);
  if (service::recovery_pending(cfg))
    throw std::runtime_error("this store was restored from a backup (or went back to an earlier state: its parent held more of it), and the "
                             "records this node owns that are newer than it are still at its parent: start credit-node run and wait until status shows "
                             "upstream.recovering false (log: sync_recovered), then import; importing now could number "
                             "versions the network has already seen. Nothing was imported. (If this node's parent never "
                             "had them, remove " + service::recovery_flag_path(cfg) + ".)");
  store::model::uscc_policy codes(cfg.import.legacy_codes);
  ingest::import_options o;
  o.path = a.positional[0];
  o.category = a.require("--category");
  o.origin = cfg.node.id;
  o.jurisdiction = cfg.node.jurisdiction;
  o.format = parse_format(a.get("--format"));
  o.max_record_bytes = cfg.import.max_record_bytes;
  o.batch_rows = cfg.import.batch_rows;
  o.codes = &codes;
  std::uint64_t printed = 0;
  o.on_bad = [&](const store::quarantine_entry& q) {
    if (++printed <= max_printed)
      std::fprintf(stderr, "%s:%llu: %s: %s\n", q.file.c_str(), (unsigned long long)q.line,
                   q.field.c_str(), store::model::printable(q.reason).c_str());
  };
  auto start = std::chrono::steady_clock::now();
  if (::isatty(2)) o.on_progress = progress_printer(start);
  auto env = open_store(cfg);
  auto rep = ingest::run_import(*env, o);
  if (o.on_progress) std::fprintf(stderr, "\r%60s\r", "");
  if (printed > max_printed)
    std::fprintf(stderr, "... and %llu more refused rows\n", (unsigned long long)(printed - max_printed));
  if (!rep.fatal.empty()) {
    std::fprintf(stderr, "credit-node import: %s\n", rep.fatal.c_str());
    if (rep.inserted + rep.updated == 0) std::fprintf(stderr, "nothing was imported from this file\n");
    return 2;
  }
  print_summary(a, o, rep, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  return rep.exit_code();
}

}  // namespace node::cli
