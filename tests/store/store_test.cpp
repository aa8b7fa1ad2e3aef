#include <doctest/doctest.h>
#include <sys/stat.h>

#include <cstdio>
#include <future>

#include "store/environment.hpp"
#include "store/key_codec.hpp"
#include "store/record_codec.hpp"
#include "store/reader.hpp"
#include "store/writer.hpp"
#include "test_util.hpp"

using namespace store;

namespace {

import_row tax_row(std::string subject, std::string id, std::string amount) {
  return {"tax", std::move(subject), std::move(id), "2026-10-15", "tax bureau",
          R"({"period":"2026-09","tax_type":"VAT","amount_paid":")" + amount + "\"}", 1, {}};
}

batch_result write(environment& env, std::vector<import_row> rows, std::string origin = "js.nanjing") {
  writer w(env);
  write_batch b;
  b.origin = std::move(origin);
  b.rows = std::move(rows);
  return w.submit(std::move(b)).get();
}

const std::string A = "91350200776049653A";
const std::string B = "91440101MA5CJQ4N59";

}  // namespace

TEST_CASE("store: write, read, reopen, read again") {
  test::temp_dir d;
  std::string instance;
  {
    auto env = environment::open({d / "data"});
    instance = env->instance_id();
    CHECK(instance.size() == 32);
    CHECK(env->schema_version() == builtin_migrations().size() + 1);
    auto r = write(*env, {tax_row(A, "2026-09-VAT", "100.00"), tax_row(B, "2026-09-VAT", "5.00")});
    CHECK(r.inserted == 2);
    CHECK(r.last_seq == 2);
    reader rd(*env);
    auto rec = rd.get("tax", A, "2026-09-VAT");
    REQUIRE(rec);
    CHECK(rec->version == 1);
    CHECK(rec->origin == "js.nanjing");
    CHECK(rec->fields_json.find("100.00") != std::string::npos);
  }
  struct stat st{};
  REQUIRE(::stat((d / "data").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);
  auto env = environment::open({d / "data"});
  CHECK(env->instance_id() == instance);  // the id belongs to the store, not the process
  reader rd(*env);
  auto rec = rd.get("tax", B, "2026-09-VAT");
  REQUIRE(rec);
  CHECK(rec->fields_json.find("5.00") != std::string::npos);
  auto st2 = rd.stats();
  CHECK(st2.total == 2);
  CHECK(st2.by_category["tax"] == 2);
  CHECK(st2.last_seq == 2);
  CHECK_FALSE(rd.get("tax", A, "missing"));
}

TEST_CASE("store: same content changes nothing — new content is version 2 with history") {
  test::temp_dir d;
  auto env = environment::open({d / "data"});
  write(*env, {tax_row(A, "r1", "100.00")});
  auto again = write(*env, {tax_row(A, "r1", "100.00")});
  CHECK(again.unchanged == 1);
  CHECK(again.inserted == 0);
  CHECK(again.last_seq == 1);  // nothing logged
  auto changed = write(*env, {tax_row(A, "r1", "120.00")});
  CHECK(changed.updated == 1);
  reader rd(*env);
  auto rec = rd.get("tax", A, "r1");
  REQUIRE(rec);
  CHECK(rec->version == 2);
  CHECK(rec->fields_json.find("120.00") != std::string::npos);
  auto hist = rd.history("tax", A, "r1");
  REQUIRE(hist.size() == 1);
  CHECK(hist[0].version == 1);
  CHECK(hist[0].fields_json.find("100.00") != std::string::npos);
  CHECK(rd.stats().total == 1);
  CHECK(rd.stats().last_seq == 2);
}

TEST_CASE("store: a record owned by another node is refused and quarantined") {
  test::temp_dir d;
  auto env = environment::open({d / "data"});
  write(*env, {tax_row(A, "r1", "100.00")}, "js.suzhou");
  auto r = write(*env, {tax_row(A, "r1", "999.00")}, "js.nanjing");
  CHECK(r.updated == 0);
  REQUIRE(r.rejected.size() == 1);
  CHECK(r.rejected[0].reason.find("js.suzhou") != std::string::npos);
  reader rd(*env);
  CHECK(rd.get("tax", A, "r1")->fields_json.find("100.00") != std::string::npos);
  CHECK(rd.stats().quarantined == 1);
  std::string q;
  rd.for_each_quarantine([&](std::uint64_t, std::string_view j) { q = j; return true; });
  CHECK(q.find("\"reason\":\"record is owned by node 'js.suzhou'") != std::string::npos);
}

// An API write (owner_only) is refused in the commit itself, so a record
// that came down the tree after the handler looked is refused too; the
// batches committed beside it in the same group are not.
TEST_CASE("store: an owner_only batch naming another node's record fails whole, and its group's others commit") {
  test::temp_dir d;
  auto env = environment::open({d / "data"});
  write(*env, {tax_row(A, "r1", "100.00")}, "js.suzhou");
  auto before = reader(*env).stats();
  writer w(*env);
  std::promise<void> open;
  auto gate = open.get_future().share();
  w.submit_then({}, [gate](settled_batch) { gate.wait(); });  // holds the writer: the next two make one group
  write_batch api;
  api.origin = "js.nanjing";
  api.owner_only = true;
  api.rows = {tax_row(B, "r2", "5.00"), tax_row(A, "r1", "999.00")};
  auto refused = w.submit(std::move(api));
  write_batch other;
  other.origin = "js.nanjing";
  other.rows = {tax_row(B, "r3", "7.00")};
  auto neighbour = w.submit(std::move(other));
  open.set_value();
  try {
    refused.get();
    FAIL("an owner_only batch naming js.suzhou's record committed");
  } catch (const not_owner_error& e) {
    CHECK_MESSAGE(std::string(e.what()).find("record 'r1' is owned by node 'js.suzhou'; only its owner changes it") !=
                      std::string::npos, e.what());
  }
  CHECK(neighbour.get().inserted == 1);
  reader rd(*env);
  CHECK(rd.get("tax", A, "r1")->fields_json.find("100.00") != std::string::npos);
  CHECK_FALSE(rd.get("tax", B, "r2"));  // nothing of the refused batch, not even its other row
  CHECK(rd.get("tax", B, "r3"));
  CHECK(rd.stats().quarantined == before.quarantined);  // refused, not quarantined
  CHECK(rd.stats().last_seq == before.last_seq + 1);    // only the neighbour's change
}

TEST_CASE("store: the same key twice in one batch keeps the later row as version 2") {
  test::temp_dir d;
  auto env = environment::open({d / "data"});
  auto r = write(*env, {tax_row(A, "r1", "1.00"), tax_row(A, "r1", "2.00")});
  CHECK(r.inserted == 1);
  CHECK(r.updated == 1);
  reader rd(*env);
  CHECK(rd.get("tax", A, "r1")->version == 2);
  CHECK(rd.get("tax", A, "r1")->fields_json.find("2.00") != std::string::npos);
}

TEST_CASE("store: export filters by subject, category and change-log position") {
  test::temp_dir d;
  auto env = environment::open({d / "data"});
  auto env_row = tax_row(A, "e1", "0");
  env_row.category = "environment";
  env_row.fields_json = R"({"kind":"permit","issuer":"EPB","result":"granted"})";
  write(*env, {tax_row(A, "r1", "1.00"), tax_row(B, "r1", "1.00"), env_row});
  write(*env, {tax_row(B, "r2", "3.00")});
  reader rd(*env);
  auto count = [&](record_filter f) {
    int n = 0;
    rd.for_each_record(f, [&](const model::record&) { return ++n, true; });
    return n;
  };
  record_filter f;
  CHECK(count(f) == 4);
  f.subject = A;
  CHECK(count(f) == 2);
  f.category = "tax";
  CHECK(count(f) == 1);
  f.subject.clear();
  CHECK(count(f) == 3);
  f.category.clear();
  f.after_seq = 3;
  CHECK(count(f) == 1);
  f.after_seq.reset();
  f.since_ms = std::int64_t(1) << 62;
  CHECK(count(f) == 0);
}

TEST_CASE("store: concurrent submitters share commits and lose nothing") {
  test::temp_dir d;
  auto env = environment::open({d / "data"});
  writer w(*env);
  std::vector<std::future<batch_result>> fs;
  for (int i = 0; i < 50; ++i) {
    write_batch b;
    b.origin = "js.nanjing";
    b.rows = {tax_row(A, "r" + std::to_string(i), "1.00")};
    fs.push_back(w.submit(std::move(b)));
  }
  std::uint64_t inserted = 0;
  for (auto& f : fs) inserted += f.get().inserted;
  CHECK(inserted == 50);
  reader rd(*env);
  CHECK(rd.stats().total == 50);
  CHECK(rd.stats().last_seq == 50);
}

TEST_CASE("store: migrations run in order and a newer store is refused") {
  test::temp_dir d;
  std::vector<migration> none;
  { auto env = environment::open({d / "data", 64, &none}); }  // a store of format 1
  std::vector<migration> steps{
      {1, "add a marker", [](migration_context& m) { m.put("meta", "marker", "v2"); }},
      {2, "rename marker",
       [](migration_context& m) {
         auto v = m.get("meta", "marker");
         m.del("meta", "marker");
         m.put("meta", "marker3", v.value_or("missing"));
       }},
  };
  {
    auto env = environment::open({d / "data", 64, &steps});
    CHECK(env->schema_version() == 3);
  }
  {
    auto env = environment::open({d / "data", 64, &steps});  // idempotent at 3
    CHECK(env->schema_version() == 3);
    CHECK_THROWS_WITH_AS(environment::open({d / "data", 64, &none}),
                         doctest::Contains("newer than this credit-node supports"), store_error);
  }
}

TEST_CASE("key codec: big-endian order is numeric order — truncation is detected") {
  CHECK(be64(1) < be64(256));
  CHECK(be64(255) < be64(256));
  key_writer w;
  w.str8("tax").u64(42).str16("x");
  key_reader r(w.bytes());
  CHECK(r.str8() == "tax");
  CHECK(r.u64() == 42);
  CHECK(r.str16() == "x");
  CHECK(r.done());
  key_reader bad(std::string_view(w.bytes()).substr(0, 6));
  bad.str8();
  CHECK_THROWS_AS(bad.u64(), codec_error);
  CHECK_THROWS_AS(key_writer().str8(std::string(256, 'x')), codec_error);
}

TEST_CASE("store: migration 1→2 builds the digests from a format-1 store, matching a full scan") {
  test::temp_dir d;
  const std::vector<migration> format1;  // the layout before digests existed
  {
    auto env = environment::open({d / "data", 64, &format1});
    REQUIRE(env->schema_version() == 1);
    write(*env, {tax_row(A, "r1", "1.00"), tax_row(B, "r1", "2.00"), tax_row(A, "r2", "3.00")});
    write(*env, {tax_row(A, "r1", "1.50")});  // a version 2
  }
  // A real format-1 store has no digests: the step under test runs after
  // they are wiped, so it must build them from the records alone.
  std::vector<migration> steps{{1, "wipe, then the builtin step", [](migration_context& m) {
    std::vector<std::string> keys;
    m.for_each("digests", [&](std::string_view k, std::string_view) { keys.emplace_back(k); });
    for (const auto& k : keys) m.del("digests", k);
    REQUIRE(!m.get("digests", keys.empty() ? "x" : keys[0]));
    builtin_migrations().at(0).apply(m);
  }}};
  auto env = environment::open({d / "data", 64, &steps});
  CHECK(env->schema_version() == 2);
  auto dg = reader(*env).digest("");
  REQUIRE(dg.count("tax"));
  CHECK(dg.at("tax").first == 3);
  // The sum equals the records' hashes, computed independently.
  std::uint64_t sum = 0;
  reader(*env).for_each_record({}, [&](const model::record& r) { return sum += model::digest_hash(r), true; });
  CHECK(dg.at("tax").second == sum);
  CHECK(reader(*env).digest("350200").at("tax").first == 2);  // A is a Xiamen firm
  CHECK(reader(*env).digest("440101").at("tax").first == 1);  // B is in Guangzhou
  CHECK(reader(*env).digest("3201").empty());
}

// A scan decodes each record into the same object: nothing of the record
// before may show through in the next, shorter or emptier one.
TEST_CASE("store: a record decoded into one that held another is exactly the new record") {
  model::record big{"tax", "91350200776049653A", "2025-01-VAT-with-a-long-id", "js.nanjing", 7, "2025-01-15",
                    "tax bureau of somewhere", 123, true, R"({"period":"2025-01","tax_type":"VAT","amount_paid":"100.00"})"};
  model::record small{"loan", "9135021359498494XQ", "L1", "bank-a", 1, "2026-10-01", "", 0, false, "{}"};
  model::record r;
  decode_record_into(encode_record(big), r);
  decode_record_into(encode_record(small), r);
  auto fresh = decode_record(encode_record(small));
  CHECK(r.category == fresh.category);
  CHECK(r.subject == fresh.subject);
  CHECK(r.record_id == fresh.record_id);
  CHECK(r.origin == fresh.origin);
  CHECK(r.version == fresh.version);
  CHECK(r.event_date == fresh.event_date);
  CHECK(r.source.empty());
  CHECK(r.ingested_at_ms == 0);
  CHECK_FALSE(r.deleted);
  CHECK(r.fields_json == "{}");
}

namespace {

std::size_t rss_file_kb() {
  std::FILE* f = std::fopen("/proc/self/status", "re");
  REQUIRE(f);
  char line[256];
  std::size_t kb = 0;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "RssFile: %zu kB", &kb) == 1) break;
  std::fclose(f);
  return kb;
}

}  // namespace

