// The benchmarks' "--name value" options.
#pragma once

#include <cstring>
#include <string>

namespace bench {

inline std::string arg(int argc, char** argv, const char* name, std::string dflt) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], name) == 0) return argv[i + 1];
  return dflt;
}

}  // namespace bench
