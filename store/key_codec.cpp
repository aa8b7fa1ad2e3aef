#include "store/key_codec.hpp"

namespace store {
namespace {

void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

std::uint64_t get_be(std::string_view b, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(b[i]);
  return v;
}

}  // namespace

std::string be64(std::uint64_t v) {
  std::string s;
  put_be(s, v, 8);
  return s;
}

std::uint64_t read_be64(std::string_view b) {
  if (b.size() < 8) throw codec_error("8-byte integer expected, got " + std::to_string(b.size()));
  return get_be(b, 8);
}

key_writer& key_writer::u8(std::uint8_t v) { buf_ += static_cast<char>(v); return *this; }
key_writer& key_writer::u64(std::uint64_t v) { put_be(buf_, v, 8); return *this; }

key_writer& key_writer::str8(std::string_view s) {
  if (s.size() > 0xff) throw codec_error("key component longer than 255 bytes");
  put_be(buf_, s.size(), 1);
  buf_ += s;
  return *this;
}

key_writer& key_writer::str16(std::string_view s) {
  if (s.size() > 0xffff) throw codec_error("value string longer than 65535 bytes");
  put_be(buf_, s.size(), 2);
  buf_ += s;
  return *this;
}

key_writer& key_writer::blob32(std::string_view s) {
  if (s.size() > 0xffffffffu) throw codec_error("value blob larger than 4 GiB");
  put_be(buf_, s.size(), 4);
  buf_ += s;
  return *this;
}

key_writer& key_writer::raw(std::string_view s) { buf_ += s; return *this; }

std::string_view key_reader::take(std::size_t n) {
  if (b_.size() - pos_ < n)
    throw codec_error("truncated value: wanted " + std::to_string(n) + " bytes at offset " +
                      std::to_string(pos_) + " of " + std::to_string(b_.size()));
  auto r = b_.substr(pos_, n);
  pos_ += n;
  return r;
}

std::uint8_t key_reader::u8() { return static_cast<std::uint8_t>(take(1)[0]); }
std::uint64_t key_reader::u64() { return get_be(take(8), 8); }
std::string_view key_reader::str8() { return take(get_be(take(1), 1)); }
std::string_view key_reader::str16() { return take(get_be(take(2), 2)); }
std::string_view key_reader::blob32() { return take(get_be(take(4), 4)); }

}  // namespace store
