// `credit-node init`: a commented config and the directories it names.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "node/cli/commands.hpp"
#include "node/pki/pki.hpp"
#include "store/model/validate.hpp"

namespace node::cli {
namespace {

void make_private_dir(const std::filesystem::path& p) {
  std::error_code ec;
  std::filesystem::create_directories(p, ec);
  if (ec) throw std::runtime_error("cannot create " + p.string() + ": " + ec.message());
  // 0700: the store and keys are readable by the service user only.
  if (::chmod(p.c_str(), 0700) != 0)
    throw std::runtime_error("cannot set mode 0700 on " + p.string() + ": " + std::strerror(errno));
}

// O_EXCL: never overwrite an operator's edited config.
void write_new_file(const std::string& path, const std::string& text) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0 && errno == EEXIST)
    throw usage_error(path + " already exists; remove it or choose another --dir / -c");
  if (fd < 0) throw std::runtime_error("cannot create " + path + ": " + std::strerror(errno));
  auto n = ::write(fd, text.data(), text.size());
  bool ok = n == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) throw std::runtime_error("cannot write " + path + ": " + std::strerror(errno));
}

void check_value(const std::string& opt, const std::string& reason) {
  if (!reason.empty()) throw usage_error(opt + ": " + reason);
}

}  // namespace

config::node_config init_node(config::init_params p, const std::optional<std::string>& cfg_file) {
  check_value("--role", config::check_role(p.role));
  check_value("--node-id", config::check_node_id(p.node_id));
  check_value("--jurisdiction", config::check_division(p.jurisdiction));
  std::filesystem::path dir = std::filesystem::absolute(p.dir);
  p.dir = dir.string();
  std::string cfg_path = cfg_file.value_or((dir / "node.toml").string());
  for (const auto& d : {dir, std::filesystem::absolute(cfg_path).parent_path()}) {
    std::error_code ec;
    std::filesystem::create_directories(d, ec);
    if (ec) throw std::runtime_error("cannot create " + d.string() + ": " + ec.message());
  }
  // What is written must read back: checked before writing, so a config
  // that cannot (a directory name that is not UTF-8) is never left behind
  // to make the next init say "already exists".
  auto text = config::render_initial(p);
  try {
    config::parse(text, cfg_path);
  } catch (const config::config_error& e) {
    throw usage_error("--dir " + p.dir + ": a config naming it would not read back (" + e.what() +
                      "); choose a directory whose path is UTF-8 text");
  }
  write_new_file(cfg_path, text);
  auto cfg = config::load(cfg_path);
  make_private_dir(cfg.node.data_dir);
  make_private_dir(std::filesystem::path(cfg.tls.key).parent_path());
  // The node's key (0600) and a CSR for its CA: what the operator sends on.
  pki::make_csr({cfg.tls.key, pki::csr_path_for(cfg.tls.cert), cfg.node.id, cfg.node.role,
                 cfg.node.jurisdiction});
  return cfg;
}

int cmd_init(int argc, char** argv) {
  auto a = parse(argc, argv, 2, {{}, {"--role", "--node-id", "--jurisdiction", "--dir"}, 0});
  config::init_params p{a.require("--role"), a.require("--node-id"), a.require("--jurisdiction"),
                        a.require("--dir")};
  auto cfg = init_node(p, a.get("-c"));
  const std::string& cfg_path = cfg.source_path;
  if (a.has("--json")) {
    std::string o = "{\"config\":";
    store::model::append_json_string(o, cfg_path);
    o += ",\"data_dir\":";
    store::model::append_json_string(o, cfg.node.data_dir);
    o += ",\"key\":";
    store::model::append_json_string(o, cfg.tls.key);
    o += ",\"csr\":";
    store::model::append_json_string(o, pki::csr_path_for(cfg.tls.cert));
    std::cout << o << "}\n";
    return 0;
  }
  std::cout << "wrote " << cfg_path << " (node " << p.node_id << ", " << p.role << ", jurisdiction "
            << p.jurisdiction << ")\n"
            << "data directory " << cfg.node.data_dir << " (mode 0700)\n"
            << "node key " << cfg.tls.key << " (mode 0600), certificate request "
            << pki::csr_path_for(cfg.tls.cert) << "\n"
            << "next: have the CA sign the request (credit-node pki sign --ca CA_DIR --csr "
            << pki::csr_path_for(cfg.tls.cert) << " --out " << cfg.tls.cert << " --role " << p.role
            << " --node-id " << p.node_id << " --jurisdiction " << p.jurisdiction << "),\n"
            << "put the CA certificate at " << cfg.tls.ca << ", review the config, then import data:\n"
            << "  credit-node import -c " << cfg_path << " --category tax FILE.csv\n";
  return 0;
}

}  // namespace node::cli
