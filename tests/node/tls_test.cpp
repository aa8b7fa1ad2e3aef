#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include <ctime>
#include <functional>
#include <thread>

#include "node/net/tls_stream.hpp"
#include "node/pki/x509_identity.hpp"
#include "tls_fixture.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;
using node::net::tls_context;
using node::net::tls_side;
using node::net::tls_stream;

namespace {

struct outcome {
  beast::error_code server_ec, client_ec;
  std::string server_got;
  std::string peer_node_id, peer_role, peer_jurisdiction;
};

// One loopback connection: the server handshakes and reads 5 bytes, the
// client handshakes and writes "hello". Bounded by a 5 s timer.
outcome talk(std::shared_ptr<tls_context> srv_ctx, std::shared_ptr<tls_context> cli_ctx) {
  asio::io_context ioc;
  tcp::acceptor acc(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  outcome o;
  auto server = std::make_shared<tls_stream<beast::tcp_stream>>(srv_ctx, ioc);
  auto client = std::make_shared<tls_stream<beast::tcp_stream>>(cli_ctx, ioc);
  auto buf = std::make_shared<std::string>(5, '\0');
  acc.async_accept(server->next_layer().socket(), [&, server, buf](beast::error_code ec) {
    if (ec) { o.server_ec = ec; return; }
    server->async_handshake([&, server, buf](beast::error_code ec, std::size_t) {
      if (ec) { o.server_ec = ec; return; }
      if (auto* peer = mbedtls_ssl_get_peer_cert(&server->native())) {
        auto id = node::pki::identity_of(*peer);
        o.peer_node_id = id.node_id;
        o.peer_role = id.role;
        o.peer_jurisdiction = id.jurisdiction;
      }
      asio::async_read(*server, asio::buffer(*buf), [&, server, buf](beast::error_code ec, std::size_t) {
        o.server_ec = ec;
        o.server_got = *buf;
      });
    });
  });
  client->next_layer().async_connect(acc.local_endpoint(), [&, client](beast::error_code ec) {
    if (ec) { o.client_ec = ec; return; }
    client->async_handshake([&, client](beast::error_code ec, std::size_t) {
      if (ec) { o.client_ec = ec; return; }
      asio::async_write(*client, asio::buffer(std::string("hello")),
                        [&, client](beast::error_code ec, std::size_t) { o.client_ec = ec; });
    });
  });
  server->next_layer().expires_after(std::chrono::seconds(5));
  client->next_layer().expires_after(std::chrono::seconds(5));
  ioc.run_for(std::chrono::seconds(10));
  return o;
}

}  // namespace

TEST_CASE("tls: mutual handshake over loopback — the server sees who the client is") {
  test::pki_fixture pki;
  auto srv = tls_context::make(tls_side::server, pki.issue("js.province", "provincial", "320000"));
  auto cli = tls_context::make(tls_side::client, pki.issue("js.nanjing", "local", "320100"));
  auto o = talk(srv, cli);
  CHECK_FALSE(o.server_ec);
  CHECK_FALSE(o.client_ec);
  CHECK(o.server_got == "hello");
  CHECK(o.peer_node_id == "js.nanjing");
  CHECK(o.peer_role == "local");
  CHECK(o.peer_jurisdiction == "320100");
}

TEST_CASE("tls: refusals — no client certificate, another CA") {
  test::pki_fixture pki;
  auto srv = tls_context::make(tls_side::server, pki.issue("js.province", "provincial", "320000"));
  SUBCASE("client without a certificate") {
    auto files = pki.issue("js.nanjing", "local", "320100");
    files.cert.clear();
    files.key.clear();
    auto o = talk(srv, tls_context::make(tls_side::client, files));
    CHECK(o.server_ec);
    CHECK(o.server_got != "hello");
  }
  SUBCASE("client certificate from another CA") {
    std::string other = pki.dir / "other-ca";
    node::pki::ca_init(other, "Other CA");
    auto files = pki.issue("js.rogue", "local", "320100", 30, other);
    files.ca = pki.ca_dir + "/ca.pem";  // it trusts our server, we must not trust it
    auto o = talk(srv, tls_context::make(tls_side::client, files));
    REQUIRE(o.server_ec);
    CHECK(o.server_ec.category().name() == std::string("mbedtls"));
    CHECK(o.server_got != "hello");
  }
}

TEST_CASE("tls: expired and not-yet-valid client certificates are refused") {
  test::pki_fixture pki;
  auto srv = tls_context::make(tls_side::server, pki.issue("js.province", "provincial", "320000"));
  auto now = static_cast<std::int64_t>(std::time(nullptr));
  SUBCASE("expired yesterday") {
    auto o = talk(srv, tls_context::make(tls_side::client,
                                         pki.issue("js.old", "local", "320100", 1, "", now - 2 * 86400)));
    REQUIRE(o.server_ec);
    CHECK(o.server_ec.message().find("verif") != std::string::npos);
    CHECK(o.server_got != "hello");
  }
  SUBCASE("valid from tomorrow") {
    auto o = talk(srv, tls_context::make(tls_side::client,
                                         pki.issue("js.new", "local", "320100", 30, "", now + 86400)));
    REQUIRE(o.server_ec);
    CHECK(o.server_got != "hello");
  }
}

TEST_CASE("tls: a revoked client certificate is refused in the handshake, another from the same CA is not") {
  test::pki_fixture pki;
  auto srv = tls_context::make(tls_side::server, pki.issue("js.province", "provincial", "320000"));
  auto bad = pki.issue("js.nanjing", "local", "320100");
  auto bad_serial = node::pki::read_identity_pem(bad.cert).serial_hex;
  std::vector<std::string> asked;
  srv->refuse_serials([&](const std::string& serial) {
    asked.push_back(serial);
    return serial == bad_serial;
  });
  auto refused = talk(srv, tls_context::make(tls_side::client, bad));
  REQUIRE(refused.server_ec);
  CHECK(refused.server_got != "hello");
  CHECK(asked == std::vector<std::string>{bad_serial});
  auto fine = talk(srv, tls_context::make(tls_side::client, pki.issue("js.suzhou", "local", "320500")));
  CHECK_FALSE(fine.server_ec);
  CHECK(fine.server_got == "hello");
}

TEST_CASE("tls: a client that offers at most TLS 1.1 is refused") {
  test::pki_fixture pki;
  auto srv = tls_context::make(tls_side::server, pki.issue("js.province", "provincial", "320000"));
  auto cli = tls_context::make(tls_side::client, pki.issue("js.legacy", "local", "320100"));
  auto& conf = cli->internals().conf;
  mbedtls_ssl_conf_min_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_1);
  mbedtls_ssl_conf_max_version(&conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_2);
  auto o = talk(srv, cli);
  REQUIRE(o.server_ec);
  CAPTURE(o.server_ec.message());
  CHECK(o.server_ec.category().name() == std::string("mbedtls"));
#if MBEDTLS_VERSION_MAJOR < 3
  CHECK(o.server_ec.value() == MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION);
#endif
  CHECK(o.server_got != "hello");
}

