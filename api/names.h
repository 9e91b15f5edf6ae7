#pragma once
// Name, label and annotation validation as Kubernetes does it (apimachinery validation).

#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "api/status.h"

namespace cenv {

// DNS-1123 label: lower-case alphanumerics and '-', starts and ends alphanumeric, <= 63 chars.
// Returns an empty string when valid, else the reason.
std::string check_dns1123_label(std::string_view v);
// Label key: optional DNS-1123 subdomain prefix + '/' + name (<= 63, [A-Za-z0-9._-]).
std::string check_label_key(std::string_view v);
// Label value: empty or <= 63 chars of [A-Za-z0-9._-], starting and ending alphanumeric.
std::string check_label_value(std::string_view v);

// Validates metadata.name / generateName / namespace / labels / annotations / finalizers of a
// whole object. Appends FieldErrors with paths such as "metadata.labels[app]".
// Annotations: keys as label keys, total size <= 256 KiB.
void validate_object_meta(const boost::json::object& obj, bool namespaced,
                          std::vector<FieldError>* errors);

}  // namespace cenv
