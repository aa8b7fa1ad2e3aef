// JSON Lines: one object per line,
//   {"subject": …, "record_id": …, "event_date": …, "source": …, "fields": {…}}
// Lines are read with a length limit; a longer line is an error for that
// line only. Blank lines are skipped.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "node/ingest/line_source.hpp"
#include "store/model/validate.hpp"

namespace node::ingest {

class jsonl_reader {
public:
  jsonl_reader(byte_source& src, std::size_t max_line_bytes);
  ~jsonl_reader();

  enum class status { ok, eof, error };
  // ok: row() holds the parsed row (views valid until the next call).
  // error: error() names the field (or "line") and the reason.
  status next();

  const store::model::raw_row& row() const { return row_; }
  const store::model::row_error& error() const { return error_; }
  std::uint64_t line() const { return line_no_; }
  std::string excerpt() const;

private:
  status read_line();
  status fail(std::string field, std::string why);
  status convert();

  byte_source& src_;
  std::size_t max_;
  std::string line_;
  std::uint64_t line_no_ = 0;
  store::model::raw_row row_;
  store::model::row_error error_;
  struct parsed;  // the Boost.JSON document and number spellings
  std::unique_ptr<parsed> doc_;
};

}  // namespace node::ingest