TEST_CASE("tls: a key that does not belong to the certificate is refused at start") {
  test::pki_fixture pki;
  auto a = pki.issue("a.node", "local", "320100");
  auto b = pki.issue("b.node", "local", "320100");
  a.key = b.key;
  CHECK_THROWS_WITH(tls_context::make(tls_side::server, a), doctest::Contains("does not belong"));
}

TEST_CASE("tls: a failure injected at every step of handshake, write and read") {
  test::pki_fixture pki;
  auto srv = tls_context::make(tls_side::server, pki.issue("s.node", "provincial", "320000"));
  auto cli = tls_context::make(tls_side::client, pki.issue("c.node", "local", "320100"));
  bool succeeded = false;
  for (std::size_t n = 0; n < 64 && !succeeded; ++n) {
    CAPTURE(n);
    asio::io_context ioc;
    beast::test::fail_count fc(n);
    tls_stream<beast::test::stream> server(srv, ioc, fc);
    tls_stream<beast::test::stream> client(cli, ioc);
    client.next_layer().connect(server.next_layer());
    beast::error_code sec, cec, rec;
    std::string got(4, '\0');
    bool server_done = false, client_done = false;
    server.async_handshake([&](beast::error_code ec, std::size_t) {
      sec = ec;
      if (ec) { server.next_layer().close(); server_done = true; return; }
      asio::async_read(server, asio::buffer(got), [&](beast::error_code ec, std::size_t) {
        rec = ec;
        server_done = true;
      });
    });
    client.async_handshake([&](beast::error_code ec, std::size_t) {
      cec = ec;
      if (ec) { client.next_layer().close(); client_done = true; return; }
      asio::async_write(client, asio::buffer(std::string("ping")), [&](beast::error_code ec, std::size_t) {
        cec = ec;
        client_done = true;
      });
    });
    ioc.run_for(std::chrono::seconds(5));
    // Every run ends: either an error surfaced or the data arrived whole.
    CHECK(server_done);
    if (!sec && !rec) {
      CHECK(got == "ping");
      succeeded = true;
    } else {
      CHECK(((sec || rec) && got != "ping"));
    }
  }
  CHECK(succeeded);  // with enough steps allowed, the exchange completes
}

