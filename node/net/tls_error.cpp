#include "node/net/tls_error.hpp"

#include <mbedtls/error.h>

#include <cstdio>
#include <string>

namespace node::net {
namespace {

class category final : public boost::system::error_category {
public:
  const char* name() const noexcept override { return "mbedtls"; }
  std::string message(int rc) const override {
    char buf[160];
    mbedtls_strerror(rc, buf, sizeof buf);
    char code[24];
    std::snprintf(code, sizeof code, " (-0x%04X)", static_cast<unsigned>(-rc));
    return std::string(buf) + code;
  }
};

}  // namespace

const boost::system::error_category& tls_category() {
  static const category c;
  return c;
}

}  // namespace node::net
