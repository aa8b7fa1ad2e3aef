// One function per command; shared helpers for loading config and store.
#pragma once

#include <memory>
#include <optional>
#include <vector>
#include <string>

#include "config/config.hpp"
#include "node/cli/args.hpp"
#include "node/quality/quality.hpp"
#include "store/environment.hpp"

namespace boost::json {
class object;
}

namespace node::cli {

int cmd_init(int argc, char** argv);
int cmd_import(int argc, char** argv);
int cmd_export(int argc, char** argv);
int cmd_status(int argc, char** argv);
int cmd_demo(int argc, char** argv);
int cmd_check(int argc, char** argv);
int cmd_pki(int argc, char** argv);
int cmd_admin(int argc, char** argv);
// `status --json` as an object (the status page and /metrics read it too).
boost::json::object status_object(const config::node_config& cfg, store::environment& env);
// The same as a self-refreshing HTML page (status_page.cpp).
// `quality`: the monitor's latest report, or null before its first scan.
std::string status_page(const config::node_config& cfg, store::environment& env, const quality::report* quality);
int cmd_audit(int argc, char** argv);
int cmd_backup(int argc, char** argv);
int cmd_restore(int argc, char** argv);
// An exclusive lock on DATA_DIR/run.lock (with our pid in it), held while a
// node runs. Negative with `why` when it cannot be had: -1 the data dir
// cannot be made or opened, -2 another process holds it (`why` names its pid).
int run_lock(const std::string& data_dir, std::string& why);
// The pid of the credit-node running on `data_dir` (holding its run lock),
// or empty when none is. Takes no lock and creates nothing.
std::string running_pid(const std::string& data_dir);
// `run` notes its [store] map_size_mb in the lock file; a CLI command on
// the same store while it runs maps no more than that. LMDB takes the
// larger map of the file's last writer, so an import with a raised
// map_size_mb grew the store past the running node's map, and the node
// answered every later read with MDB_MAP_RESIZED until restarted.
void note_map_size(int lock_fd, std::uint64_t map_size_mb);
std::optional<std::uint64_t> running_map_size(const std::string& data_dir);
// The demo's bank API act (demo_api.cpp); true when every answer was as expected.
bool demo_bank_api(const config::node_config& cfg, const std::string& firm);
// `admin bank add` / `admin portal add` (principals.cpp).
int add_principal(const config::node_config& cfg, const args& a, const std::string& kind);
// `admin bank|portal list` (principals.cpp).
int list_principals(const config::node_config& cfg, const std::string& kind, bool as_json);
// `admin bank|portal suspend|resume|token --id ID ...` (principals.cpp).
int change_principal(const config::node_config& cfg, const args& a, const std::string& kind, const std::string& verb);
// `admin approve ID --role R --jurisdiction CODE` on `parent`'s store.
void register_child(const config::node_config& parent, const std::string& id, const std::string& role,
                    const std::string& jurisdiction);
int cmd_run(int argc, char** argv);
// "127.x.x.x:port", "localhost:port", "[::1]:port": the plain-HTTP admin
// listener may only be there (check's listen.plaintext; run refuses otherwise).
bool loopback_host(const std::string& addr);
int cmd_quality(int argc, char** argv);

// Writes the config and creates the directories it names (init and demo).
config::node_config init_node(config::init_params p, const std::optional<std::string>& cfg_file);

// Whole seconds from `ms` (epoch milliseconds) to now; none for 0 (never).
std::optional<std::int64_t> seconds_since(std::int64_t ms);
// "12 s ago", "5 min ago", "3 h ago", "2 d ago"; "never" for none.
std::string age_text(std::optional<std::int64_t> seconds);

// Prints `status` for an open store, as text or JSON.
void print_status(const config::node_config& cfg, store::environment& env, bool as_json);

// The self-assessment of `check`, also run by `run` before it dials the
// parent. `open`: the store when the caller has it open already (LMDB
// must not be opened twice in one process).
struct check_result {
  std::string id, status, reason, fix;  // status: PASS | FAIL | WARN
};
struct check_report {
  std::vector<check_result> items;
  bool ok() const;
  std::vector<std::string> failures() const;  // "id: reason" of each FAIL
};
// `deep`: the store's page walk has no time budget (check --deep).
check_report run_checks(const config::node_config& cfg, store::environment* open, bool deep = false);

// Loads the config named by -c (throws config::config_error / runtime_error).
config::node_config load_config(const args& a);
std::unique_ptr<store::environment> open_store(const config::node_config& c);

}  // namespace node::cli
