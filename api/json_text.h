#pragma once
// Reading JSON text into Boost.JSON values with numbers rounded correctly. Boost.JSON 1.81's own
// parser rounds some decimal numbers to a neighbouring double (1.86666666E62), so a number
// could change each time an object was serialized and read again (the store does that on every
// write and read); here every floating-point number is converted by std::from_chars.

#include <boost/json.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "api/status.h"

namespace cenv {

// Parses `text` as exactly one JSON value, nesting at most `max_depth` levels. Invalid with
// Boost.JSON's message on malformed text, number_out_of_range() for such a number; too deep text is
// boost::json::error::too_deep in
// `*error` as well (for callers that name the limit). The value's memory comes from `storage`
// (default: the default resource).
Result<boost::json::value> parse_json_text(std::string_view text, size_t max_depth,
                                           boost::json::error_code* error = nullptr,
                                           boost::json::storage_ptr storage = {});

// The double `number` (JSON number text) denotes, correctly rounded; nullopt when it is out of
// double's range (5e880, 1e-400), which JSON text cannot carry back.
std::optional<double> json_number_value(std::string_view number);

// The message for a number json_number_value() refuses.
std::string number_out_of_range(std::string_view number);

// JSON has no infinity or NaN, but YAML does (.inf, .nan, 1e400): the path of the first such
// number in `value` ("spec.options.x", "items[2]") with the message for it, nullopt when
// every number is finite.
std::optional<std::string> non_finite_number_error(const boost::json::value& value);

}  // namespace cenv
