// `credit-node quality [--json]`: the quality report per category
// (completeness, accuracy, continuity, timeliness), read from the store; it
// may run beside the node. The definitions are in node/quality/quality.hpp.
#include <chrono>
#include <cstdio>
#include <iostream>

#include "node/cli/commands.hpp"
#include "node/quality/quality.hpp"

namespace node::cli {
namespace {

std::string days(const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : "—"; }

void print_table(const config::node_config& cfg, const quality::report& r) {
  std::printf("quality at %s (a scan of %lld ms)\n", cfg.node.id.c_str(), static_cast<long long>(r.took_ms));
  std::printf("%-18s %9s %11s %9s %9s %10s %12s  %s\n", "category", "records", "quarantined", "complete", "accurate",
              "continuous", "lag p50/p90", "newest event");
  for (const auto& [name, q] : r.by_category) {
    std::string lag = days(q.lag_days_p50) + "/" + days(q.lag_days_p90) + " d";
    std::string newest = q.newest_event.empty() ? "—" : q.newest_event + " (" + days(q.newest_event_age_days(r.computed_at_ms)) + " days ago)";
    std::printf("%-18s %9llu %11llu %9s %9s %10s %12s  %s\n", name.c_str(), static_cast<unsigned long long>(q.records),
                static_cast<unsigned long long>(q.quarantined), quality::percent_text(q.completeness()).c_str(),
                quality::percent_text(q.accuracy()).c_str(), quality::percent_text(q.continuity()).c_str(), lag.c_str(), newest.c_str());
  }
  for (const auto& [name, q] : r.by_category)
    if (q.unreadable)
      std::printf("%s: %llu record(s) whose fields are not valid JSON (the first: %s) — the parent refuses every batch "
                  "carrying one, and API answers with one are broken: import them again from a corrected file, at the node that owns them\n",
                  name.c_str(), static_cast<unsigned long long>(q.unreadable), q.first_unreadable.c_str());
  std::printf("complete: optional fields filled; accurate: records of records + quarantined rows;\n"
              "continuous: months present in each monthly series (tax, utility_payment) between its first and last;\n"
              "lag: days from the event to its arrival at this node.\n");
}

}  // namespace

int cmd_quality(int argc, char** argv) {
  auto a = parse(argc, argv, 2, {{}, {}, 0});
  auto cfg = load_config(a);
  auto env = open_store(cfg);
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  auto r = quality::compute(*env, now.count());
  if (a.has("--json")) std::cout << quality::to_json(r) << "\n";
  else print_table(cfg, r);
  return 0;
}

}  // namespace node::cli
