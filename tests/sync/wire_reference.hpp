// The DOM-based batch decoder the streaming one replaced: the oracle of
// wire_decode_test.cpp (wire_reference.cpp).
#pragma once

#include "sync/wire.hpp"

namespace test_ref {
replication::change_batch reference_decode_batch(std::string_view body, std::size_t max_changes);
}
