// Private to node/net: the mbedTLS objects behind a tls_context.
#pragma once

#include <mbedtls/ssl.h>

#include <functional>
#include <mutex>

#include "node/net/tls_context.hpp"
#include "node/pki/mbed.hpp"

namespace node::net {

struct tls_context::impl {
  mbedtls_ssl_config conf;
  pki::mbed::crt ca, own;
  pki::mbed::pk key;
  pki::mbed::rng rng;
  std::mutex rng_mu;  // CTR_DRBG is not thread-safe; handshakes may be
  std::function<bool(const std::string&)> revoked;

  impl() { mbedtls_ssl_config_init(&conf); }
  ~impl() { mbedtls_ssl_config_free(&conf); }
  static int locked_rng(void* self, unsigned char* out, std::size_t len);
};

}  // namespace node::net
