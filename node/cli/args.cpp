#include "node/cli/args.hpp"

namespace node::cli {

std::optional<std::string> args::get(const std::string& opt) const {
  auto it = options.find(opt);
  if (it == options.end()) return std::nullopt;
  return it->second;
}

std::string args::require(const std::string& opt) const {
  auto v = get(opt);
  if (!v) throw usage_error("missing " + opt);
  return *v;
}

std::string args::config_path() const { return get("-c").value_or("/etc/credit-node/node.toml"); }

args parse(int argc, char** argv, int first, const spec& s) {
  args a;
  for (int i = first; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool inline_value = false;
    if (auto eq = arg.find('='); arg.starts_with("--") && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      inline_value = true;
    }
    if (arg == "--json" || s.flags.count(arg)) {
      if (inline_value) throw usage_error(arg + " takes no value");
      a.flags.insert(arg);
    } else if (arg == "-c" || arg == "--config" || s.options.count(arg)) {
      if (!inline_value) {
        if (i + 1 >= argc) throw usage_error(arg + " needs a value");
        value = argv[++i];
      }
      a.options[arg == "--config" ? "-c" : arg] = value;
    } else if (arg.size() > 1 && arg[0] == '-') {
      throw usage_error("unknown option " + arg);
    } else {
      if (a.positional.size() >= s.max_positional) throw usage_error("unexpected argument '" + arg + "'");
      a.positional.push_back(arg);
    }
  }
  return a;
}

}  // namespace node::cli
