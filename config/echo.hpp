// Private to config/: how a message quotes a value the operator wrote.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace config {

// Echoes a value the operator wrote; control bytes are escaped so a message
// never breaks a terminal line.
inline std::string echo(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

}  // namespace config
