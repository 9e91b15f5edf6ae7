#pragma once
// Parts of one compose service's conversion into a Service (compose_converter.cc): the state a
// service's conversion shares (its warnings and errors) and the fields with more than a line of
// mapping each (ports, volumes, health check, restart, labels).

#include <boost/json.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/status.h"
#include "cli/compose_converter.h"

namespace cenv::cli::compose {

// `s` as a JSON string literal, for messages.
inline std::string quote(std::string_view s) {
  return boost::json::serialize(boost::json::string(s));
}

// A scalar as the text compose would use (8080 -> "8080", true -> "true"); nullopt otherwise.
std::optional<std::string> scalar_text(const boost::json::value& v);

// What one service's conversion needs and produces.
class ServiceConversion {
 public:
  ServiceConversion(const ComposeConvertOptions& options, std::string compose_name,
                    std::vector<std::string>& warnings)
      : options_(options), name_(std::move(compose_name)), warnings_(warnings) {}

  void warn(const std::string& message) {
    warnings_.push_back("service " + quote(name_) + ": " + message);
  }
  // Invalid naming the file and services.<name>.<key>.
  Status error(const std::string& key, const std::string& message) const {
    return Status::Invalid(options_.source + ": services." + name_ + (key.empty() ? "" : ".") +
                           key + ": " + message);
  }
  const std::string& name() const { return name_; }
  const ComposeConvertOptions& options() const { return options_; }

 private:
  const ComposeConvertOptions& options_;
  std::string name_;
  std::vector<std::string>& warnings_;
};

// A list of strings, or one string split into words as compose splits command strings; Invalid
// at `key` otherwise.
Result<boost::json::array> command_words(const boost::json::value& v, ServiceConversion& c,
                                         const std::string& key);

// Each adds its Service field(s) to `spec` (labels: to `meta`), warns about what it cannot carry
// and returns Invalid at the key of a malformed value.
Status add_ports(const boost::json::object& svc, ServiceConversion& c, boost::json::object& spec);
// Named volumes used, by compose volume name: the services that mount each.
using VolumeUsers = std::map<std::string, std::vector<std::string>>;
Status add_volumes(const boost::json::object& svc, ServiceConversion& c, boost::json::object& spec,
                   VolumeUsers& users);
Status add_healthcheck(const boost::json::value& v, ServiceConversion& c,
                       boost::json::object& spec);
Status add_restart(const boost::json::value& v, ServiceConversion& c, boost::json::object& spec);
Status add_labels(const boost::json::value& v, ServiceConversion& c, boost::json::object& meta);

}  // namespace cenv::cli::compose
