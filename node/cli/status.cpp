// `credit-node status`: what this node is and holds. Sync state (peers,
// cursors, lag) joins it with the sync issue; the JSON keys PRODUCT.md names
// are already here so scripts can rely on them.
#include <boost/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>

#include "node/cli/commands.hpp"
#include "node/service/parent_link.hpp"
#include "store/model/record.hpp"
#include "store/reader.hpp"

namespace node::cli {
namespace {

namespace json = boost::json;

json::object upstream_json(const config::node_config& cfg) {
  json::object up;
  if (!cfg.upstream) {
    up["state"] = "none";  // the national node, or a standalone one
    up["reasons"] = json::array{cfg.node.role == "national" ? "national node: no parent"
                                                            : "no [upstream] in the config"};
    return up;
  }
  up["url"] = cfg.upstream->url;
  up["node_id"] = cfg.upstream->node_id;
  up["state"] = "unreachable";
  up["reasons"] = json::array{"no link state: is `credit-node run` running?"};
  // The running node writes where its link stands; read it, never guess.
  json::error_code ec;
  auto v = json::parse(service::read_link_state(cfg), ec);
  if (!ec && v.is_object())
    for (const auto& [k, val] : v.get_object()) up[k] = val;
  // Between an [upstream] edit (with SIGHUP) and the restart that takes
  // it, the running link is the old one: say which is which, not a mix.
  if (auto* p = up.if_contains("parent"); p && p->is_string() && (*p != json::value(cfg.upstream->node_id) ||
                                                                 up.at("url") != json::value(cfg.upstream->url))) {
    up["node_id"] = *p;
    up["config_upstream"] = json::object{{"node_id", cfg.upstream->node_id}, {"url", cfg.upstream->url},
                                         {"note", "in the config, taken at the next restart of the node"}};
  }
  // The file outlives the node: a stopped (or killed) node's last word is
  // not a link that stands. (The state stays one PRODUCT.md names.)
  up["running"] = !running_pid(cfg.node.data_dir).empty();
  up["recovering"] = service::recovery_pending(cfg);
  if (!up["running"].as_bool()) {
    up["state"] = "unreachable";
    up["reasons"] = json::array{"credit-node run is not running on " + cfg.node.data_dir +
                                (ec ? std::string() : ": the cursors shown are as it last wrote them")};
  }
  return up;
}

// Changes made here that the parent has not acknowledged yet (an upper
// bound: changes that came down from the parent are counted too).
// lag_seconds: how long the oldest change the parent has not acknowledged
// has been waiting (0 when none is).
// Both are null until the link has heard the parent's acknowledgement.
void add_lag(json::object& up, std::uint64_t last_seq, store::reader& rd) {
  if (!up.contains("push_acked")) {
    up["lag_changes"] = nullptr;
    up["lag_seconds"] = nullptr;
    return;
  }
  auto acked = up.at("push_acked").to_number<std::uint64_t>();
  up["lag_changes"] = last_seq > acked ? last_seq - acked : 0;
  // The digest was compared when nothing waited; changes waiting since
  // mean the two sides cannot be said to agree now.
  if (last_seq > acked && up.contains("in_sync")) up["in_sync"] = false;
  std::int64_t oldest_ms = 0;
  rd.for_each_change(acked, [&](std::uint64_t, const std::string&, const store::model::record& r) {
    oldest_ms = r.ingested_at_ms;
    return false;
  });
  auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch()).count();
  up["lag_seconds"] = oldest_ms ? std::max<std::int64_t>(0, (now_ms - oldest_ms) / 1000) : 0;
}

// Children: each one in the registry, with its state, and how far its
// pushes have come (the cursor), if it has pushed.
// The last contact (stored once a minute by the running parent) and, for
// a registered child whose last join was refused, that answer: its state
// alone would read "admitted" while nothing crosses.
json::object child_json(const store::node_entry& n) {
  auto age = seconds_since(n.last_contact_ms);
  json::object o{{"node_id", n.node_id}, {"role", n.role}, {"jurisdiction", n.jurisdiction},
                 {"state", std::string(store::to_string(n.state))}, {"reason", n.reason},
                 {"violations", n.violations}, {"acked_seq", nullptr},
                 {"last_contact", n.last_contact_ms ? json::value(store::model::format_utc_ms(n.last_contact_ms)) : nullptr},
                 {"last_contact_age_s", age ? json::value(*age) : nullptr}};
  if (!n.last_decision.empty() && n.last_decision != "admitted")
    o["refused_join"] = json::object{{"decision", n.last_decision}, {"reasons", json::value_from(n.last_reasons)}};
  return o;
}

json::array children_json(store::reader& rd) {
  std::map<std::string, json::object> by_id;
  for (const auto& n : rd.nodes()) by_id[n.node_id] = child_json(n);
  rd.for_each_cursor([&](const std::string& key, const store::peer_cursor_state& c) {
    if (key.rfind("up:", 0) != 0) return;
    auto& o = by_id[key.substr(3)];
    o["node_id"] = key.substr(3);
    o["acked_seq"] = c.seq;
    o["store_instance"] = c.peer_instance;
  });
  json::array out;
  for (auto& [id, o] : by_id) out.push_back(std::move(o));
  return out;
}

}  // namespace