// A bulk import drops its mappings of the store between commits only past a
// budget: under it they stay (mapping the index again after every commit
// was most of a large import's time), over it they go.
TEST_CASE("store: mapped store pages are dropped past the budget, kept under it") {
  test::temp_dir d;
  auto env = environment::open({d / "data"});
  std::vector<import_row> rows;
  const std::string pad(3000, 'x');  // ~3 KB per record: ~24 MB of store
  for (int i = 0; i < 8000; ++i) rows.push_back(tax_row(A, "r" + std::to_string(i), pad + std::to_string(i)));
  write(*env, std::move(rows));
  auto read_all = [&] {
    std::size_t n = 0;
    reader(*env).scan_records(0, [&](std::uint64_t, const model::record&) { return ++n > 0; });
    return n;
  };
  REQUIRE(read_all() == 8000);
  auto mapped = rss_file_kb();
  env->release_mapped_pages(std::size_t{1} << 40);  // far over what is mapped: kept
  CHECK(rss_file_kb() + 1024 > mapped);
  env->release_mapped_pages(std::size_t{1} << 20);  // 1 MB: dropped
  auto after = rss_file_kb();
  CAPTURE(mapped);
  CAPTURE(after);
  CHECK(after + 16 * 1024 < mapped);  // the ~24 MB the scan mapped are gone
  CHECK(read_all() == 8000);          // and mapped again on the next read
}
