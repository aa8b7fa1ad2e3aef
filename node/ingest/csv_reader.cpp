#include "node/ingest/csv_reader.hpp"

namespace node::ingest {
namespace {
constexpr std::size_t excerpt_bytes = 120;
}

csv_reader::csv_reader(byte_source& src, std::size_t max_record_bytes)
    : src_(src), max_(max_record_bytes) {}

int csv_reader::take() {
  int c = src_.get();
  if (c < 0) return c;
  if (c == '\n') ++line_;
  ++record_bytes_;
  if (excerpt_.size() < excerpt_bytes && c != '\n' && c != '\r') excerpt_ += static_cast<char>(c);
  return c;
}

void csv_reader::skip_line() {
  for (int c = src_.get(); c >= 0; c = src_.get())
    if (c == '\n') { ++line_; return; }
}

csv_reader::status csv_reader::fail(std::string why) {
  error_ = std::move(why);
  return status::error;
}

csv_reader::status csv_reader::next() {
  if (first_) {  // Excel and friends start UTF-8 files with a BOM
    first_ = false;
    if (src_.peek() == 0xEF) {
      src_.get();
      if (src_.get() != 0xBB || src_.get() != 0xBF) {
        record_line_ = 1;
        skip_line();
        return fail("file starts with a broken byte-order mark (not UTF-8?)");
      }
    }
  }
  for (;;) {
    auto s = parse_record();
    if (s != status::ok) return s;
    // A blank line carries no data; skip it rather than call it a row.
    if (fields_.size() == 1 && fields_[0].empty()) continue;
    return s;
  }
}

csv_reader::status csv_reader::parse_record() {
  arena_.clear();
  ends_.clear();
  fields_.clear();
  excerpt_.clear();
  error_.clear();
  record_bytes_ = 0;
  record_line_ = line_;
  if (src_.peek() < 0) return status::eof;
  enum { start, plain, quoted, after_quote } st = start;
  int c = 0;
  for (;;) {
    if (record_bytes_ > max_) {
      if (c != '\n') skip_line();  // resume at the next line
      return fail("record is longer than " + std::to_string(max_) +
                  " bytes (limit [import] max_record_bytes); an unclosed quote can cause this");
    }
    c = take();
    if (st == quoted) {
      if (c < 0) return fail("quoted field is not closed before the end of the file");
      if (c == '"') {
        if (src_.peek() == '"') { take(); arena_ += '"'; }
        else st = after_quote;
      } else arena_ += static_cast<char>(c);
      continue;
    }
    if (c == '\r' && src_.peek() == '\n') c = take();
    if (c < 0 || c == '\n' || c == ',') {
      ends_.push_back(arena_.size());
      if (c == ',') { st = start; continue; }
      break;
    }
    if (st == after_quote) {
      skip_line();
      return fail("text after a closing quote (a quote inside a field must be doubled: \"\")");
    }
    if (c == '"' && st == start) { st = quoted; continue; }
    if (c == '"') {
      skip_line();
      return fail("quote inside an unquoted field (quote the whole field and double the quote)");
    }
    arena_ += static_cast<char>(c);
    st = plain;
  }
  std::size_t begin = 0;
  for (auto end : ends_) {
    fields_.emplace_back(arena_.data() + begin, end - begin);
    begin = end;
  }
  return status::ok;
}

}  // namespace node::ingest