TEST_CASE("tls: two reads at once on one stream fail rather than share the socket, and the stream stays failed") {
  test::pki_fixture pki;
  auto srv_ctx = tls_context::make(tls_side::server, pki.issue("js.province", "provincial", "320000"));
  auto cli_ctx = tls_context::make(tls_side::client, pki.issue("js.nanjing", "local", "320100"));
  asio::io_context ioc;
  tcp::acceptor acc(ioc, {asio::ip::make_address("127.0.0.1"), 0});
  tls_stream<beast::tcp_stream> server(srv_ctx, ioc), client(cli_ctx, ioc);
  beast::error_code first = asio::error::would_block, second = asio::error::would_block, later = asio::error::would_block;
  char a[8], b[8];
  acc.async_accept(server.next_layer().socket(), [&](beast::error_code ec) {
    REQUIRE_FALSE(ec);
    server.async_handshake([&](beast::error_code ec, std::size_t) {
      REQUIRE_FALSE(ec);
      // Nothing has been sent: both would have to read from the socket.
      server.async_read_some(asio::buffer(a), [&](beast::error_code ec, std::size_t) {
        first = ec;
        server.async_write_some(asio::buffer("x", 1), [&](beast::error_code ec, std::size_t) { later = ec; });
      });
      server.async_read_some(asio::buffer(b), [&](beast::error_code ec, std::size_t) { second = ec; });
    });
  });
  client.next_layer().async_connect(acc.local_endpoint(), [&](beast::error_code ec) {
    REQUIRE_FALSE(ec);
    client.async_handshake([&](beast::error_code ec, std::size_t) {
      REQUIRE_FALSE(ec);
      asio::async_write(client, asio::buffer(std::string("hello")), [](beast::error_code, std::size_t) {});
    });
  });
  server.next_layer().expires_after(std::chrono::seconds(5));
  client.next_layer().expires_after(std::chrono::seconds(5));
  ioc.run_for(std::chrono::seconds(10));
  CHECK(second == asio::error::in_progress);
  CHECK(first == asio::error::in_progress);  // its data came, but the stream had failed
  CHECK(later == asio::error::in_progress);
}

// Sync batches are megabytes: one write call encrypts several records and
// one read decrypts every record already received, and a close_notify that
// came in the same socket read as the last records loses none of them.
TEST_CASE("tls: a megabyte goes several records per call each way, arrives whole, and the close after it is seen") {
  test::pki_fixture pki;
  auto srv = tls_context::make(tls_side::server, pki.issue("s.node", "provincial", "320000"));
  auto cli = tls_context::make(tls_side::client, pki.issue("c.node", "local", "320100"));
  asio::io_context ioc;
  tls_stream<beast::test::stream> server(srv, ioc), client(cli, ioc);
  client.next_layer().connect(server.next_layer());
  std::string sent((1u << 20) + 7, '\0');
  for (std::size_t i = 0; i < sent.size(); ++i) sent[i] = static_cast<char>((i * 2654435761u) >> 13);
  std::string got, buf(256 * 1024, '\0');
  std::size_t first_write = 0, largest_read = 0;
  beast::error_code write_ec = asio::error::would_block, read_ec = asio::error::would_block;
  std::function<void()> read_on = [&] {
    server.async_read_some(asio::buffer(buf), [&](beast::error_code ec, std::size_t n) {
      got.append(buf.data(), n);
      largest_read = std::max(largest_read, n);
      if (ec) { read_ec = ec; return; }
      read_on();
    });
  };
  server.async_handshake([](beast::error_code ec, std::size_t) { REQUIRE_FALSE(ec); });
  client.async_handshake([&](beast::error_code ec, std::size_t) {
    REQUIRE_FALSE(ec);
    client.async_write_some(asio::buffer(sent), [&](beast::error_code ec, std::size_t n) {
      REQUIRE_FALSE(ec);
      first_write = n;
      asio::async_write(client, asio::buffer(sent.data() + n, sent.size() - n), [&](beast::error_code ec, std::size_t) {
        write_ec = ec;
        // Everything and the close wait in the server's buffer: its reads
        // find many whole records at once.
        client.async_shutdown([&](beast::error_code, std::size_t) { read_on(); });
      });
    });
  });
  ioc.run_for(std::chrono::seconds(10));
  CHECK_FALSE(write_ec);
  CHECK(first_write == node::net::tls_write_max);
  CHECK(largest_read > node::net::tls_record_max);
  CHECK(read_ec == asio::error::eof);
  CHECK(got.size() == sent.size());
  CHECK(got == sent);
}
