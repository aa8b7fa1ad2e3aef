// An Asio/Beast stream over mbedTLS (Asio's own ssl::stream is OpenSSL
// only). mbedTLS talks to memory buffers (its BIO callbacks never block);
// one engine operation, shared by handshake, read, write and shutdown,
// moves those buffers to and from the next layer:
//   call mbedTLS → flush what it wrote → if it wants input, read → repeat.
// Output is always flushed before reading, or a handshake would wait for a
// reply to a ClientHello never sent (TOOLCHAIN.md).
//
// One read and one write may be outstanding at the same time (a client
// writing its next request while it reads the last answer). A read's own
// output (only ever an alert, after the handshake) goes to its own buffer.
// Two writes never share the socket, nor two reads (TLS 1.3 could make a
// write read): the operation that would fails instead, and so does every
// later one on the stream (its buffers may hold half a record by then;
// the connection is lost anyway).
// Handshake and shutdown run alone. Timeouts come from the next layer
// (beast::tcp_stream::expires_after).
#pragma once

#include <mbedtls/ssl.h>

#include <boost/asio/compose.hpp>
#include <boost/asio/coroutine.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <algorithm>
#include <cstring>
#include <memory>
#include <string>

#include "node/net/http_tls.hpp"
#include "node/net/tls_context.hpp"
#include "node/net/tls_context_impl.hpp"
#include "node/net/tls_error.hpp"

namespace node::net {

namespace asio = boost::asio;
namespace beast = boost::beast;

// The largest plaintext record.
inline constexpr std::size_t tls_record_max = 16384;
// One write operation encrypts up to this much (eight records) and hands
// the next layer all of it at once: a sync batch of megabytes costs one
// operation and one system call per 128 KiB, not per 16 KiB record.
inline constexpr std::size_t tls_write_max = 8 * tls_record_max;
// Socket reads start at one record and double while they come back full,
// up to this: a connection carrying megabytes reads many records per
// system call; one carrying small requests keeps a small buffer.
inline constexpr std::size_t tls_read_first = tls_record_max + 2048;
inline constexpr std::size_t tls_read_max = 256 * 1024;
// Beast reads a message body in steps of its buffer's free space (at least
// 512 bytes), and after a header that is about what the header needed: a
// 4 MiB sync batch took 8,000 reads, each a trip through the event loop.
// A buffer about to take a large body is grown to this first.
inline constexpr std::size_t body_read_step = 64 * 1024;
// What Beast's read buffer may hold: a header, a read step and what came
// with it. Beast bounds the header and the body's data, not a chunk's size
// line or the trailer after the last chunk: without this a client (before
// any login) could grow a connection's buffer until its read timeout,
// ~150 MB a second.
inline constexpr std::size_t read_buffer_max = 1 << 20;

// Everything mbedTLS points into lives here, on the heap, so the stream
// itself may move.
struct tls_state {
  mbedtls_ssl_context ssl;
  beast::flat_buffer in;         // ciphertext received, not yet given to mbedTLS
  std::string out;               // ciphertext mbedTLS produced, not yet sent
  std::string out_read;          // the same, produced while reading
  std::string* sink = &out;      // where mbedTLS's output goes now
  bool writing = false;          // an operation is writing to the next layer
  bool reading = false;          // an operation is reading from it
  bool collided = false;         // two operations needed the same direction: the stream is done
  std::string plain;             // one coalesced write, stable across retries
  std::size_t read_size = tls_read_first;  // the next socket read's size
  int read_rc = 0;               // an error met after a read had data: the next read's result
  int write_rc = 0;              // the same for writes
  std::shared_ptr<tls_context> ctx;
  peer_seen seen;                // whom the peer's certificate names, even when refused

  explicit tls_state(std::shared_ptr<tls_context> c) : ctx(std::move(c)) {
    mbedtls_ssl_init(&ssl);
    int rc = mbedtls_ssl_setup(&ssl, &ctx->internals().conf);
    if (rc != 0) throw boost::system::system_error(make_tls_error(rc), "TLS setup");
    mbedtls_ssl_set_bio(&ssl, this, &bio_send, &bio_recv, nullptr);
    seen.install(ssl, ctx->internals().conf);
  }
  ~tls_state() { mbedtls_ssl_free(&ssl); }
  tls_state(const tls_state&) = delete;
  tls_state& operator=(const tls_state&) = delete;

