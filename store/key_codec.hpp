// The one key codec: fixed-width big-endian integers and length-prefixed
// strings, so that LMDB's default byte order is the logical order and a
// prefix of components is a prefix of bytes (knot_lmdb.h does the same).
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace store {

class codec_error : public std::runtime_error {
public:
  using std::runtime_error::runtime_error;
};

class key_writer {
public:
  key_writer& u8(std::uint8_t v);
  key_writer& u64(std::uint64_t v);
  key_writer& i64(std::int64_t v) { return u64(static_cast<std::uint64_t>(v)); }
  key_writer& str8(std::string_view s);    // key strings: at most 255 bytes
  key_writer& str16(std::string_view s);   // value strings: at most 65535 bytes
  key_writer& blob32(std::string_view s);  // large value payloads
  key_writer& raw(std::string_view s);     // no length: last component only

  const std::string& bytes() const { return buf_; }
  std::string take() { return std::move(buf_); }
  void clear() { buf_.clear(); }
  void reserve(std::size_t n) { buf_.reserve(n); }

private:
  std::string buf_;
};

// Reads what key_writer wrote, in the same order; throws codec_error on a
// short or malformed buffer (corruption is never silently misread).
class key_reader {
public:
  explicit key_reader(std::string_view b) : b_(b) {}
  std::uint8_t u8();
  std::uint64_t u64();
  std::int64_t i64() { return static_cast<std::int64_t>(u64()); }
  std::string_view str8();
  std::string_view str16();
  std::string_view blob32();
  std::string_view rest() { auto r = b_.substr(pos_); pos_ = b_.size(); return r; }
  bool done() const { return pos_ == b_.size(); }

private:
  std::string_view take(std::size_t n);
  std::string_view b_;
  std::size_t pos_ = 0;
};

std::string be64(std::uint64_t v);
std::uint64_t read_be64(std::string_view b);

}  // namespace store
