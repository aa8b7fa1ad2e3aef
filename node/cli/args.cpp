#include "node/cli/args.hpp"

#include "node/net/http_message.hpp"

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

// The HTTP layer's reading of a whole number: digits only, 0..2^64-1.
std::uint64_t whole_number(const std::string& what, const std::string& text, std::uint64_t least, std::uint64_t most) {
  auto v = net::whole_number(text);
  if (!v || *v < least || *v > most)
    throw usage_error(what + " takes a whole number from " + std::to_string(least) + " to " + std::to_string(most) +
                      ", not '" + text.substr(0, 40) + "'");
  return *v;
}

std::uint64_t args::number(const std::string& opt, std::uint64_t fallback, std::uint64_t least, std::uint64_t most) const {
  auto v = get(opt);
  return v ? whole_number(opt, *v, least, most) : fallback;
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
      auto key = arg == "--config" ? "-c" : arg;
      // The last one silently winning would import into another category.
      if (auto was = a.options.find(key); was != a.options.end())
        throw usage_error(arg + " is given twice ('" + was->second + "' and '" + value + "'): give it once");
      a.options[key] = value;
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
