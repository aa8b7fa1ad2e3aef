#include "sync/admission.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cstdlib>

#include "sync/routing.hpp"
#include "sync/wire.hpp"

namespace replication {
namespace {

namespace json = boost::json;

const json::object& object_of(const json::value& v, const char* what) {
  if (!v.is_object()) throw wire_error(std::string(what) + " must be a JSON object");
  return v.get_object();
}

std::string text(const json::object& o, const char* key, const char* what, std::size_t max = 256) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string())
    throw wire_error(std::string(what) + ": \"" + key + "\" must be a string");
  if (it->value().get_string().size() > max)
    throw wire_error(std::string(what) + ": \"" + key + "\" is longer than " + std::to_string(max) + " bytes");
  return std::string(it->value().get_string());
}

json::value parse(std::string_view body, const char* what) {
  json::error_code ec;
  auto v = json::parse(body, ec);
  if (ec) throw wire_error(std::string(what) + " is not valid JSON: " + ec.message());
  return v;
}

bool required(const config::admission_section& p, const std::string& id) {
  return p.required_checks.empty() ||
         std::find(p.required_checks.begin(), p.required_checks.end(), id) != p.required_checks.end();
}

// Posture and policy: everything about the child itself, registry aside.
void check_policy(const config::admission_section& p, const join_request& req, std::int64_t now_ms,
                  std::vector<std::string>& why) {
  if (config::compare_versions(req.version, p.min_version) < 0)
    why.push_back("version: credit-node " + req.version + " is older than this parent's minimum " + p.min_version +
                  ": upgrade the package");
  // Clamped first: a child's clock_ms is input, and INT64_MIN - now overflows.
  auto clock = std::clamp<std::int64_t>(req.clock_ms, 0, std::int64_t{1} << 52);
  auto skew_s = std::llabs(clock - now_ms) / 1000;
  if (static_cast<std::uint64_t>(skew_s) > p.max_clock_skew_s)
    why.push_back("clock: this node's clock differs from the parent's by " + std::to_string(skew_s) +
                  " s (limit " + std::to_string(p.max_clock_skew_s) + " s): fix time synchronisation (NTP)");
  for (const auto& c : req.checks)
    if (c.status == "FAIL" && required(p, c.id))
      why.push_back("posture: check " + c.id + " failed: " + c.reason + ": run `credit-node check` and fix it");
  for (const auto& id : p.required_checks)
    if (std::none_of(req.checks.begin(), req.checks.end(), [&](const posture_check& c) { return c.id == id; }))
      why.push_back("posture: required check " + id + " is missing from the report: upgrade the package");
}

}  // namespace

std::string encode_join_request(const join_request& r) {
  json::array checks;
  for (const auto& c : r.checks) checks.push_back(json::object{{"id", c.id}, {"status", c.status}, {"reason", c.reason}});
  return json::serialize(json::object{{"node_id", r.node_id}, {"role", r.role}, {"jurisdiction", r.jurisdiction},
                                      {"version", r.version}, {"clock_ms", r.clock_ms}, {"checks", std::move(checks)}});
}

join_request decode_join_request(std::string_view body) {
  auto doc = parse(body, "join request");
  const auto& o = object_of(doc, "join request");
  join_request r;
  r.node_id = text(o, "node_id", "join request");
  r.role = text(o, "role", "join request");
  r.jurisdiction = text(o, "jurisdiction", "join request");
  r.version = text(o, "version", "join request");
  auto clock = o.find("clock_ms");
  if (clock == o.end() || !clock->value().is_int64()) throw wire_error("join request: \"clock_ms\" must be an integer");
  r.clock_ms = clock->value().get_int64();
  auto checks = o.find("checks");
  if (checks == o.end() || !checks->value().is_array()) throw wire_error("join request: \"checks\" must be an array");
  if (checks->value().get_array().size() > 100) throw wire_error("join request: more than 100 checks");
  for (const auto& c : checks->value().get_array()) {
    const auto& co = object_of(c, "join request: a check");
    r.checks.push_back({text(co, "id", "check", 64), text(co, "status", "check", 8), text(co, "reason", "check", 1024)});
  }
  return r;
}

std::string encode_join_answer(const join_answer& a, const config::admission_section& p) {
  json::object policy{{"min_version", p.min_version}, {"max_clock_skew_s", p.max_clock_skew_s},
                      {"required_checks", json::value_from(p.required_checks)},
                      {"suspend_after_violations", p.suspend_after_violations}};
  return json::serialize(json::object{{"decision", a.decision}, {"reasons", json::value_from(a.reasons)},
                                      {"policy", std::move(policy)}});
}