  static int bio_send(void* self, const unsigned char* p, std::size_t n) {
    static_cast<tls_state*>(self)->sink->append(reinterpret_cast<const char*>(p), n);
    return static_cast<int>(n);
  }
  static int bio_recv(void* self, unsigned char* p, std::size_t n) {
    auto& in = static_cast<tls_state*>(self)->in;
    if (in.size() == 0) return MBEDTLS_ERR_SSL_WANT_READ;
    n = std::min(n, in.size());
    std::memcpy(p, in.data().data(), n);
    in.consume(n);
    return static_cast<int>(n);
  }
};

enum class tls_op { handshake, read, write, shutdown, alert };

template <class NextLayer>
class tls_stream {
public:
  using executor_type = typename NextLayer::executor_type;
  using next_layer_type = NextLayer;

  template <class... Args>
  explicit tls_stream(std::shared_ptr<tls_context> ctx, Args&&... args)
      : state_(std::make_unique<tls_state>(std::move(ctx))), next_(std::forward<Args>(args)...) {}

  executor_type get_executor() noexcept { return next_.get_executor(); }
  NextLayer& next_layer() noexcept { return next_; }
  const NextLayer& next_layer() const noexcept { return next_; }
  mbedtls_ssl_context& native() noexcept { return state_->ssl; }

  // Gives back what a large message grew (a connection that carried a sync
  // batch would otherwise keep ~0.5 MB for as long as it stays open) once
  // nothing is buffered or moving. Costs two comparisons when small.
  void release_buffers() {
    auto& s = *state_;
    if (s.reading || s.writing) return;
    if (s.in.size() == 0 && s.in.capacity() > tls_read_first) s.in.shrink_to_fit();
    s.read_size = tls_read_first;
    for (std::string* b : {&s.out, &s.out_read, &s.plain})
      if (b->capacity() > 2 * tls_record_max && (b->empty() || b == &s.plain)) std::string().swap(*b);
  }

  template <class Token>
  auto async_handshake(Token&& token) {
    return run(tls_op::handshake, nullptr, 0, std::forward<Token>(token));
  }

  template <class MutableBuffers, class Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    asio::mutable_buffer b;
    for (auto it = asio::buffer_sequence_begin(buffers); it != asio::buffer_sequence_end(buffers); ++it)
      if (asio::mutable_buffer(*it).size() > 0) { b = *it; break; }
    return run(tls_op::read, static_cast<unsigned char*>(b.data()), b.size(), std::forward<Token>(token));
  }

  template <class ConstBuffers, class Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    // Coalesce the sequence (an HTTP header and body, say): small messages
    // go as one record, large ones up to eight at a time.
    auto& plain = state_->plain;
    plain.resize(std::min(asio::buffer_size(buffers), tls_write_max));
    asio::buffer_copy(asio::buffer(plain), buffers);
    return run(tls_op::write, reinterpret_cast<unsigned char*>(plain.data()), plain.size(),
               std::forward<Token>(token));
  }

  template <class Token>
  auto async_shutdown(Token&& token) {
    return run(tls_op::shutdown, nullptr, 0, std::forward<Token>(token));
  }

  // A fatal alert (MBEDTLS_SSL_ALERT_MSG_*): tells the peer why it is
  // refused after a handshake that mbedTLS itself let through.
  template <class Token>
  auto async_fatal_alert(unsigned char alert, Token&& token) {
    return run(tls_op::alert, nullptr, alert, std::forward<Token>(token));
  }

private:
  struct engine;

  template <class Token>
  auto run(tls_op op, unsigned char* p, std::size_t n, Token&& token) {
    return asio::async_compose<Token, void(beast::error_code, std::size_t)>(
        engine{*state_, next_, op, p, n}, token, next_);
  }

  std::unique_ptr<tls_state> state_;
  NextLayer next_;
};

template <class NextLayer>
struct tls_stream<NextLayer>::engine {
  tls_state& s;
  NextLayer& next;
  tls_op op;
  unsigned char* data;
  std::size_t size;
  int rc = 0;
  bool did_io = false;
  asio::coroutine co{};