std::optional<std::int64_t> seconds_since(std::int64_t ms) {
  if (ms == 0) return std::nullopt;
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  return std::max<std::int64_t>(0, (now - ms) / 1000);
}

std::string age_text(std::optional<std::int64_t> s) {
  if (!s) return "never";
  if (*s < 120) return std::to_string(*s) + " s ago";
  if (*s < 2 * 3600) return std::to_string(*s / 60) + " min ago";
  if (*s < 2 * 86400) return std::to_string(*s / 3600) + " h ago";
  return std::to_string(*s / 86400) + " d ago";
}

namespace {

json::object status_json(const config::node_config& cfg, store::environment& env) {
  store::reader rd(env);
  auto st = rd.stats();
  json::object by_cat;
  for (const auto& [cat, n] : st.by_category) by_cat[cat] = n;
  return {
      {"node", {{"id", cfg.node.id}, {"role", cfg.node.role}, {"jurisdiction", cfg.node.jurisdiction},
                {"version", CREDIT_NODE_VERSION}}},
      {"store", {{"dir", env.dir()}, {"instance_id", env.instance_id()},
                 {"schema_version", env.schema_version()}, {"last_seq", st.last_seq}}},
      {"records", {{"total", st.total}, {"by_category", by_cat}}},
      {"quarantine", {{"count", st.quarantined}}},
      {"upstream", [&] { auto up = upstream_json(cfg); add_lag(up, st.last_seq, rd); return up; }()},
      {"children", children_json(rd)},
  };
}

// A field as text, "-" when absent or null.
std::string text_of(const json::object& o, const char* key) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) return "-";
  if (v->is_string()) return std::string(v->get_string());
  return json::serialize(*v);
}

void print_upstream(const json::object& up) {
  std::printf("upstream    %s", text_of(up, "state").c_str());
  for (const auto& r : up.at("reasons").as_array()) std::printf(" — %s", std::string(r.as_string()).c_str());
  std::printf("\n");
  if (!up.contains("url")) return;
  std::printf("  parent              %s at %s\n", text_of(up, "node_id").c_str(), text_of(up, "url").c_str());
  if (auto* c = up.if_contains("config_upstream"); c && c->is_object())
    std::printf("  config names        %s at %s (taken at the next restart)\n", text_of(c->as_object(), "node_id").c_str(),
                text_of(c->as_object(), "url").c_str());
  std::printf("  up                  acknowledged to %s, lag %s changes / %s s, last push %s\n", text_of(up, "push_acked").c_str(),
              text_of(up, "lag_changes").c_str(), text_of(up, "lag_seconds").c_str(), text_of(up, "last_push_at").c_str());
  std::printf("  down                cursor %s, last pull %s\n", text_of(up, "pull_cursor").c_str(), text_of(up, "last_pull_at").c_str());
  std::printf("  agreement           in sync: %s (digest compared %s)", text_of(up, "in_sync").c_str(),
              text_of(up, "digest_checked_at").c_str());
  if (auto* d = up.if_contains("digest_differences"); d && d->is_object() && !d->get_object().empty())
    std::printf(", differs: %s", json::serialize(*d).c_str());
  if (up.contains("digest_error")) std::printf(", not known: %s", text_of(up, "digest_error").c_str());
  std::printf("\n");
  if (up.contains("recovering") && up.at("recovering").as_bool())
    std::printf("  recovering          yes: restored from a backup (or went back), getting back its newer records from the parent (imports wait)\n");
  if (up.contains("last_error"))
    std::printf("  last error          %s (at %s)\n", text_of(up, "last_error").c_str(), text_of(up, "last_error_at").c_str());
}

