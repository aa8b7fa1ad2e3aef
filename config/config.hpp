// Validated node configuration: plain structs, no toml++ in sight.
// config.cpp is the only file that knows TOML; everything above it sees these.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace config {

// One problem found in a config file. `where` is "FILE:LINE:COL" when known.
struct issue {
  std::string where;
  std::string key;       // dotted path, e.g. "node.role"
  std::string message;   // what is wrong and what was expected
};

// Thrown by load(): carries every problem found, not just the first, so an
// operator fixes the file in one pass.
class config_error : public std::runtime_error {
public:
  explicit config_error(std::vector<issue> issues);
  const std::vector<issue>& issues() const { return issues_; }

private:
  std::vector<issue> issues_;
};

struct node_section {
  std::string id;            // [a-z0-9._-], 1..64
  std::string role;          // local | provincial | national
  std::string jurisdiction;  // 6-digit division code
  std::string data_dir;
};

struct listen_section {
  std::string sync = "0.0.0.0:7443";
  std::string api = "0.0.0.0:8443";
  std::string admin = "127.0.0.1:9090";
};

struct tls_section {
  std::string ca, cert, key;
};

struct upstream_section {
  std::string url;      // https://host:port
  std::string node_id;  // the parent's certificate must name this node
};

struct store_section {
  std::uint64_t map_size_mb = 65536;  // LMDB address space reserved, not disk
};

struct import_section {
  std::uint64_t max_record_bytes = 1 << 20;  // one CSV record / JSON line
  std::uint64_t batch_rows = 100000;         // rows per write transaction
  std::vector<std::string> legacy_codes;     // USCCs accepted despite a bad check char
};

// A parent's policy for the children that ask to join (PRODUCT.md §7).
struct admission_section {
  std::string min_version = "0.1.0";        // the oldest credit-node a child may run
  std::uint64_t max_clock_skew_s = 300;     // child's clock vs ours, at join
  // Posture checks (ids as `credit-node check` prints them) that must not
  // FAIL in a child's report. Empty: none may FAIL.
  std::vector<std::string> required_checks;
  std::uint64_t suspend_after_violations = 100;  // refused changes before a child is suspended; 0 = never
};

// The ids a healthy node's posture always reports (node/cli/check.cpp; a
// test keeps the two in step): what admission.required_checks may name.
// Not tls.ca, store.page_walk or upstream: reported only when they fail or
// warn, so requiring one would refuse every healthy child as "missing".
inline constexpr std::string_view posture_check_ids[] = {
    "config",       "tls.ca_validity", "tls.certificate", "tls.chain",     "tls.key_pair",    "tls.validity",
    "tls.identity", "tls.key_mode",    "data_dir.mode",   "audit_masking", "store.integrity", "listen.plaintext",
    "clock"};

// The bank-facing API (PRODUCT.md §8).
struct api_section {
  std::uint64_t requests_per_second = 200;  // per principal; bursts of two seconds' worth; beyond: 429
};

struct log_section {
  std::string level = "info";  // debug | info | warn | error
};

struct node_config {
  std::string source_path;  // file it was read from
  node_section node;
  listen_section listen;
  tls_section tls;
  std::optional<upstream_section> upstream;
  store_section store;
  import_section import;
  admission_section admission;
  api_section api;
  log_section log;
};

// Reads and validates a config file. Throws config_error listing every issue
// (unknown key, wrong type, missing required key, bad value), or
// std::runtime_error when the file cannot be read.
node_config load(const std::string& path);

// Same, from text already in memory; `name` is used in messages.
node_config parse(std::string_view text, std::string_view name);

// Parameters of `credit-node init`.
struct init_params {
  std::string role, node_id, jurisdiction;
  std::string dir;  // config, data/ and tls/ go under it
};

// The commented config text `init` writes. Round-trips through parse().
std::string render_initial(const init_params& p);

// Checks shared by the CLI and config validation; empty string means valid,
// otherwise the reason.
std::string check_node_id(std::string_view id);
std::string check_role(std::string_view role);
std::string check_division(std::string_view code);
// "MAJOR.MINOR.PATCH", each a number.
std::string check_version(std::string_view v);
// <0, 0, >0 as version a is older, equal, newer than b (both valid).
int compare_versions(std::string_view a, std::string_view b);

}  // namespace config
