// `import`: a CSV or JSON Lines file → validated rows → the one writer.
// Parsing runs on the calling thread while the writer commits the previous
// batch, so both cores work; at most two batches are in flight, which keeps
// memory bounded for a file of any size.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "store/environment.hpp"
#include "store/model/uscc.hpp"
#include "store/writer.hpp"

namespace node::ingest {

enum class file_format { automatic, csv, jsonl };

struct import_options {
  std::string path;
  std::string category;
  std::string origin;  // this node's id: the owner of what it imports
  // This node's: a row about a subject registered outside it is refused
  // (its parent would refuse it as a violation). The default is the whole
  // country, as at the national node.
  std::string jurisdiction = "100000";
  file_format format = file_format::automatic;
  std::size_t max_record_bytes = 1 << 20;
  std::size_t batch_rows = 100000;
  const store::model::uscc_policy* codes = nullptr;
  // Called for each bad row as it is found (printing is the caller's).
  std::function<void(const store::quarantine_entry&)> on_bad;
  // Called now and then with bytes read so far (progress display).
  std::function<void(std::uint64_t rows, std::uint64_t bytes, std::uint64_t total)> on_progress;
};

struct import_report {
  std::uint64_t rows = 0;  // data rows read
  std::uint64_t inserted = 0, updated = 0, unchanged = 0, quarantined = 0;
  std::string fatal;       // why the file could not be read at all
  int exit_code() const { return !fatal.empty() ? 2 : quarantined ? 1 : 0; }
};

// Never throws for bad input: a file that cannot be read is `fatal`, bad
// rows are quarantined. Store failures (disk full) propagate as store_error.
import_report run_import(store::environment& env, const import_options& opt);

}  // namespace node::ingest
