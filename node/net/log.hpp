// Structured logging: one logfmt line per event on stderr (journald adds
// its own timestamp, but ours survives copying a line into a ticket):
//   ts=2026-11-27T18:00:00.123Z level=info event=listen listener=sync addr=0.0.0.0:7443
// Values with spaces, quotes, '=' or control characters are quoted and
// escaped, so one event is always exactly one line.
//
// Never log secrets (keys, tokens) or personal data (names, ID numbers,
// record fields): node ids, addresses, sizes and reasons only.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace node::net::log {

enum class level { debug, info, warn, error };

// The [log] level; lines below it are not even formatted.
void set_level(level l);
bool enabled(level l);
// "debug" | "info" | "warn" | "error"; false for anything else.
bool parse_level(std::string_view text, level& out);

// Where finished lines go (default: stderr, one write per line). Tests
// capture lines here; pass nullptr to restore stderr.
void set_sink(std::function<void(std::string_view line)> sink);

// Builds one line and writes it when it goes out of scope:
//   log::warn("tls_handshake_failed").kv("listener", "sync").kv("remote", r);
class line {
public:
  line(level l, std::string_view event);
  ~line();
  line(const line&) = delete;
  line& operator=(const line&) = delete;

  line& kv(std::string_view key, std::string_view value);
  line& kv(std::string_view key, const char* value) { return kv(key, std::string_view(value)); }
  line& kv(std::string_view key, const std::string& value) { return kv(key, std::string_view(value)); }
  line& kv(std::string_view key, long long value);
  line& kv(std::string_view key, unsigned long long value);
  line& kv(std::string_view key, int value) { return kv(key, static_cast<long long>(value)); }
  line& kv(std::string_view key, long value) { return kv(key, static_cast<long long>(value)); }
  line& kv(std::string_view key, unsigned value) { return kv(key, static_cast<unsigned long long>(value)); }
  line& kv(std::string_view key, unsigned long value) { return kv(key, static_cast<unsigned long long>(value)); }
  line& kv(std::string_view key, bool value) { return kv(key, std::string_view(value ? "true" : "false")); }

private:
  bool on_;
  std::string text_;
};

inline line debug(std::string_view event) { return line(level::debug, event); }
inline line info(std::string_view event) { return line(level::info, event); }
inline line warn(std::string_view event) { return line(level::warn, event); }
inline line error(std::string_view event) { return line(level::error, event); }

// A logfmt value: as is when safe, else quoted with \" \\ \n \t \xHH escapes.
std::string quote(std::string_view value);

// "2026-11-27T18:00:00.123Z" for now.
std::string timestamp_now();

}  // namespace node::net::log
