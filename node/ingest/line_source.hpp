// A file read in fixed-size chunks: memory stays bounded whatever the file's
// size, and the parsers above it see one byte at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace node::ingest {

class byte_source {
public:
  // Opens `path`; throws std::runtime_error naming the file and the reason.
  explicit byte_source(const std::string& path);
  ~byte_source();
  byte_source(const byte_source&) = delete;
  byte_source& operator=(const byte_source&) = delete;

  int get() {  // next byte, or -1 at end of file
    if (pos_ == len_ && !refill()) return -1;
    return static_cast<unsigned char>(buf_[pos_++]);
  }
  int peek() {
    if (pos_ == len_ && !refill()) return -1;
    return static_cast<unsigned char>(buf_[pos_]);
  }
  // The bytes buffered but not yet consumed (refilled when empty; empty at
  // end of file), for parsers that scan spans instead of single bytes.
  std::string_view window() {
    if (pos_ == len_ && !refill()) return {};
    return {buf_.get() + pos_, len_ - pos_};
  }
  void advance(std::size_t n) { pos_ += n; }
  std::uint64_t consumed() const { return base_ + pos_; }
  std::uint64_t size() const { return size_; }  // 0 when unknown (a pipe)

private:
  bool refill();
  int fd_ = -1;
  std::unique_ptr<char[]> buf_;
  std::size_t pos_ = 0, len_ = 0;
  std::uint64_t base_ = 0, size_ = 0;
  std::string path_;
};

}  // namespace node::ingest
