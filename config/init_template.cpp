// The config `credit-node init` writes. Each key carries a comment saying why
// it exists, because this file is the first thing an operator reads.
#include "config/config.hpp"

#include <cstdio>
#include <filesystem>
#include <string_view>

namespace config {

namespace {

// A TOML basic string. Paths may hold quotes, backslashes or (rarely) control
// characters; all of them must survive the round trip through parse().
std::string toml_string(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\t': out += "\\t"; break;
      case '\n': out += "\\n"; break;
      case '\f': out += "\\f"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  return out + "\"";
}

// Absolute, so the paths do not depend on where the config later ends up or
// on the directory the daemon is started from.
std::filesystem::path base_dir(const std::string& dir) {
  std::filesystem::path p = dir.empty() ? std::filesystem::path(".") : std::filesystem::path(dir);
  std::error_code ec;
  auto abs = std::filesystem::absolute(p, ec);
  return (ec ? p : abs).lexically_normal();
}

std::string under(const std::filesystem::path& base, std::string_view rel) {
  return toml_string((base / rel).lexically_normal().string());
}

std::string node_part(const init_params& p, const std::filesystem::path& base) {
  return "[node]\n"
         "# This node's name in the network. The CA binds it into the node certificate\n"
         "# and peers check it, so it must match the certificate you are issued.\n"
         "# 1..64 characters of a-z 0-9 . _ - starting with a letter or digit.\n"
         "id = " + toml_string(p.node_id) + "\n"
         "# Place in the hierarchy: local (city/county platform), provincial or national.\n"
         "role = " + toml_string(p.role) + "\n"
         "# 6-digit administrative division code this node answers for; it is also\n"
         "# bound into the certificate, so a node cannot claim another region's data.\n"
         "jurisdiction = " + toml_string(p.jurisdiction) + "\n"
         "# LMDB store, quarantine and audit log. Keep it on a local disk; relative\n"
         "# paths here are taken relative to this file.\n"
         "data_dir = " + under(base, "data") + "\n\n";
}

std::string listen_part() {
  const listen_section d;
  return "[listen]\n"
         "# Child nodes connect here to sync (mutual TLS). HOST:PORT; IPv6 as [::]:7443.\n"
         "sync = " + toml_string(d.sync) + "\n"
         "# Banks and the portal query here (TLS).\n"
         "api = " + toml_string(d.api) + "\n"
         "# Health, metrics and status page over plain HTTP: keep it on loopback\n"
         "# (`credit-node check` fails it elsewhere) and reach it through an SSH tunnel.\n"
         "admin = " + toml_string(d.admin) + "\n\n";
}

std::string tls_part(const std::filesystem::path& base) {
  return "[tls]\n"
         "# The network CA certificate: peers must present certificates it signed.\n"
         "ca = " + under(base, "tls/ca.pem") + "\n"
         "# This node's certificate, signed by the parent's CA from the CSR `init` wrote.\n"
         "cert = " + under(base, "tls/node.pem") + "\n"
         "# This node's private key (mode 0600). It never leaves this machine.\n"
         "key = " + under(base, "tls/node.key") + "\n\n";
}

// Commented out rather than filled with a guess: a wrong parent URL would
// send the first sync attempt to a host nobody chose.
std::string upstream_part() {
  return "# The parent node this node syncs up to. Once the parent's operator has signed\n"
         "# your certificate, uncomment and put the parent's sync URL and its node id\n"
         "# here; the parent's certificate must name that node id, so an impostor\n"
         "# server is refused.\n"
         "# [upstream]\n"
         "# url = \"https://sync.parent.example:7443\"\n"
         "# node_id = \"parent.node.id\"\n\n";
}

std::string store_part() {
  const store_section d;
  return "[store]\n"
         "# Address space LMDB reserves for the store, in MiB. It is not disk space,\n"
         "# but the store cannot grow beyond it. At least 64.\n"
         "map_size_mb = " + std::to_string(d.map_size_mb) + "\n\n";
}

std::string import_part() {
  const import_section d;
  return "[import]\n"
         "# Longest single CSV record or JSON line accepted, in bytes (1024..268435456);\n"
         "# a longer one is quarantined instead of being read into memory.\n"
         "max_record_bytes = " + std::to_string(d.max_record_bytes) + "\n"
         "# Rows committed per write transaction (1..1000000): larger is faster, smaller\n"
         "# keeps readers' snapshots fresher during a big import.\n"
         "batch_rows = " + std::to_string(d.batch_rows) + "\n"
         "# Unified social credit codes (18 characters) accepted despite a wrong check\n"
         "# character: old registrations that are valid but fail the checksum.\n"
         "legacy_codes = []\n\n";
}

// Written commented out, with the default in force (the bank-facing API).
std::string api_part() {
  const api_section d;
  return "# The bank-facing API. Default shown.\n"
         "# [api]\n"
         "# Requests per second one bank or portal may make (1..1000000), in bursts\n"
         "# of two seconds' worth; beyond it, 429 with Retry-After.\n"
         "# requests_per_second = " + std::to_string(d.requests_per_second) + "\n\n";
}

// Only a parent admits children; the table is written commented out, with
// the defaults in force, for the operator to tighten.
std::string admission_part() {
  const admission_section d;
  return "# The policy for child nodes asking to join (a parent's only). Defaults shown.\n"
         "# [admission]\n"
         "# Oldest credit-node version a child may run.\n"
         "# min_version = " + toml_string(d.min_version) + "\n"
         "# Most a child's clock may differ from ours, in seconds (1..86400).\n"
         "# max_clock_skew_s = " + std::to_string(d.max_clock_skew_s) + "\n"
         "# Check ids (as `credit-node check` prints them) that must not FAIL in a\n"
         "# child's report; empty: none may.\n"
         "# required_checks = []\n"
         "# Refused changes (security violations) after which a child is suspended\n"
         "# automatically; 0 = never.\n"
         "# suspend_after_violations = " + std::to_string(d.suspend_after_violations) + "\n\n";
}

std::string log_part() {
  const log_section d;
  return "[log]\n"
         "# Least severe level written to stderr (journald): debug | info | warn | error.\n"
         "level = " + toml_string(d.level) + "\n";
}

}  // namespace

std::string render_initial(const init_params& p) {
  const auto base = base_dir(p.dir);
  std::string text =
      "# credit-node configuration, written by `credit-node init`.\n"
      "# Every key is checked at start: an unknown key, a wrong type or a missing\n"
      "# required key stops the node with the line number, so a typo cannot go\n"
      "# unnoticed. `credit-node check -c FILE` validates without starting.\n\n";
  text += node_part(p, base);
  text += listen_part();
  text += tls_part(base);
  if (p.role != "national") text += upstream_part();
  text += store_part();
  text += import_part();
  text += api_part();
  if (p.role != "local") text += admission_part();
  text += log_part();
  return text;
}

}  // namespace config
