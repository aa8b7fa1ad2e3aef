#include "node/net/log.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace node::net::log {
namespace {

std::atomic<int> min_level{static_cast<int>(level::info)};
std::mutex sink_mu;
std::function<void(std::string_view)> custom_sink;

const char* level_name(level l) {
  switch (l) {
    case level::debug: return "debug";
    case level::info: return "info";
    case level::warn: return "warn";
    case level::error: return "error";
  }
  return "info";
}

// One write(2) per line: lines from several threads do not interleave.
void write_stderr(std::string_view s) {
  while (!s.empty()) {
    ssize_t n = ::write(2, s.data(), s.size());
    if (n <= 0) return;  // nowhere left to complain to
    s.remove_prefix(static_cast<std::size_t>(n));
  }
}

bool needs_quotes(std::string_view v) {
  if (v.empty()) return true;
  for (char ch : v) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f || c == '"' || c == '=' || c == '\\') return true;
  }
  return false;
}

}  // namespace

void set_level(level l) { min_level.store(static_cast<int>(l)); }
bool enabled(level l) { return static_cast<int>(l) >= min_level.load(std::memory_order_relaxed); }

bool parse_level(std::string_view text, level& out) {
  for (level l : {level::debug, level::info, level::warn, level::error})
    if (text == level_name(l)) {
      out = l;
      return true;
    }
  return false;
}

void set_sink(std::function<void(std::string_view)> sink) {
  std::lock_guard lk(sink_mu);
  custom_sink = std::move(sink);
}

std::string quote(std::string_view v) {
  if (!needs_quotes(v)) return std::string(v);
  std::string out = "\"";
  for (char ch : v) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string timestamp_now() {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[96];  // sized for any int the compiler can imagine, not just real dates
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

line::line(level l, std::string_view event) : on_(enabled(l)) {
  if (!on_) return;
  text_.reserve(160);
  text_ += "ts=";
  text_ += timestamp_now();
  text_ += " level=";
  text_ += level_name(l);
  kv("event", event);
}

line::~line() {
  if (!on_) return;
  text_ += '\n';
  std::lock_guard lk(sink_mu);
  if (custom_sink)
    custom_sink(text_);
  else
    write_stderr(text_);
}

line& line::kv(std::string_view key, std::string_view value) {
  if (!on_) return *this;
  text_ += ' ';
  text_ += key;
  text_ += '=';
  text_ += quote(value);
  return *this;
}

line& line::kv(std::string_view key, long long value) { return kv(key, std::string_view(std::to_string(value))); }

line& line::kv(std::string_view key, unsigned long long value) {
  return kv(key, std::string_view(std::to_string(value)));
}

}  // namespace node::net::log
