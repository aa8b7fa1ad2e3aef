// TOML → node_config. The only translation unit (with init_template.cpp) that
// sees toml++; everything it finds wrong becomes an `issue`, and all of them
// are thrown together so an operator fixes the file in one pass.
#include "config/config.hpp"
#include "config/echo.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <optional>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <span>
#include <sstream>
#include <string_view>

namespace config {

namespace {

std::string format_issues(const std::vector<issue>& issues) {
  std::string text;
  for (const auto& i : issues) {
    if (!text.empty()) text += '\n';
    if (!i.where.empty()) text += i.where + ": ";
    if (!i.key.empty()) text += i.key + ": ";
    text += i.message;
  }
  return text;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] != b[j - 1] ? 1u : 0u)});
      diag = up;
    }
  }
  return row[b.size()];
}

// Closest allowed key within two edits, or "" when nothing is close enough to
// be a plausible typo (a distance equal to the key's length is a rewrite).
std::string_view closest(std::string_view key, std::span<const std::string_view> allowed) {
  std::string_view best;
  std::size_t best_d = 3;
  for (auto a : allowed) {
    std::size_t d = edit_distance(key, a);
    if (d < best_d && d < key.size()) {
      best = a;
      best_d = d;
    }
  }
  return best;
}

std::string join(std::span<const std::string_view> items) {
  std::string out;
  for (auto s : items) {
    if (!out.empty()) out += ", ";
    out += s;
  }
  return out;
}

