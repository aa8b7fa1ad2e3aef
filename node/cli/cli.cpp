#include "node/cli/cli.hpp"

#include <cstring>
#include <iostream>
#include <sstream>

#include "node/cli/commands.hpp"
#include "node/cli/service_user.hpp"
#include "store/environment.hpp"

namespace node::cli {
namespace {

constexpr const char* usage_text =
    "credit-node " CREDIT_NODE_VERSION " — a node of the financing credit service platform network\n"
    "\n"
    "usage: credit-node <command> [-c FILE] [--json] ...\n"
    "\n"
    "commands:\n"
    "  run                                                       the node: sync, api and admin listeners; logs to stderr\n"
    "  init --role R --node-id ID --jurisdiction CODE --dir DIR   write a commented config and data dir\n"
    "  import --category C FILE [--format csv|jsonl]             validated, atomic-per-batch ingest\n"
    "  import --show-quarantine [--limit N]                      rows that were refused, and why\n"
    "  import --clear-quarantine                                 forget the refused rows (once fixed at their source)\n"
    "  export [--category C] [--subject USCC] [--since DATE|SEQ] [--out FILE]   records as JSON Lines\n"
    "  status                                                    node, store, counts by category\n"
    "  check [--deep]                                            pre-connection security self-assessment (--deep: read every page)\n"
    "  quality                                                   completeness, accuracy, continuity, timeliness per category\n"
    "  demo [--dir DIR] [--once]                                 a national, a provincial and two local nodes on loopback with sample data\n"
    "  pki ca-init --dir DIR --name NAME [--days N]              make a CA (provincial or national operator)\n"
    "  pki csr                                                   node key ([tls].key, 0600) + CSR beside [tls].cert\n"
    "  pki csr --key FILE --out CSR --node-id ID --role R [--jurisdiction CODE]   a CSR without a node config\n"
    "  pki sign --ca DIR --csr FILE --out CERT --role R --node-id ID [--jurisdiction CODE] [--days N]\n"
    "           [--dns NAME,...] [--ip ADDR,...]                 issue a certificate; R: local|provincial|national|bank|portal;\n"
    "                                                            --dns/--ip: the names banks reach the API by (subjectAltName)\n"
    "  pki show CERT                                             whom a certificate names, serial, validity, fingerprint\n"
    "  admin nodes | pending | events | revocations              child nodes in the registry, those awaiting approval,\n"
    "                                                            security events, certificates refused network-wide\n"
    "  admin approve NODE_ID [--role R --jurisdiction CODE]      admit a pending node (or register one before it joins)\n"
    "  admin resume NODE_ID                                      admit a suspended node again\n"
    "  admin suspend|revoke NODE_ID --reason TEXT                stop a child syncing; revoke is final and lists its certificate\n"
    "  admin revoke NODE_ID --reason TEXT --serial HEX           revoke a certificate of a node further down (the list goes down the tree)\n"
    "  admin bank add --id ID --name NAME (--cert PEM | --token-out FILE)   register a bank for the API\n"
    "  admin portal add --id ID (--cert PEM | --token-out FILE)  register the enterprise portal\n"
    "  admin bank|portal suspend --id ID --reason TEXT | resume --id ID   refuse its requests (403 suspended), or admit them again\n"
    "  admin bank|portal token --id ID --token-out FILE          a new bearer token; the old one stops working at once\n"
    "  admin bank|portal list                                    who may use the API, how each authenticates, which are suspended\n"
    "  audit verify [--head SEQ:HASH] [--store FILE]             check the hash-chained access log (of FILE: a backup, a kept store)\n"
    "  backup --out FILE                                         consistent copy of the store while it runs, with FILE.sha256\n"
    "  restore FILE                                              the backup becomes the store (node stopped; new instance id)\n"
    "  version                                                   print the version\n"
    "\n"
    "-c FILE defaults to /etc/credit-node/node.toml. Exit codes: 0 ok, 1 failed check or\n"
    "some rows refused, 2 bad usage or unreadable input.\n";

}  // namespace

// Every command that reads the config: refused as root on a node whose
// data directory is another user's (service_user.hpp).
config::node_config load_config(const args& a) {
  auto cfg = config::load(a.config_path());
  if (auto u = service_user_of(cfg.node.data_dir))
    throw usage_error("running as root, but [node] data_dir " + cfg.node.data_dir + " belongs to uid " + std::to_string(*u) +
                      ", who runs the node: files made now would be root's and the node could not open them; run it as "
                      "that user (sudo -u credit-node credit-node ...; the node itself: systemctl start credit-node)");
  return cfg;
}

std::unique_ptr<store::environment> open_store(const config::node_config& c) {
  auto mb = c.store.map_size_mb;
  if (auto node_mb = running_map_size(c.node.data_dir); node_mb && *node_mb < mb) mb = *node_mb;  // see note_map_size
  store::open_options o{c.node.data_dir, mb};
  o.create_dir = false;  // init (or the package) makes it; `run` takes its lock there first
  auto env = store::environment::open(o);
  return env;
}

int print_help_for(const std::string& cmd) {
  std::istringstream text(usage_text);
  std::string mine;
  bool last_mine = false;  // a line of only spaces before its text continues the line above
  for (std::string line; std::getline(text, line);) {
    bool continues = last_mine && line.rfind("      ", 0) == 0;
    last_mine = line.rfind("  " + cmd + " ", 0) == 0 || continues;
    if (last_mine) mine += line + "\n";
  }
  if (mine.empty()) {
    std::cerr << "credit-node: unknown command '" << cmd << "'\n\n" << usage_text;
    return 2;
  }
  std::cout << "usage: credit-node " << cmd << " ... [-c FILE] [--json]\n\n" << mine
            << "\n-c FILE defaults to /etc/credit-node/node.toml; credit-node help lists every command.\n";
  return 0;
}

int run(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << usage_text;
    return 2;
  }
  std::string cmd = argv[1];
  // `credit-node import --help`: that command's lines of the usage, exit 0
  // (each command otherwise refuses an option it does not know).
  for (int i = 2; i < argc; ++i)
    if (std::string_view(argv[i]) == "--help" || std::string_view(argv[i]) == "-h") return print_help_for(cmd);
  try {
    if (cmd == "init") return cmd_init(argc, argv);
    if (cmd == "import") return cmd_import(argc, argv);
    if (cmd == "export") return cmd_export(argc, argv);
    if (cmd == "status") return cmd_status(argc, argv);
    if (cmd == "demo") return cmd_demo(argc, argv);
    if (cmd == "check") return cmd_check(argc, argv);
    if (cmd == "pki") return cmd_pki(argc, argv);
    if (cmd == "run") return cmd_run(argc, argv);
    if (cmd == "admin") return cmd_admin(argc, argv);
    if (cmd == "audit") return cmd_audit(argc, argv);
    if (cmd == "backup") return cmd_backup(argc, argv);
    if (cmd == "restore") return cmd_restore(argc, argv);
    if (cmd == "quality") return cmd_quality(argc, argv);
    if (cmd == "version" || cmd == "--version") {
      std::cout << "credit-node " CREDIT_NODE_VERSION "\n";
      return 0;
    }
    if (cmd == "help" || cmd == "--help" || cmd == "-h") {
      std::cout << usage_text;
      return 0;
    }
    std::cerr << "credit-node: unknown command '" << cmd << "'\n\n" << usage_text;
    return 2;
  } catch (const usage_error& e) {
    std::cerr << "credit-node " << cmd << ": " << e.what() << " (see credit-node help)\n";
    return 2;
  } catch (const config::config_error& e) {
    std::cerr << "credit-node " << cmd << ": the config has problems:\n" << e.what() << "\n";
    return 2;
  } catch (const store::store_error& e) {
    std::cerr << "credit-node " << cmd << ": " << e.what() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "credit-node " << cmd << ": " << e.what() << "\n";
    return 2;
  }
}

}  // namespace node::cli
