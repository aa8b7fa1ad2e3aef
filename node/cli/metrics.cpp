// /metrics on the admin listener, in Prometheus' text format: the store,
// the registry, HTTP and TLS, the audit's commit latency and data quality.
#include "node/cli/metrics.hpp"

#include <map>
#include <optional>
#include <sstream>

#include <boost/json.hpp>

#include "node/api/api.hpp"
#include "node/cli/commands.hpp"
#include "node/pki/pki.hpp"
#include "store/model/category.hpp"
#include "store/reader.hpp"
#include "store/registry.hpp"

namespace node::cli {
namespace {

std::string label_value(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') { out += "\\n"; continue; }
    out += c;
  }
  return out;
}

void metric_head(std::ostringstream& o, const char* name, const char* type, const char* help) {
  o << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
}

// A parent's children by registry state, and the security violations each
// has been charged with: what a provincial ops engineer alerts on.
void registry_metrics(std::ostringstream& o, store::environment& env) {
  store::reader rd(env);
  auto nodes = rd.nodes();
  std::map<std::string, int> by_state{{"pending", 0}, {"admitted", 0}, {"suspended", 0}, {"revoked", 0}};
  for (const auto& n : nodes) ++by_state[std::string(store::to_string(n.state))];
  metric_head(o, "credit_node_child_nodes", "gauge", "Child nodes in this node's registry, by state.");
  for (const auto& [st, n] : by_state) o << "credit_node_child_nodes{state=\"" << st << "\"} " << n << '\n';
  metric_head(o, "credit_node_child_violations_total", "counter", "Refused changes (security violations) charged to each child.");
  for (const auto& n : nodes)
    o << "credit_node_child_violations_total{node_id=\"" << label_value(n.node_id) << "\"} " << n.violations << '\n';
  // Alert on time() minus this: a child that went quiet (its node down, its
  // link cut) shows here, not only at the child. Stored once a minute.
  metric_head(o, "credit_node_child_last_contact_timestamp_seconds", "gauge",
              "When each child's last join or sync request reached this node (0: never).");
  // With the registry state: suspended, revoked and pending children are
  // expected to go quiet, and an alert rule leaves them out by it.
  for (const auto& n : nodes)
    o << "credit_node_child_last_contact_timestamp_seconds{node_id=\"" << label_value(n.node_id) << "\",state=\""
      << store::to_string(n.state) << "\"} " << n.last_contact_ms / 1000 << '\n';
  metric_head(o, "credit_node_revoked_certificates", "gauge", "Certificates on the network's revocation list, as held here.");
  o << "credit_node_revoked_certificates " << rd.revocation_count() << '\n';
  metric_head(o, "credit_node_security_events", "gauge", "Integrity and security events held (credit-node admin events).");
  o << "credit_node_security_events " << rd.event_count() << '\n';
  metric_head(o, "credit_node_audit_entries", "gauge", "Entries on the API's hash-chained access log.");
  o << "credit_node_audit_entries " << rd.audit_count() << '\n';
}

void store_metrics(std::ostringstream& o, store::environment& env) {
  auto st = store::reader(env).stats();
  // Every built-in category, so a dashboard sees 0 rather than no series.
  for (const auto& c : store::model::category_registry::builtin().all()) st.by_category.try_emplace(c.name, 0);
  metric_head(o, "credit_node_records", "gauge", "Live records in the store, by category.");
  for (const auto& [cat, n] : st.by_category)
    o << "credit_node_records{category=\"" << label_value(cat) << "\"} " << n << '\n';
  metric_head(o, "credit_node_quarantined_rows", "gauge", "Imported rows refused and kept in quarantine.");
  o << "credit_node_quarantined_rows " << st.quarantined << '\n';
  metric_head(o, "credit_node_change_log_last_seq", "gauge", "Newest position in the change log.");
  o << "credit_node_change_log_last_seq " << st.last_seq << '\n';
  registry_metrics(o, env);
}

// How long API answers waited for their audit entry's group commit.
void audit_metrics(std::ostringstream& o) {
  auto l = api::audit_commit_latency();
  metric_head(o, "credit_node_audit_commit_seconds", "summary", "Time an API answer waited for its audit entry to be durable.");
  o << "credit_node_audit_commit_seconds_sum " << l.sum_seconds << "\ncredit_node_audit_commit_seconds_count " << l.count << '\n';
  metric_head(o, "credit_node_audit_commit_seconds_max", "gauge", "Longest such wait since start.");
  o << "credit_node_audit_commit_seconds_max " << l.max_seconds << '\n';
  metric_head(o, "credit_node_audit_commits_over_10ms_total", "counter", "Answers that waited more than 10 ms for their audit entry.");
  o << "credit_node_audit_commits_over_10ms_total " << l.over_10ms << '\n';
}

void http_metrics(std::ostringstream& o, const std::vector<net::listener_stats>& ls) {
  metric_head(o, "credit_node_http_requests_total", "counter", "HTTP requests answered, by listener, endpoint and status code.");
  for (const auto& l : ls)
    for (const auto& [key, n] : l.requests_by_endpoint)
      o << "credit_node_http_requests_total{listener=\"" << l.name << "\",endpoint=\"" << label_value(key.first)
        << "\",code=\"" << key.second << "\"} " << n << '\n';
  metric_head(o, "credit_node_tls_handshake_failures_total", "counter",
              "Connections refused at the TLS level (handshake failed, timed out or certificate refused).");
  for (const auto& l : ls)
    if (l.name != "admin") o << "credit_node_tls_handshake_failures_total{listener=\"" << l.name << "\"} " << l.tls_handshake_failures << '\n';
  metric_head(o, "credit_node_http_connections", "gauge", "Open connections, by listener.");
  for (const auto& l : ls) o << "credit_node_http_connections{listener=\"" << l.name << "\"} " << l.active_connections << '\n';
  metric_head(o, "credit_node_http_connections_refused_total", "counter", "Connections closed at once: listener at its connection limit.");
  for (const auto& l : ls)
    o << "credit_node_http_connections_refused_total{listener=\"" << l.name << "\"} " << l.refused_connections << '\n';
}

// Quality per category, from the monitor's latest scan; a ratio with
// nothing to measure (no optional field, not periodic) has no series.
void quality_metrics(std::ostringstream& o, const quality::monitor& mon) {
  auto r = mon.latest();
  if (!r) return;  // the first scan is still running
  using ratio_of = std::optional<double> (quality::category_quality::*)() const;
  auto ratios = [&](const char* name, const char* help, ratio_of fn) {
    metric_head(o, name, "gauge", help);
    for (const auto& [cat, q] : r->by_category)
      if (auto v = (q.*fn)()) o << name << "{category=\"" << label_value(cat) << "\"} " << *v << '\n';
  };
  ratios("credit_node_quality_completeness_ratio", "Optional fields filled, of those there could be.", &quality::category_quality::completeness);
  ratios("credit_node_quality_accuracy_ratio", "Records kept, of records and rows refused into quarantine.", &quality::category_quality::accuracy);
  ratios("credit_node_quality_continuity_ratio", "Months present in each monthly series, of the months between its first and last.",
         &quality::category_quality::continuity);
  metric_head(o, "credit_node_quality_event_lag_days", "gauge", "Days from an event to its arrival here, 50th and 90th percentile.");
  for (const auto& [cat, q] : r->by_category)
    for (auto [pct, v] : {std::pair{"50", q.lag_days_p50}, {"90", q.lag_days_p90}})
      if (v) o << "credit_node_quality_event_lag_days{category=\"" << label_value(cat) << "\",percentile=\"" << pct << "\"} " << *v << '\n';
  metric_head(o, "credit_node_quality_newest_event_age_days", "gauge", "Days since the newest event of the category.");
  for (const auto& [cat, q] : r->by_category)
    if (auto v = q.newest_event_age_days(r->computed_at_ms))
      o << "credit_node_quality_newest_event_age_days{category=\"" << label_value(cat) << "\"} " << *v << '\n';
  metric_head(o, "credit_node_quality_computed_timestamp_seconds", "gauge", "When the quality figures were computed.");
  o << "credit_node_quality_computed_timestamp_seconds " << r->computed_at_ms / 1000 << '\n';
  metric_head(o, "credit_node_quality_scan_seconds", "gauge", "How long that scan of the store took.");
  o << "credit_node_quality_scan_seconds " << static_cast<double>(r->took_ms) / 1000.0 << '\n';
}

// The link to the parent and each child's cursor, from what `status`
// reads (link-state.json, which the running link writes, and the cursors).
void sync_metrics(std::ostringstream& o, const config::node_config& cfg, store::environment& env) {
  auto s = status_object(cfg, env);
  const auto& up = s.at("upstream").as_object();
  auto parent = cfg.upstream ? label_value(cfg.upstream->node_id) : std::string();
  metric_head(o, "credit_node_upstream_state", "gauge",
              "1 for the link's state: admitted, pending, refused, suspended, revoked, unreachable, or none without a parent.");
  o << "credit_node_upstream_state{parent=\"" << parent << "\",state=\"" << label_value(up.at("state").as_string()) << "\"} 1\n";
  auto number = [&](const char* key, const char* name, const char* help) {
    auto* v = up.if_contains(key);
    if (!v || !(v->is_number() || v->is_bool())) return;  // not known yet: no sample rather than a false 0
    metric_head(o, name, "gauge", help);
    o << name << "{parent=\"" << parent << "\"} ";
    if (v->is_bool()) o << (v->get_bool() ? 1 : 0);
    else if (v->is_double()) o << v->get_double();
    else o << v->to_number<std::int64_t>();  // cursors: every digit, not 1.23457e+06
    o << '\n';
  };
  number("lag_changes", "credit_node_upstream_lag_changes", "Changes made here that the parent has not acknowledged.");
  number("lag_seconds", "credit_node_upstream_lag_seconds", "How long the oldest of them has waited.");
  number("push_acked", "credit_node_upstream_push_acked_seq", "The newest change here the parent has acknowledged.");
  number("pull_cursor", "credit_node_upstream_pull_cursor", "Where this node stands in the parent's change stream.");
  number("in_sync", "credit_node_upstream_in_sync", "1 when the last digest comparison with the parent agreed.");
  metric_head(o, "credit_node_child_acked_seq", "gauge", "The newest change of each child this node has applied.");
  for (const auto& c : s.at("children").as_array()) {
    const auto& co = c.as_object();
    if (co.at("acked_seq").is_number())
      o << "credit_node_child_acked_seq{node_id=\"" << label_value(co.at("node_id").as_string()) << "\"} "
        << co.at("acked_seq").to_number<std::uint64_t>() << '\n';
  }
}

// When this node's certificate and its CA's end (unix seconds): alert on
// `credit_node_certificate_not_after_seconds - time() < 30 * 86400`. A
// file that cannot be read is left out (the check and the log say why).
void certificate_metrics(std::ostringstream& o, const certificate_ends& in_use) {
  metric_head(o, "credit_node_certificate_not_after_seconds", "gauge",
              "When a certificate in use stops being valid (unix seconds): the node's own, and the CA in [tls] ca that signed it.");
  if (!in_use.known) return;
  o << "credit_node_certificate_not_after_seconds{cert=\"node\"} " << in_use.node << '\n';
  o << "credit_node_certificate_not_after_seconds{cert=\"ca\"} " << in_use.ca << '\n';
}

}  // namespace

