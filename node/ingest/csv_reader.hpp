// RFC 4180 CSV, one record at a time: quoted fields may hold commas, quotes
// ("") and newlines; CRLF, LF or (old Mac) lone-CR line ends, as the header
// line ends; a UTF-8 BOM at the start is
// skipped. A record longer than the limit is an error for that record, not
// an allocation: the reader skips to the record's end and goes on.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "node/ingest/line_source.hpp"

namespace node::ingest {

class csv_reader {
public:
  csv_reader(byte_source& src, std::size_t max_record_bytes);

  enum class status { ok, eof, error };
  // Reads the next non-blank record. On ok, fields() holds it (views valid
  // until the next call). On error, error() says why and the reader has
  // already moved past the bad record.
  status next();

  const std::vector<std::string_view>& fields() const { return fields_; }
  const std::string& error() const { return error_; }
  std::uint64_t line() const { return record_line_; }  // first line of the record
  const std::string& excerpt();  // the record's first bytes, for quarantine

private:
  status parse_record();
  std::optional<status> quoted_field();
  std::optional<status> plain_field();
  bool scan_quoted();
  status too_long(bool in_quotes, const std::string& why = {});
  status fail(std::string why);
  status stray_cr();
  std::string span_of(std::uint64_t last) const;
  void skip_line();
  int take();  // next byte, counting lines and the record's size
  // Bytes the record may still grow by before it is one past the limit.
  std::size_t room() const { return record_bytes_ > max_ ? 0 : max_ + 1 - record_bytes_; }

  byte_source& src_;
  std::size_t max_;
  std::string arena_;
  std::vector<std::size_t> ends_;
  std::vector<std::string_view> fields_;
  std::string error_, excerpt_;
  std::uint64_t line_ = 1, record_line_ = 0;
  std::size_t record_bytes_ = 0;
  bool first_ = true;
  // How the header line ended: in a file of LF (or CRLF) lines a lone CR is
  // no line end but a stray byte (its row is refused, and later rows keep
  // their line numbers); in one of lone-CR lines (old Mac) it is the end.
  enum class line_end { unknown, lf, cr } style_ = line_end::unknown;
  bool cr_ends_line() const { return style_ != line_end::lf; }
};

}  // namespace node::ingest