std::string type_name(toml::node_type t) {
  switch (t) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

// "a string \"64\"": the type, plus the value itself when it is short enough
// to help spot the mistake.
std::string describe(const toml::node& n) {
  std::string text = type_name(n.type());
  if (n.is_table() || n.is_array()) return text;
  if (n.is_string()) return text + " " + echo(n.as_string()->get());
  std::ostringstream os;
  n.visit([&os](const auto& v) {
    if constexpr (!toml::is_container<decltype(v)>) os << v;
  });
  if (os.str().size() <= 40) text += " " + os.str();
  return text;
}

// Port 1..65535 written as plain digits: the static binary uses numeric ports
// only (no services database).
std::string check_port(std::string_view port) {
  if (port.empty()) return "no port after ':'";
  if (port.size() > 5 || !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return "port " + echo(port) + " is not a number 1..65535";
  unsigned long v = std::stoul(std::string(port));
  if (v < 1 || v > 65535) return "port " + std::string(port) + " is outside 1..65535";
  return "";
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

bool is_ipv6_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' || c == '.';
}

// "" for HOST:PORT with HOST an IPv4 literal, a name or [IPv6]; else the reason.
std::string check_host_port(std::string_view s) {
  if (s.empty()) return "empty";
  std::string_view host, port;
  if (s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string_view::npos) return "'[' without a closing ']'";
    host = s.substr(1, close - 1);
    if (host.empty() || host.find(':') == std::string_view::npos || !std::all_of(host.begin(), host.end(), is_ipv6_char))
      return echo(host) + " between brackets is not an IPv6 address";
    if (close + 1 >= s.size() || s[close + 1] != ':') return "no ':PORT' after the IPv6 address";
    port = s.substr(close + 2);
  } else {
    auto colon = s.rfind(':');
    if (colon == std::string_view::npos) return "no ':PORT'";
    host = s.substr(0, colon);
    port = s.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return "an IPv6 address needs brackets, e.g. [::1]:7443";
    if (host.empty()) return "no host before ':' (use 0.0.0.0 for every interface)";
    if (!std::all_of(host.begin(), host.end(), is_name_char)) return "host " + echo(host) + " has characters a host name cannot";
  }
  return check_port(port);
}

std::string check_listen(std::string_view s) {
  std::string why = check_host_port(s);
  if (why.empty()) return "";
  return "expected HOST:PORT (e.g. \"0.0.0.0:7443\" or \"[::1]:7443\"), found " + echo(s) + ": " + why;
}

// The sync link is always mutual TLS and speaks at fixed paths, so anything
// beyond scheme and authority is a mistake worth reporting.
std::string check_upstream_url(std::string_view s) {
  constexpr std::string_view scheme = "https://";
  if (!s.starts_with(scheme))
    return "expected \"https://HOST:PORT\" (the sync link is always TLS), found " + echo(s);
  std::string_view rest = s.substr(scheme.size());
  auto slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  if (slash != std::string_view::npos && rest.substr(slash) != "/")
    return "expected \"https://HOST:PORT\" without a path, found " + echo(s);
  std::string why = check_host_port(authority);
  if (why.empty()) return "";
  return "expected \"https://HOST:PORT\", found " + echo(s) + ": " + why;
}

std::string check_non_empty(std::string_view s) {
  return s.empty() ? "must not be empty (expected a file path)" : "";
}

std::string check_log_level(std::string_view s) {
  if (s == "debug" || s == "info" || s == "warn" || s == "error") return "";
  return "expected one of debug, info, warn, error; found " + echo(s);
}

std::size_t utf8_length(std::string_view s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

using checker = std::string (*)(std::string_view);
using key_list = std::span<const std::string_view>;

// Only a key not already set is a plausible target for a typo.
std::vector<std::string_view> absent_keys(const toml::table& t, key_list allowed) {
  std::vector<std::string_view> out;
  for (auto a : allowed)
    if (!t.contains(a)) out.push_back(a);
  return out;
}

constexpr std::array<std::string_view, 9> root_keys{"node", "listen", "tls", "upstream", "store", "import", "admission", "api", "log"};
constexpr std::array<std::string_view, 4> node_keys{"id", "role", "jurisdiction", "data_dir"};
constexpr std::array<std::string_view, 3> listen_keys{"sync", "api", "admin"};
constexpr std::array<std::string_view, 3> tls_keys{"ca", "cert", "key"};
constexpr std::array<std::string_view, 2> upstream_keys{"url", "node_id"};
constexpr std::array<std::string_view, 1> store_keys{"map_size_mb"};
constexpr std::array<std::string_view, 3> import_keys{"max_record_bytes", "batch_rows", "legacy_codes"};
constexpr std::array<std::string_view, 4> admission_keys{"min_version", "max_clock_skew_s", "required_checks",
                                                        "suspend_after_violations"};
constexpr std::array<std::string_view, 1> api_keys{"requests_per_second"};
constexpr std::array<std::string_view, 1> log_keys{"level"};

// Collects issues against one document. Positions are kept beside each issue
// so the report can follow the file top to bottom.
class reader {
public:
  explicit reader(std::string_view name) : name_(name) {}

  void add(const toml::source_region& at, std::string key, std::string message) {
    auto line = at.begin.line, col = at.begin.column;
    std::string where = name_;
    if (line != 0) where += ":" + std::to_string(line) + ":" + std::to_string(col);
    else line = std::numeric_limits<toml::source_index>::max();
    found_.push_back({line, col, issue{std::move(where), std::move(key), std::move(message)}});
  }

  // Unknown keys anywhere are errors: a misspelt key silently ignored would
  // leave a default in force that the operator thinks they changed.
  void reject_unknown(const toml::table& t, const std::string& prefix, key_list allowed) {
    for (auto&& [k, v] : t) {
      if (std::find(allowed.begin(), allowed.end(), k.str()) != allowed.end()) continue;
      std::string msg = v.is_table() ? "unknown table" : "unknown key";
      msg += "; expected one of: " + join(allowed);
      if (auto near = closest(k.str(), absent_keys(t, allowed)); !near.empty()) {
        msg += "; did you mean '" + std::string(near) + "'?";
        suggested_.push_back(prefix + std::string(near));
      }
      add(k.source(), prefix + std::string(k.str()), std::move(msg));
    }
  }

  // The section table, or null when absent (an issue if required) or not a table.
  const toml::table* section(const toml::table& root, std::string_view key, bool required) {
    const toml::node* n = root.get(key);
    if (n == nullptr) {
      // No line to point at: the whole file lacks it.
      if (required && !was_suggested(std::string(key)))
        add(toml::source_region{}, std::string(key), "required table [" + std::string(key) + "] is missing");
      return nullptr;
    }
    if (!n->is_table()) {
      add(n->source(), std::string(key), "expected a table, found " + describe(*n));
      return nullptr;
    }
    return n->as_table();
  }

  // The node under `key` if present and of `want` type; issues otherwise.
  const toml::node* field(const toml::table& t, const std::string& prefix, std::string_view key, toml::node_type want,
                          bool required) {
    const toml::node* n = t.get(key);
    if (n == nullptr) {
      if (required && !was_suggested(prefix + std::string(key)))
        add(t.source(), prefix + std::string(key), "required key is missing (expected " + type_name(want) + ")");
      return nullptr;
    }
    if (n->type() != want) {
      add(n->source(), prefix + std::string(key), "expected " + type_name(want) + ", found " + describe(*n));
      return nullptr;
    }
    return n;
  }

  void string(const toml::table& t, const std::string& prefix, std::string_view key, bool required, checker check,
              std::string& out) {
    const toml::node* n = field(t, prefix, key, toml::node_type::string, required);
    if (n == nullptr) return;
    const std::string& v = n->as_string()->get();
    if (std::string why = check ? check(v) : ""; !why.empty()) add(n->source(), prefix + std::string(key), why);
    else out = v;
  }

  void integer(const toml::table& t, const std::string& prefix, std::string_view key, std::int64_t lo,
               std::int64_t hi, std::uint64_t& out) {
    const toml::node* n = field(t, prefix, key, toml::node_type::integer, false);
    if (n == nullptr) return;
    std::int64_t v = n->as_integer()->get();
    if (v >= lo && v <= hi) {
      out = static_cast<std::uint64_t>(v);
      return;
    }
    add(n->source(), prefix + std::string(key),
        "must be between " + std::to_string(lo) + " and " + std::to_string(hi) + ", found " + std::to_string(v));
  }

  std::vector<issue> take_issues() {
    std::stable_sort(found_.begin(), found_.end(), [](const located& a, const located& b) {
      return a.line != b.line ? a.line < b.line : a.col < b.col;
    });
    std::vector<issue> out;
    for (auto& f : found_) out.push_back(std::move(f.what));
    return out;
  }

private:
  // A typo already reported with "did you mean 'role'?" covers the missing
  // role too; reporting both would list one mistake twice.
  bool was_suggested(const std::string& key) const {
    return std::find(suggested_.begin(), suggested_.end(), key) != suggested_.end();
  }

  struct located {
    toml::source_index line, col;
    issue what;
  };
  std::string name_;
  std::vector<located> found_;
  std::vector<std::string> suggested_;
};

void read_node(reader& r, const toml::table& root, node_section& out) {
  const toml::table* t = r.section(root, "node", true);
  if (t == nullptr) return;
  r.reject_unknown(*t, "node.", node_keys);
  r.string(*t, "node.", "id", true, &check_node_id, out.id);
  r.string(*t, "node.", "role", true, &check_role, out.role);
  r.string(*t, "node.", "jurisdiction", true, &check_division, out.jurisdiction);
  r.string(*t, "node.", "data_dir", true, &check_non_empty, out.data_dir);
}

// Two listeners on one port of one address (or of every address): `run`
// would fail to bind the second and blame "another process".
bool same_socket(const std::string& a, const std::string& b) {
  auto port = [](const std::string& x) { return x.substr(x.rfind(':') + 1); };
  auto host = [](const std::string& x) { return x.substr(0, x.rfind(':')); };
  // 0.0.0.0 is every IPv4 address (a name may resolve to one); [::] every
  // address of both families (Linux binds it dual-stack).
  auto covers = [&](const std::string& x, const std::string& y) {
    return host(x) == "[::]" || (host(x) == "0.0.0.0" && !host(y).starts_with("["));
  };
  return port(a) == port(b) && (host(a) == host(b) || covers(a, b) || covers(b, a));
}

void check_listen_apart(reader& r, const toml::table& t, const listen_section& l) {
  const std::pair<const char*, const std::string*> all[] = {{"sync", &l.sync}, {"api", &l.api}, {"admin", &l.admin}};
  for (std::size_t i = 1; i < 3; ++i)
    for (std::size_t j = 0; j < i; ++j) {
      const toml::node* at = t.get(all[i].first) ? t.get(all[i].first) : t.get(all[j].first);
      if (at && same_socket(*all[i].second, *all[j].second))
        r.add(at->source(), std::string("listen.") + all[i].first,
              *all[i].second + " is where listen." + all[j].first + " (" + *all[j].second +
                  ") listens too: give each listener its own port");
    }
}

void read_listen(reader& r, const toml::table& root, listen_section& out) {
  const toml::table* t = r.section(root, "listen", false);
  if (t == nullptr) return;
  r.reject_unknown(*t, "listen.", listen_keys);
  r.string(*t, "listen.", "sync", false, &check_listen, out.sync);
  r.string(*t, "listen.", "api", false, &check_listen, out.api);
  r.string(*t, "listen.", "admin", false, &check_listen, out.admin);
  check_listen_apart(r, *t, out);
}

void read_tls(reader& r, const toml::table& root, tls_section& out) {
  const toml::table* t = r.section(root, "tls", true);
  if (t == nullptr) return;
  r.reject_unknown(*t, "tls.", tls_keys);
  r.string(*t, "tls.", "ca", true, &check_non_empty, out.ca);
  r.string(*t, "tls.", "cert", true, &check_non_empty, out.cert);
  r.string(*t, "tls.", "key", true, &check_non_empty, out.key);
}

// The national node is the root of the tree: an [upstream] there is a
// mis-set role or a copied file, either way not something to guess about.
void read_upstream(reader& r, const toml::table& root, const std::string& role, std::optional<upstream_section>& out) {
  const toml::table* t = r.section(root, "upstream", false);
  if (t == nullptr) return;
  if (role == "national") {
    r.add(t->source(), "upstream",
          "must be absent when node.role = \"national\": the national node has no parent to sync to");
    return;
  }
  r.reject_unknown(*t, "upstream.", upstream_keys);
  upstream_section up;
  r.string(*t, "upstream.", "url", true, &check_upstream_url, up.url);
  r.string(*t, "upstream.", "node_id", true, &check_node_id, up.node_id);
  out = std::move(up);
}

void read_store(reader& r, const toml::table& root, store_section& out) {
  const toml::table* t = r.section(root, "store", false);
  if (t == nullptr) return;
  r.reject_unknown(*t, "store.", store_keys);
  // 64 TiB: beyond what a 47-bit user address space can map.
  r.integer(*t, "store.", "map_size_mb", 64, std::int64_t{1} << 26, out.map_size_mb);
}

void read_legacy_codes(reader& r, const toml::table& t, std::vector<std::string>& out) {
  const toml::node* n = r.field(t, "import.", "legacy_codes", toml::node_type::array, false);
  if (n == nullptr) return;
  const toml::array& arr = *n->as_array();
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const toml::node& e = arr[i];
    std::string key = "import.legacy_codes[" + std::to_string(i) + "]";
    if (!e.is_string()) {
      r.add(e.source(), key, "expected a string (an 18-character USCC), found " + describe(e));
      continue;
    }
    const std::string& code = e.as_string()->get();
    if (std::size_t len = utf8_length(code); len != 18) {
      r.add(e.source(), key, "expected an 18-character USCC, found " + echo(code) + " (" + std::to_string(len) + (len == 1 ? " character)" : " characters)"));
      continue;
    }
    // Only its check characters may be wrong (DOMAIN.md): a lower-case,
    // full-width or spaced code would let malformed subjects in, and match
    // nothing a parent holds.
    bool shaped = std::all_of(code.begin(), code.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'); }) &&
                  std::all_of(code.begin() + 2, code.begin() + 8, [](char c) { return c >= '0' && c <= '9'; });
    if (!shaped) {
      r.add(e.source(), key, "expected a USCC whose check characters alone may be wrong — digits and upper-case letters, "
                             "characters 3-8 the division's digits — found " + echo(code));
      continue;
    }
    out.push_back(code);
  }
}

void read_import(reader& r, const toml::table& root, import_section& out) {
  const toml::table* t = r.section(root, "import", false);
  if (t == nullptr) return;
  r.reject_unknown(*t, "import.", import_keys);
  r.integer(*t, "import.", "max_record_bytes", 1024, 268435456, out.max_record_bytes);
  r.integer(*t, "import.", "batch_rows", 1, 1000000, out.batch_rows);
  read_legacy_codes(r, *t, out.legacy_codes);
}

void read_admission(reader& r, const toml::table& root, admission_section& out) {
  const toml::table* t = r.section(root, "admission", false);
  if (t == nullptr) return;
  r.reject_unknown(*t, "admission.", admission_keys);
  r.string(*t, "admission.", "min_version", false, &check_version, out.min_version);
  r.integer(*t, "admission.", "max_clock_skew_s", 1, 86400, out.max_clock_skew_s);
  r.integer(*t, "admission.", "suspend_after_violations", 0, 1000000000, out.suspend_after_violations);
  const toml::node* n = r.field(*t, "admission.", "required_checks", toml::node_type::array, false);
  if (n == nullptr) return;
  const toml::array& arr = *n->as_array();
  for (std::size_t i = 0; i < arr.size(); ++i) {
    auto key = "admission.required_checks[" + std::to_string(i) + "]";
    if (!arr[i].is_string() || arr[i].as_string()->get().empty()) {
      r.add(arr[i].source(), key, "expected a check id as `credit-node check` prints it (e.g. \"tls.validity\"), found " + describe(arr[i]));
      continue;
    }
    const std::string& id = arr[i].as_string()->get();
    // A typo would refuse every child at its next join, telling its operator
    // to upgrade: said here, at the parent, instead.
    if (std::find(std::begin(posture_check_ids), std::end(posture_check_ids), id) == std::end(posture_check_ids)) {
      std::string msg = "unknown check id \"" + id + "\"";
      if (auto near = closest(id, posture_check_ids); !near.empty()) msg += "; did you mean '" + std::string(near) + "'?";
      r.add(arr[i].source(), key, msg + " (known: " + join(posture_check_ids) + ")");
      continue;
    }
    out.required_checks.push_back(id);
  }
}

void read_api(reader& r, const toml::table& root, api_section& out) {
  const toml::table* t = r.section(root, "api", false);
  if (t == nullptr) return;
  r.reject_unknown(*t, "api.", api_keys);
  r.integer(*t, "api.", "requests_per_second", 1, 1000000, out.requests_per_second);
}

void read_log(reader& r, const toml::table& root, log_section& out) {
  const toml::table* t = r.section(root, "log", false);
  if (t == nullptr) return;
  r.reject_unknown(*t, "log.", log_keys);
  r.string(*t, "log.", "level", false, &check_log_level, out.level);
}

std::string read_whole_file(const std::string& path) {
  auto fail = [&path](int err) {
    return std::runtime_error("cannot read config file " + path + ": " + std::strerror(err) +
                              " (run `credit-node init` or pass -c FILE)");
  };
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw fail(errno);
  std::string text;
  char buf[65536];
  std::size_t n = 0;
  // A node.toml is a few kilobytes: more is not one (-c /dev/zero grew without end).
  constexpr std::size_t max_config_bytes = 1 << 20;
  while ((n = std::fread(buf, 1, sizeof buf, f.get())) > 0) {
    text.append(buf, n);
    if (text.size() > max_config_bytes)
      throw std::runtime_error("config file " + path + " is larger than 1 MiB: not a node.toml (check -c FILE)");
  }
  if (std::ferror(f.get())) throw fail(errno);
  return text;
}

void resolve_against(const std::filesystem::path& base, std::string& p) {
  if (p.empty() || std::filesystem::path(p).is_absolute()) return;
  p = (base / p).lexically_normal().string();
}

}  // namespace

config_error::config_error(std::vector<issue> issues)
    : std::runtime_error(format_issues(issues)), issues_(std::move(issues)) {}

node_config parse(std::string_view text, std::string_view name) {
  node_config cfg;
  cfg.source_path = std::string(name);
  toml::table root;
  try {
    root = toml::parse(text, name);
  } catch (const toml::parse_error& e) {
    const auto& at = e.source().begin;
    throw config_error({issue{std::string(name) + ":" + std::to_string(at.line) + ":" + std::to_string(at.column), "",
                              "TOML syntax error: " + std::string(e.description())}});
  }
  reader r(name);
  r.reject_unknown(root, "", root_keys);
  read_node(r, root, cfg.node);
  read_listen(r, root, cfg.listen);
  read_tls(r, root, cfg.tls);
  read_upstream(r, root, cfg.node.role, cfg.upstream);
  read_store(r, root, cfg.store);
  read_import(r, root, cfg.import);
  read_admission(r, root, cfg.admission);
  read_api(r, root, cfg.api);
  read_log(r, root, cfg.log);
  if (auto issues = r.take_issues(); !issues.empty()) throw config_error(std::move(issues));
  return cfg;
}

node_config load(const std::string& path) {
  node_config cfg = parse(read_whole_file(path), path);
  // Relative paths mean "next to the config file", not "wherever the daemon
  // happens to be started from".
  std::error_code ec;
  auto base = std::filesystem::absolute(path, ec).parent_path();
  if (ec) base = std::filesystem::path(path).parent_path();
  resolve_against(base, cfg.node.data_dir);
  resolve_against(base, cfg.tls.ca);
  resolve_against(base, cfg.tls.cert);
  resolve_against(base, cfg.tls.key);
  return cfg;
}

}  // namespace config
