#pragma once
// Output formats of `cenv get` and friends, as kubectl prints them: tables (with the printer
// columns of crds/), -o wide, -o yaml, -o json, -o name.

#include <chrono>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "api/kinds.h"
#include "api/object.h"
#include "api/status.h"

namespace cenv::cli {

enum class OutputFormat { kTable, kWide, kYaml, kJson, kName };

// Parses -o; Invalid for anything else, naming the allowed formats.
Result<OutputFormat> parse_output_format(const std::string& text);

struct TableOptions {
  bool wide = false;              // include priority > 0 columns
  bool with_namespace = false;    // NAMESPACE first (-A)
  bool with_kind_prefix = false;  // names as "service/web" (several kinds in one get)
  bool headers = true;
};

// kubectl's human duration: "45s", "5m10s", "3h", "2d"...
std::string human_age(std::chrono::system_clock::duration d);

// The age of the RFC 3339 time stamp `ts` at `now` ("5m10s"), "<unknown>" when it is not one.
std::string age_of(std::string_view ts, std::chrono::system_clock::time_point now);

// `describe`'s "Conditions:" section of a status (Type, Status, Reason, Age, Message; "<none>"
// when there are none); messages are escaped for the terminal.
void print_conditions(const boost::json::object* status, std::chrono::system_clock::time_point now,
                      std::ostream& out);

// Writes a table of `objects` (all of `kind`) with aligned columns. A column of type integer
// whose path selects a list shows how many items it has.
void print_table(const KindInfo& kind, const std::vector<Object>& objects,
                 const TableOptions& options, std::chrono::system_clock::time_point now,
                 std::ostream& out);

// Writes one object, or a `kind: List` when `as_list`, in YAML or JSON.
void print_objects(const std::vector<Object>& objects, bool as_list, OutputFormat format,
                   std::ostream& out);

// "service/web".
std::string object_ref(const Object& o);
std::string object_ref(std::string_view kind, std::string_view name);

}  // namespace cenv::cli