  std::string& output() { return op == tls_op::read ? s.out_read : s.out; }

  int step() {
    s.sink = &output();
    switch (op) {
      case tls_op::handshake: return mbedtls_ssl_handshake(&s.ssl);
      case tls_op::read: return size ? read_records() : 0;
      case tls_op::write: return size ? write_records() : 0;
      case tls_op::shutdown: return mbedtls_ssl_close_notify(&s.ssl);
      case tls_op::alert:  // `size` carries the alert's code
        return mbedtls_ssl_send_alert_message(&s.ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL, static_cast<unsigned char>(size));
    }
    return 0;
  }

  // Decrypts every whole record already received, up to `size` bytes: one
  // operation per socket read rather than per record. An error after some
  // data waits for the next read, so no decrypted byte is lost to it.
  int read_records() {
    if (s.read_rc != 0) return s.read_rc;
    int rc = mbedtls_ssl_read(&s.ssl, data, size);
    if (rc <= 0) return rc;
    auto got = static_cast<std::size_t>(rc);
    while (got < size) {
      rc = mbedtls_ssl_read(&s.ssl, data + got, size - got);
      if (rc > 0) {
        got += static_cast<std::size_t>(rc);
        continue;
      }
      if (rc < 0 && rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) s.read_rc = rc;
      break;
    }
    return static_cast<int>(got);
  }

  // Encrypts all of `data` (at most tls_write_max), a record at a time;
  // the BIO never blocks, so mbedTLS takes every record.
  int write_records() {
    if (s.write_rc != 0) return s.write_rc;
    std::size_t done = 0;
    while (done < size) {
      int rc = mbedtls_ssl_write(&s.ssl, data + done, size - done);
      if (rc < 0 && done > 0 && rc != MBEDTLS_ERR_SSL_WANT_READ && rc != MBEDTLS_ERR_SSL_WANT_WRITE) s.write_rc = rc;
      if (rc <= 0) return done > 0 ? static_cast<int>(done) : rc;
      done += static_cast<std::size_t>(rc);
    }
    return static_cast<int>(done);
  }

  // The operation's own result from mbedTLS's return code.
  template <class Self>
  void finish(Self& self) {
    if (s.collided) return self.complete(asio::error::in_progress, 0);
    if (op == tls_op::read && (rc == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || (rc == 0 && size > 0)))
      return self.complete(asio::error::eof, 0);
    if (rc < 0) return self.complete(make_tls_error(rc), 0);
    std::size_t n = (op == tls_op::read || op == tls_op::write) ? static_cast<std::size_t>(rc) : 0;
    self.complete({}, n);
  }

  template <class Self>
  void operator()(Self& self, beast::error_code ec = {}, std::size_t n = 0) {
    BOOST_ASIO_CORO_REENTER(co) {
      for (;;) {
        if (s.collided) break;
        rc = step();
        if (!output().empty()) {
          if (s.writing) {
            s.collided = true;
            break;
          }
          did_io = s.writing = true;
          BOOST_ASIO_CORO_YIELD asio::async_write(next, asio::buffer(output()), std::move(self));
          s.writing = false;
          if (ec) return self.complete(ec, 0);
          output().clear();
        }
        if (rc == MBEDTLS_ERR_SSL_WANT_READ) {
          if (s.reading) {
            s.collided = true;
            break;
          }
          did_io = s.reading = true;
          BOOST_ASIO_CORO_YIELD next.async_read_some(s.in.prepare(s.read_size), std::move(self));
          s.reading = false;
          if (ec) return self.complete(ec, 0);
          s.in.commit(n);
          if (n == s.read_size) s.read_size = std::min(2 * s.read_size, tls_read_max);
          continue;
        }
        if (rc == MBEDTLS_ERR_SSL_WANT_WRITE) continue;  // its output went out above
        break;
      }
      if (!did_io) {  // never complete inside the initiating call
        BOOST_ASIO_CORO_YIELD asio::post(next.get_executor(), std::move(self));
      }
      finish(self);
    }
  }
};

}  // namespace node::net

