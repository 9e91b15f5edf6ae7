#pragma once
// Typed reads of one field of a JSON object, for code that walks objects and schemas held as
// boost::json values. None of them throws or reports: a field that is absent or holds another
// type reads as "missing" (the return value says how), and callers that must tell the two apart
// use value_field() and check the type themselves.
// All results point into `o` and are valid while `o` is neither changed nor destroyed.

#include <boost/json.hpp>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cenv {

// The value of field `key`; nullptr when absent or null (as Kubernetes, null means absent).
const boost::json::value* value_field(const boost::json::object& o, std::string_view key);

// The string of field `key`; an empty view when absent or not a string (an empty string and a
// missing one read the same).
std::string_view string_field(const boost::json::object& o, std::string_view key);

// The object of field `key`; nullptr when absent or not an object.
const boost::json::object* object_field(const boost::json::object& o, std::string_view key);
// The same for a possibly absent `o`: nullptr when `o` is nullptr. For chains such as
// object_field(object_field(spec, "template"), "metadata").
const boost::json::object* object_field(const boost::json::object* o, std::string_view key);

// The array of field `key`; nullptr when absent or not an array.
const boost::json::array* array_field(const boost::json::object& o, std::string_view key);

// The integer of field `key`; nullopt when absent, not an integer (a double such as 1.0 or a
// string "1" included) or above INT64_MAX.
std::optional<int64_t> int64_field(const boost::json::object& o, std::string_view key);

// The boolean of field `key`; false when absent or not a boolean.
bool bool_field(const boost::json::object& o, std::string_view key);

// The strings of the array field `key` (items of other types skipped); empty when absent or
// not an array.
std::vector<std::string> string_list_field(const boost::json::object& o, std::string_view key);

// The string members of the object field `key` (members of other types skipped), such as labels
// or environment variables; empty when absent or not an object.
std::map<std::string, std::string> string_map_field(const boost::json::object& o,
                                                    std::string_view key);

// The same getters for a possibly absent object (a spec or status that may be missing): a
// nullptr `o` reads as an object without the field.
std::string_view string_field(const boost::json::object* o, std::string_view key);
const boost::json::array* array_field(const boost::json::object* o, std::string_view key);
std::optional<int64_t> int64_field(const boost::json::object* o, std::string_view key);
bool bool_field(const boost::json::object* o, std::string_view key);
std::vector<std::string> string_list_field(const boost::json::object* o, std::string_view key);
std::map<std::string, std::string> string_map_field(const boost::json::object* o,
                                                    std::string_view key);

}  // namespace cenv