join_answer decode_join_answer(std::string_view body) {
  auto doc = parse(body, "join answer");
  const auto& o = object_of(doc, "join answer");
  join_answer a;
  a.decision = text(o, "decision", "join answer");
  auto rs = o.find("reasons");
  if (rs == o.end() || !rs->value().is_array()) throw wire_error("join answer: \"reasons\" must be an array");
  for (const auto& r : rs->value().get_array())
    if (r.is_string()) a.reasons.emplace_back(r.get_string());
  return a;
}

std::string child_problem(const config::node_config& cfg, const std::string& node_id, const std::string& role,
                          const std::string& jurisdiction) {
  if (node_id == cfg.node.id) return "a node cannot sync with itself";
  bool role_ok = (cfg.node.role == "provincial" && role == "local") ||
                 (cfg.node.role == "national" && (role == "provincial" || role == "local"));
  if (!role_ok) return "a " + role + " node is not a child of a " + cfg.node.role + " node";
  if (!covers(cfg.node.jurisdiction, jurisdiction))
    return "jurisdiction " + jurisdiction + " is not under this node's " + cfg.node.jurisdiction;
  return {};
}

join_answer decide_join(const config::node_config& parent, const certified_peer& cert, const join_request& req,
                        const std::optional<store::node_entry>& entry, bool serial_revoked, std::int64_t now_ms) {
  join_answer a;
  auto& why = a.reasons;
  if (req.node_id != cert.node_id || req.role != cert.role || req.jurisdiction != cert.jurisdiction)
    why.push_back("identity: the request says " + req.node_id + " (" + req.role + ", " + req.jurisdiction +
                  ") but the certificate says " + cert.node_id + " (" + cert.role + ", " + cert.jurisdiction +
                  "): use this node's own certificate");
  if (auto p = child_problem(parent, cert.node_id, cert.role, cert.jurisdiction); !p.empty())
    why.push_back("tree: " + p + ": check [upstream] names the right parent");
  if (entry && (entry->role != cert.role || entry->jurisdiction != cert.jurisdiction))
    why.push_back("registry: " + cert.node_id + " is registered as " + entry->role + " " + entry->jurisdiction +
                  ", the certificate says " + cert.role + " " + cert.jurisdiction + ": ask the parent's operator");
  check_policy(parent.admission, req, now_ms, why);
  bool revoked = serial_revoked || (entry && entry->state == store::node_state::revoked);
  if (revoked) {
    a.decision = "revoked";
    why.insert(why.begin(), "revoked: " + (entry && !entry->reason.empty() ? entry->reason : "certificate serial " + cert.serial_hex + " is revoked") +
                                ": revocation is final for this node id; the platform needs a new node id, certificate and approval");
  } else if (!why.empty()) {
    a.decision = "refused";
  } else if (entry && entry->state == store::node_state::suspended) {
    a.decision = "suspended";
    why.push_back("suspended: " + entry->reason + ": fix it and ask the parent's operator to run `credit-node admin resume " + cert.node_id + "`");
  } else if (!entry || entry->state == store::node_state::pending) {
    a.decision = "pending";
    why.push_back("pending: waiting for approval: on the parent run `credit-node admin approve " + cert.node_id + "`");
  } else {
    a.decision = "admitted";
  }
  return a;
}

std::optional<refusal> sync_refusal(const certified_peer& cert, const std::optional<store::node_entry>& entry,
                                    bool serial_revoked) {
  if (serial_revoked || (entry && entry->state == store::node_state::revoked))
    return refusal{"revoked", "this node is revoked" + (entry && !entry->reason.empty() ? ": " + entry->reason : std::string()) +
                                  ": revocation is final for this node id; the platform needs a new node id, certificate and approval"};
  if (!entry || entry->state == store::node_state::pending)
    return refusal{"not_admitted", "this node is not admitted: join first (POST /sync/v1/join) and wait for approval"};
  if (entry->state == store::node_state::suspended) return refusal{"suspended", "this node is suspended: " + entry->reason};
  if (entry->role != cert.role || entry->jurisdiction != cert.jurisdiction)
    return refusal{"not_admitted", "the certificate says " + cert.role + " " + cert.jurisdiction + ", the registry " +
                                       entry->role + " " + entry->jurisdiction + ": ask the parent's operator"};
  // Admission is per certificate and per join: a certificate that has not
  // joined, or whose last join was refused (a policy raised since), must
  // join again and pass.
  if (entry->cert_serial != cert.serial_hex || entry->last_decision != "admitted")
    return refusal{"not_admitted", "certificate serial " + cert.serial_hex + " has no admitted join here (last decision: " +
                                       (entry->last_decision.empty() ? "none" : entry->last_decision) + "): join again"};
  return std::nullopt;
}

}  // namespace replication