certificate_ends read_certificate_ends(const config::node_config& cfg) {
  try {
    return {pki::read_identity_pem(cfg.tls.cert).not_after, pki::issuing_ca_not_after(cfg.tls.ca, cfg.tls.cert), true};
  } catch (const std::exception&) {
    return {};
  }
}

net::http_response metrics(const config::node_config& cfg, store::environment& env, const net::server& srv,
                           const quality::monitor& q, const certificate_ends& in_use) {
  std::ostringstream o;
  metric_head(o, "credit_node_up", "gauge", "1 while the node is serving.");
  o << "credit_node_up 1\n";
  metric_head(o, "credit_node_info", "gauge", "This node: id, role, jurisdiction and version, as labels.");
  o << "credit_node_info{node_id=\"" << label_value(cfg.node.id) << "\",role=\"" << label_value(cfg.node.role)
    << "\",jurisdiction=\"" << label_value(cfg.node.jurisdiction) << "\",version=\"" CREDIT_NODE_VERSION "\"} 1\n";
  store_metrics(o, env);
  sync_metrics(o, cfg, env);
  http_metrics(o, srv.stats());
  audit_metrics(o);
  quality_metrics(o, q);
  certificate_metrics(o, in_use);
  auto r = net::http_response::text(200, o.str());
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return r;
}


}  // namespace node::cli