// "12 s ago" from last_contact_age_s; "never" for null.
std::string contact_age(const json::object& child) {
  const auto* v = child.if_contains("last_contact_age_s");
  return age_text(v && !v->is_null() ? std::optional(v->to_number<std::int64_t>()) : std::nullopt);
}

void print_human(const json::object& s) {
  auto str = [](const json::value& v) { return std::string(v.as_string()); };
  const auto& node = s.at("node").as_object();
  const auto& store = s.at("store").as_object();
  const auto& recs = s.at("records").as_object();
  const auto& up = s.at("upstream").as_object();
  std::printf("node        %s (%s, jurisdiction %s, credit-node %s)\n", str(node.at("id")).c_str(),
              str(node.at("role")).c_str(), str(node.at("jurisdiction")).c_str(),
              str(node.at("version")).c_str());
  std::printf("store       %s (format %lld, instance %s, %lld changes)\n", str(store.at("dir")).c_str(),
              (long long)store.at("schema_version").to_number<long long>(),
              str(store.at("instance_id")).c_str(), (long long)store.at("last_seq").to_number<long long>());
  std::printf("records     %lld\n", (long long)recs.at("total").to_number<long long>());
  for (const auto& [cat, n] : recs.at("by_category").as_object())
    std::printf("  %-20s %lld\n", std::string(cat).c_str(), (long long)n.to_number<long long>());
  std::printf("quarantine  %lld rows\n", (long long)s.at("quarantine").at("count").to_number<long long>());
  print_upstream(up);
  for (const auto& c : s.at("children").as_array()) {
    const auto& o = c.as_object();
    std::printf("child       %s (%s, %s): %s, last contact %s, %s changes acknowledged, %s violations%s%s\n",
                str(o.at("node_id")).c_str(), text_of(o, "role").c_str(), text_of(o, "jurisdiction").c_str(),
                text_of(o, "state").c_str(), contact_age(o).c_str(), text_of(o, "acked_seq").c_str(),
                text_of(o, "violations").c_str(), text_of(o, "reason") == "-" ? "" : " — ",
                text_of(o, "reason") == "-" ? "" : text_of(o, "reason").c_str());
    if (auto* j = o.if_contains("refused_join"))
      std::printf("  its last join was %s: %s\n", text_of(j->as_object(), "decision").c_str(),
                  json::serialize(j->as_object().at("reasons")).c_str());
  }
}

}  // namespace

int cmd_status(int argc, char** argv) {
  auto a = parse(argc, argv, 2, {{}, {}, 0});
  auto cfg = load_config(a);
  auto env = open_store(cfg);
  print_status(cfg, *env, a.has("--json"));
  return 0;
}

json::object status_object(const config::node_config& cfg, store::environment& env) { return status_json(cfg, env); }


void print_status(const config::node_config& cfg, store::environment& env, bool as_json) {
  auto s = status_json(cfg, env);
  if (as_json) std::cout << json::serialize(s) << "\n";
  else print_human(s);
}

}  // namespace node::cli
