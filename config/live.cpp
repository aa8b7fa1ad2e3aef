#include "config/live.hpp"

namespace config {
namespace {

bool same(const admission_section& a, const admission_section& b) {
  return a.min_version == b.min_version && a.max_clock_skew_s == b.max_clock_skew_s &&
         a.required_checks == b.required_checks && a.suspend_after_violations == b.suspend_after_violations;
}

// Sections a running node cannot take over: the threads using them hold
// sockets, files and the store open.
std::vector<std::string> fixed_changes(const node_config& a, const node_config& b) {
  std::vector<std::string> out;
  auto differs = [&](const char* section, bool changed) { if (changed) out.emplace_back(section); };
  differs("node", a.node.id != b.node.id || a.node.role != b.node.role || a.node.jurisdiction != b.node.jurisdiction ||
                      a.node.data_dir != b.node.data_dir);
  differs("listen", a.listen.sync != b.listen.sync || a.listen.api != b.listen.api || a.listen.admin != b.listen.admin);
  differs("tls", a.tls.ca != b.tls.ca || a.tls.cert != b.tls.cert || a.tls.key != b.tls.key);
  differs("upstream", a.upstream.has_value() != b.upstream.has_value() ||
                          (a.upstream && (a.upstream->url != b.upstream->url || a.upstream->node_id != b.upstream->node_id)));
  differs("store", a.store.map_size_mb != b.store.map_size_mb);
  return out;
}

}  // namespace

live_settings::live_settings(const node_config& running)
    : cur_(std::make_shared<const node_config>(running)), rps_(running.api.requests_per_second) {}

std::shared_ptr<const node_config> live_settings::current() const {
  std::lock_guard lk(mu_);
  return cur_;
}

reload_outcome live_settings::apply(const node_config& fresh) {
  std::lock_guard lk(mu_);
  reload_outcome r;
  r.needs_restart = fixed_changes(*cur_, fresh);
  auto next = std::make_shared<node_config>(*cur_);
  if (next->log.level != fresh.log.level) r.applied.emplace_back("log");
  if (!same(next->admission, fresh.admission)) r.applied.emplace_back("admission");
  if (next->api.requests_per_second != fresh.api.requests_per_second) r.applied.emplace_back("api");
  if (next->import.legacy_codes != fresh.import.legacy_codes || next->import.max_record_bytes != fresh.import.max_record_bytes ||
      next->import.batch_rows != fresh.import.batch_rows)
    r.applied.emplace_back("import");
  next->log = fresh.log;
  next->import = fresh.import;  // the API's registrations check credit codes against legacy_codes
  next->admission = fresh.admission;
  next->api = fresh.api;
  cur_ = std::move(next);
  rps_.store(fresh.api.requests_per_second, std::memory_order_relaxed);
  return r;
}

}  // namespace config
