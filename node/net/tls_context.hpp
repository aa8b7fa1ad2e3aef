// A TLS configuration shared by every connection of one listener (or one
// client): our certificate and key, the CA that peers must chain to, the
// suites and versions we accept. No mbedTLS types here: tls_stream.hpp and
// the .cpp files of node/net see them through internals().
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace node::net {

struct tls_files {
  std::string ca, cert, key;  // PEM paths, as in [tls]
};

enum class tls_side { server, client };

// What a server asks of clients: the sync listener requires a certificate;
// the API accepts a certificate or, without one, a bearer token.
enum class peer_auth { required, optional };

class tls_context {
public:
  // Throws std::runtime_error naming the file and what to do when a
  // certificate, key or CA cannot be loaded.
  static std::shared_ptr<tls_context> make(tls_side side, const tls_files& files,
                                           peer_auth auth = peer_auth::required);
  ~tls_context();

  tls_side side() const { return side_; }

  // A server refuses, in the handshake, a peer certificate whose serial
  // (lower-case hex) `revoked` names: the revocation list, consulted on
  // every handshake. Set before the listener starts.
  void refuse_serials(std::function<bool(const std::string& serial_hex)> revoked);

  struct impl;
  impl& internals() { return *impl_; }

private:
  tls_context() = default;
  tls_side side_ = tls_side::server;
  std::unique_ptr<impl> impl_;
};

}  // namespace node::net
