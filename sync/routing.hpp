// Which node a record belongs near: jurisdiction by administrative division
// (GB/T 2260: province XX0000, city XXXX00, county XXXXXX). A node's
// jurisdiction covers every division under it; the national node covers all.
#pragma once

// The namespace is `replication`, not `sync`: ::sync(2) is a POSIX function
// and a namespace of that name would collide with it.

#include <string>
#include <string_view>

namespace replication {

// The significant prefix of a division code: "320100" → "3201",
// "320000" → "32", "320106" → "320106". "100000" (the country) → "".
std::string_view division_prefix(std::string_view jurisdiction);

// True when a subject registered under `division` (a credit code's
// characters 3-8) falls inside `jurisdiction`.
bool covers(std::string_view jurisdiction, std::string_view division);

// Why a node for `jurisdiction` may not own a record about `subject` (a
// valid credit code); empty when it may. Its parent refuses such changes
// as violations, so they are refused where they come in, with this text.
std::string outside_jurisdiction(std::string_view jurisdiction, std::string_view subject);

}  // namespace replication
