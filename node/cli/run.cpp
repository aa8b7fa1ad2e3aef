// `credit-node run`: the node in the foreground, logging to stderr. Opens
// the store, starts the sync (mutual TLS), api (TLS) and admin (plain HTTP,
// loopback) listeners on one server (an io_context per I/O thread), and stops gracefully on SIGTERM or
// SIGINT (exit 0). A listener that cannot be opened is exit 1.
//
// Routes: admin /healthz, /readyz (store answers, parent admitted us), /metrics; sync /sync/v1/*;
// api /api/v1/categories (the schemas, public reference data).
#include <boost/json.hpp>

#include <malloc.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>
#include <sstream>

#include "node/cli/commands.hpp"
#include "node/cli/metrics.hpp"
#include "node/api/api.hpp"
#include "node/net/log.hpp"
#include "node/net/server.hpp"
#include "node/service/parent_link.hpp"
#include "node/service/store_watch.hpp"
#include "node/service/sync_service.hpp"
#include "store/writer.hpp"
#include "store/model/category.hpp"
#include "store/reader.hpp"

namespace node::cli {
namespace {

namespace json = boost::json;
namespace log = net::log;

// The CPUs this process may use (a container's or a CPUAffinity= limit),
// not the host's: hardware_concurrency() counts every CPU of the host.
unsigned usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return static_cast<unsigned>(CPU_COUNT(&set));
  return std::thread::hardware_concurrency();
}

// I/O threads: handlers that block run elsewhere (sync: a worker pool; the
// API: answers deferred to their audit commit), so one per usable CPU
// suffices; more only contend (bench/api.sh: 7,800 req/s with 4, 6,500
// with 16 on 2 cores; with the arenas below, 2 threads and 4 are within
// this machine's noise, 2 slightly ahead on medians of 5 rounds).
// Counted once, when `run` first asks: other commands never need it.
unsigned io_threads() {
  static const unsigned n = std::clamp(usable_cpus(), 2u, 8u);
  return n;
}
// Pushes and joins wait for their commits here, and pulls look at the log
// (a pull waiting for a commit holds none: service::long_poll).
constexpr unsigned sync_worker_threads = 64;
// Data quality for /metrics: a full read of the store, so not per scrape.
constexpr std::chrono::seconds quality_interval{300};

json::object identity_json(const pki::identity& id) {
  return {{"node_id", id.node_id}, {"role", id.role}, {"jurisdiction", id.jurisdiction},
          {"serial", id.serial_hex}, {"sha256", id.sha256_fingerprint_hex}};
}

// Diagnostics for the sync link: who we are and whom we see.
net::http_response hello(const config::node_config& cfg, const net::http_request& req) {
  json::object o{{"node", {{"id", cfg.node.id}, {"role", cfg.node.role}, {"jurisdiction", cfg.node.jurisdiction},
                           {"version", CREDIT_NODE_VERSION}}},
                 {"listener", req.listener},
                 {"remote", req.remote}};
  o["peer"] = req.peer ? json::value(identity_json(*req.peer)) : json::value(nullptr);
  return net::http_response::json(200, json::serialize(o));
}

// The category schemas with each field's sensitivity class: what a bank's
// integration engineer reads first (and what bench/tls serves).
std::string categories_json() {
  json::array cats;
  for (const auto& c : store::model::category_registry::builtin().all()) {
    json::array fields;
    for (const auto& f : c.fields) {
      json::object o{{"name", f.name}, {"type", store::model::to_string(f.type)}, {"required", f.required},
                     {"sensitivity", store::model::to_string(f.klass)}};
      if (!f.values.empty()) o["values"] = json::value_from(f.values);
      fields.push_back(std::move(o));
    }
    cats.push_back(json::object{{"name", c.name}, {"schema_version", c.schema_version}, {"fields", std::move(fields)}});
  }
  return json::serialize(json::object{{"categories", std::move(cats)}});
}

net::listener_config listener(const std::string& name, const std::string& address,
                              std::shared_ptr<net::tls_context> tls) {
  net::listener_config l;
  l.name = name;
  l.address = address;
  l.tls = std::move(tls);
  return l;
}

// Ready: the store answers and, below a parent, the parent has admitted us
// (a load balancer or an ops dashboard asks this; /healthz only says "up").
net::http_response readyz(const config::node_config& cfg, store::environment& env) {
  try {
    store::reader(env).stats();
  } catch (const std::exception& e) {
    return net::http_response::text(503, std::string("not ready: the store does not answer: ") + e.what() + "\n");
  }
  if (!cfg.upstream) return net::http_response::text(200, "ready\n");
  json::error_code ec;
  auto v = json::parse(service::read_link_state(cfg), ec);
  std::string state = !ec && v.is_object() && v.as_object().contains("state") && v.at("state").is_string()
                          ? std::string(v.at("state").as_string()) : "unknown";
  if (state == "admitted") return net::http_response::text(200, "ready\n");
  std::string why = "not ready: upstream " + cfg.upstream->node_id + " is " + state;
  if (!ec && v.is_object() && v.as_object().contains("reasons") && v.at("reasons").is_array())
    for (const auto& r : v.at("reasons").as_array())
      if (r.is_string()) why += "; " + std::string(r.as_string());
  return net::http_response::text(503, why + "\n");
}

net::listener_config admin_listener(const config::node_config& cfg, store::environment& env, const net::server& srv,
                                    const quality::monitor& q) {
  auto l = listener("admin", cfg.listen.admin, nullptr);
  l.router.add("GET", "/", [&cfg, &env, &q](const net::http_request&) {
    auto latest = q.latest();
    auto r = net::http_response::text(200, status_page(cfg, env, latest.get()));
    r.content_type = "text/html; charset=utf-8";
    return r;
  });
  l.router.add("GET", "/healthz", [](const net::http_request&) { return net::http_response::text(200, "ok\n"); });
  l.router.add("GET", "/readyz", [&cfg, &env](const net::http_request&) { return readyz(cfg, env); });
  l.router.add("GET", "/metrics", [&cfg, &env, &srv, &q, ends = read_certificate_ends(cfg)](const net::http_request&) {
    return metrics(cfg, env, srv, q, ends);
  });
  return l;
}

// The self-check as sent with every join (every 2 s while pending): the
// checks re-hash the newest audit entries, so a result serves for a minute.
std::function<std::vector<replication::posture_check>()> posture_of(const config::node_config& cfg, store::environment& env) {
  struct cached {
    std::mutex mu;
    std::chrono::steady_clock::time_point at{};
    std::vector<replication::posture_check> checks;
  };
  return [&cfg, &env, cache = std::make_shared<cached>()] {
    std::lock_guard lk(cache->mu);
    auto now = std::chrono::steady_clock::now();
    if (cache->checks.empty() || now - cache->at > std::chrono::minutes(1)) {
      cache->checks.clear();
      for (const auto& c : run_checks(cfg, &env).items) cache->checks.push_back({c.id, c.status, c.reason});
      cache->at = now;
    }
    return cache->checks;
  };
}

// 接入前安全评估: the parent is not dialled while a required check fails.
// The node says why (log and status) and looks again every 30 s, so fixing
// a key's mode needs no restart.
void dial_when_checks_pass(const config::node_config& cfg, store::environment& env, store::writer& writer,
                           service::change_signal& changed, std::unique_ptr<service::parent_link>& link,
                           std::atomic<bool>& stopping);

// The gate runs on a thread of its own: what it throws (a check that cannot
// read the store, a link that cannot start) is said, not std::terminate.
void dial_when_checks_pass_logged(const config::node_config& cfg, store::environment& env, store::writer& writer,
                                  service::change_signal& changed, std::unique_ptr<service::parent_link>& link,
                                  std::atomic<bool>& stopping) noexcept {
  try {
    dial_when_checks_pass(cfg, env, writer, changed, link, stopping);
  } catch (const std::exception& e) {
    log::error("sync_link_failed").kv("parent", cfg.upstream->node_id).kv("reason", e.what())
        .kv("effect", "this node does not sync with its parent until it is restarted; the API and the store go on");
  }
}

void dial_when_checks_pass(const config::node_config& cfg, store::environment& env, store::writer& writer,
                           service::change_signal& changed, std::unique_ptr<service::parent_link>& link,
                           std::atomic<bool>& stopping) {
  std::vector<std::string> said;  // the failures last logged: a wait of days logs each once, not every 30 s
  while (!stopping) {
    auto report = run_checks(cfg, &env);
    if (report.ok()) {
      link = std::make_unique<service::parent_link>(cfg, env, writer, changed, posture_of(cfg, env));
      link->start();
      return;
    }
    json::array reasons;
    auto failures = report.failures();
    for (const auto& f : failures) {
      if (failures != said) log::error("sync_blocked").kv("parent", cfg.upstream->node_id).kv("failed_check", f);
      reasons.push_back(json::string("local check failed: " + f));
    }
    said = std::move(failures);
    json::object state{{"parent", cfg.upstream->node_id}, {"url", cfg.upstream->url}, {"state", "refused"},
                       {"reasons", std::move(reasons)}};
    service::write_link_state(cfg, json::serialize(state));
    for (int i = 0; i < 300 && !stopping; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

// SIGHUP: the config is read again. The log level, the admission policy,
// the API rate limit and [import] take effect at once (live_settings);
// every other change is named as needing a restart, and a config that does
// not parse changes nothing.
// What the TLS files hold: the node reads them once, at start, so a
// renewed certificate put in place needs a restart — which a reload says.
std::string tls_files_digest(const config::node_config& cfg) {
  std::string all;
  for (const auto& f : {cfg.tls.ca, cfg.tls.cert, cfg.tls.key}) {
    std::ifstream in(f, std::ios::binary);
    all += std::string((std::istreambuf_iterator<char>(in)), {}) + '\0';
  }
  return pki::sha256_hex(all);
}

void reload(config::live_settings& live, const std::string& path, const std::string& tls_at_start) {
  config::node_config fresh;
  try {
    fresh = config::load(path);
  } catch (const std::exception& e) {
    log::error("reload_refused").kv("config", path).kv("reason", e.what());
    return;
  }
  auto r = live.apply(fresh);
  if (tls_files_digest(fresh) != tls_at_start && std::find(r.needs_restart.begin(), r.needs_restart.end(), "tls") == r.needs_restart.end()) {
    r.needs_restart.push_back("tls");
    log::warn("tls_files_changed").kv("reason", "the certificate, key or CA file changed on disk; the node still uses the ones it "
                                                "started with: restart it to use them (systemctl restart credit-node)");
  }
  auto joined = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& x : v) s += (s.empty() ? "" : ",") + x;
    return s.empty() ? std::string("none") : s;
  };
  {
    auto line = log::info("reloaded");  // said before a new level could hide it
    line.kv("config", path).kv("log_level", fresh.log.level).kv("applied", joined(r.applied));
    if (!r.needs_restart.empty()) line.kv("needs_restart", joined(r.needs_restart));
    // A child is judged by the policy when it joins: one connected now keeps
    // syncing under the old policy until it reconnects or restarts.
    if (std::find(r.applied.begin(), r.applied.end(), "admission") != r.applied.end())
      line.kv("admission", "applies at each child's next join (a connected child is judged again when it reconnects)");
  }
  log::level lvl = log::level::info;
  if (log::parse_level(fresh.log.level, lvl)) log::set_level(lvl);
}

void set_log_level(const config::node_config& cfg) {
  log::level lvl = log::level::info;
  if (log::parse_level(cfg.log.level, lvl)) log::set_level(lvl);  // config.cpp validated it
}

}  // namespace

// Mutual TLS; a revoked child is refused in the handshake, before any request.
net::listener_config sync_listener(service::sync_context& sctx, const net::tls_files& files) {
  auto tls = net::tls_context::make(net::tls_side::server, files, net::peer_auth::required);
  tls->refuse_serials([&env = sctx.env](const std::string& serial) { return store::reader(env).is_revoked(serial); });
  auto sync = listener("sync", sctx.cfg.listen.sync, tls);
  sync.body_limit = service::max_push_body;  // each route's own limit: service::before_body
  // A child's link holds two (pusher, puller); room for those a network cut
  // left half-open until they time out. Each may carry a 32 MiB push.
  sync.max_per_peer = 8;
  sync.before_body = [&sctx](const net::http_request& head, std::size_t& limit) {
    return service::before_body(sctx, head, limit);
  };
  sync.router.add("GET", "/sync/v1/hello", [&cfg = sctx.cfg](const net::http_request& r) { return hello(cfg, r); });
  service::add_sync_routes(sync.router, sctx);
  return sync;
}

// TLS, a client certificate optional (banks may use a token instead); a
// revoked one is refused in the handshake, as on the sync listener.
net::listener_config api_listener(api::api_context& actx, const net::tls_files& files) {
  auto tls = net::tls_context::make(net::tls_side::server, files, net::peer_auth::optional);
  tls->refuse_serials([&env = actx.env](const std::string& serial) { return store::reader(env).is_revoked(serial); });
  auto api = listener("api", actx.cfg.listen.api, tls);
  api.router.add("GET", "/api/v1/categories",
                 [body = categories_json()](const net::http_request&) { return net::http_response::json(200, body); });
  api.body_limit = api::max_api_body + 4096;  // larger: the handler's 413, audited
  api.response_headers = {{"Cache-Control", "no-store"}};  // credit data and personal fields: no cache keeps a copy
  api::add_api_routes(api.router, actx);
  api.on_refusal = [&actx](const net::http_request& r, net::http_response refusal) {  // the HTTP layer's 413, audited too
    return api::audit_refusal(actx, r, std::move(refusal));
  };
  // Unknown paths and methods: audited and rate-limited like every request.
  api.router.on_unrouted = [&actx](net::http_request& r, net::http_response refusal) {
    return api::audit_refusal(actx, r, std::move(refusal));
  };
  return api;
}

// glibc gives each busy thread its own malloc arena (up to 8 per core), and
// each keeps what it once held: a parent taking a child's 16 MiB batches on
// its worker threads peaked at 700 MB anonymous memory for one child,
// 265-285 MB with 2 arenas, 338 MB with 4, at the same speed (bench_sync,
// 2 cores). Too few and the API's threads queue for their locks (threads
// share arenas round-robin once all exist): bench/api.sh made 3.1 futex
// calls per request with 2 arenas, 1.15 with 4. So I/O threads + 2, at most
// 4 until more is measured on a bigger machine. Set before any thread starts.
static void bound_malloc_arenas() { mallopt(M_ARENA_MAX, static_cast<int>(std::min(io_threads() + 2, 4u))); }

namespace {

// Serves until a signal stops the server. The parent is dialled once the
// node's own checks pass; the link stops after the server.
void serve_until_stopped(const config::node_config& cfg, store::environment& env, store::writer& writer,
                         service::change_signal& changed, config::live_settings& live, net::server& srv) {
  srv.stop_on_signals();
  srv.on_reload([&live, path = cfg.source_path, tls = tls_files_digest(cfg)] { reload(live, path, tls); });
  std::unique_ptr<service::parent_link> link;
  std::atomic<bool> stopping{false};
  // When a stop begins, long-polls here answer at once and the link to
  // the parent stops beside the drain (its requests are interrupted).
  srv.on_stop([&] {
    stopping = true;
    stopping.notify_all();
    changed.stop();
  });
  std::thread gate;
  if (cfg.upstream)
    gate = std::thread([&] {
      dial_when_checks_pass_logged(cfg, env, writer, changed, link, stopping);
      stopping.wait(false);
      if (link) link->stop();
    });
  log::info("ready").kv("node", cfg.node.id).kv("io_threads", io_threads());
  srv.run(io_threads());
  stopping = true;  // run() also ends without a stop (an error): the gate must not wait for one
  stopping.notify_all();
  changed.stop();
  if (gate.joinable()) gate.join();
}

// What the node serves with, declared so that it is torn down in reverse:
// the server outlives everything its handlers use.
int serve(const config::node_config& cfg, store::environment& env) {
  net::tls_files files{cfg.tls.ca, cfg.tls.cert, cfg.tls.key};
  auto srv = net::server::make();
  // Declared before the writer: the writer's destructor may still commit
  // (and notify) what is queued.
  service::change_signal changed;
  service::store_watch watch(env, changed);  // commits by other processes; outlives the writer's last commit
  store::writer writer(env, store::writer::announce::none);  // its commits wake the waiters below
  writer.on_commit([&changed, &watch](std::uint64_t commit) {
    watch.own_commit(commit);
    changed.notify();
  });
  // Before the worker pool: jobs it finishes after the server stops read it.
  config::live_settings live(cfg);
  // Sync handlers block (commits): a pool of their own, so the I/O threads
  // stay free for the API.
  service::worker_pool sync_workers(sync_worker_threads);
  service::long_poll polls(changed, sync_workers);  // stopped below, before the workers, while sctx lives
  quality::monitor quality_mon(env, quality_interval);
  service::contact_book contacts;
  service::sync_context sctx{cfg, live, env, writer, changed, sync_workers, polls, contacts};
  api::api_context actx{cfg, live, env, writer};
  try {
    srv->add_listener(sync_listener(sctx, files));
    srv->add_listener(api_listener(actx, files));
    srv->add_listener(admin_listener(cfg, env, *srv, quality_mon));
  } catch (const net::listen_error& e) {
    log::error("listen_failed").kv("reason", e.what());
    return 1;
  }
  serve_until_stopped(cfg, env, writer, changed, live, *srv);
  // Waiting pulls answered, then the jobs still queued on the workers run
  // (they use sctx): both before sctx goes.
  polls.stop();
  sync_workers.stop();
  log::info("exit").kv("code", 0);
  return 0;
}

}  // namespace

// The self-check's findings, in the log at start: a node with no parent
// (which never waits on them) and a certificate or CA nearing its end are
// seen by whoever reads the journal, not only by `check`.
void log_check_findings(const config::node_config& cfg, store::environment& env) {
  for (const auto& c : run_checks(cfg, &env).items) {
    if (c.status == "FAIL") log::error("check_failed").kv("check", c.id).kv("reason", c.reason).kv("fix", c.fix);
    else if (c.status == "WARN") log::warn("check_warning").kv("check", c.id).kv("reason", c.reason).kv("fix", c.fix);
  }
}

int cmd_run(int argc, char** argv) {
  bound_malloc_arenas();
  auto a = parse(argc, argv, 2, {{}, {}, 0});
  auto cfg = load_config(a);
  set_log_level(cfg);
  // The admin listener speaks plain HTTP (status, metrics, the registry):
  // off loopback it would be anyone's to read, whatever check said.
  if (!loopback_host(cfg.listen.admin))
    throw usage_error("[listen] admin = \"" + cfg.listen.admin + "\" is off loopback, and the admin listener speaks plain HTTP: "
                      "set it to \"127.0.0.1:9090\" in " + cfg.source_path + " (reach it through an SSH tunnel)");
  // One node per data dir; `restore` checks the same lock.
  std::string why;
  if (int lock = run_lock(cfg.node.data_dir, why); lock < 0) {
    log::error(lock == -2 ? "data_dir_in_use" : "data_dir_unusable").kv("data_dir", cfg.node.data_dir)
        .kv("key", "[node] data_dir").kv("reason", why);
    return 1;
  } else {
    note_map_size(lock, cfg.store.map_size_mb);
  }
  std::signal(SIGPIPE, SIG_IGN);  // a closed stderr pipe must not kill the node
  auto env = open_store(cfg);
  log::info("start").kv("node", cfg.node.id).kv("role", cfg.node.role).kv("jurisdiction", cfg.node.jurisdiction)
      .kv("version", CREDIT_NODE_VERSION).kv("config", cfg.source_path).kv("data_dir", cfg.node.data_dir);
  log_check_findings(cfg, *env);
  return serve(cfg, *env);
}

}  // namespace node::cli
