// mbedTLS return codes as error codes in their own category, so Asio and
// Beast code handles them like any other I/O error.
#pragma once

#include <boost/system/error_code.hpp>

namespace node::net {

const boost::system::error_category& tls_category();

// mbedTLS codes are negative; the error_code carries them as they are.
inline boost::system::error_code make_tls_error(int rc) { return {rc, tls_category()}; }

}  // namespace node::net
