// Realistic synthetic data for the demo and the benchmarks: enterprises with
// valid credit codes across divisions, and CSV rows for every local category.
#pragma once

#include <cstdint>
#include <ostream>
#include <random>
#include <string>
#include <vector>

namespace node::demo {

// `n` distinct valid codes spread over `divisions` (6-digit codes).
std::vector<std::string> make_enterprises(std::size_t n, const std::vector<std::string>& divisions,
                                          std::mt19937_64& rng);

// The categories a local platform collects (PRODUCT.md §1).
const std::vector<std::string>& local_categories();

// Writes a CSV header and `rows` rows of `category` about the given
// enterprises. Interleaved: cycling through the subjects, as an export in
// date order would (the worst case for the subject index); grouped: each
// subject's rows together, in the order given (an export sorted by code).
// Record ids are unique per subject for up to 120 rows per subject;
// `id_prefix` keeps another owner's rows about the same firms apart.
enum class row_order { interleaved, grouped };
void write_csv(std::ostream& out, const std::string& category,
               const std::vector<std::string>& subjects, std::size_t rows, std::mt19937_64& rng,
               row_order order = row_order::interleaved, const std::string& id_prefix = "");

}  // namespace node::demo
