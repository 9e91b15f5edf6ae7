#include "api/names.h"

#include <cstddef>
#include <string>
#include <utility>

#include "api/display_text.h"
#include "api/json_fields.h"

namespace cenv {
namespace {

namespace json = boost::json;

// Limits and messages of k8s.io/apimachinery/pkg/util/validation.
constexpr size_t kDns1123LabelMaxLength = 63;
constexpr size_t kDns1123SubdomainMaxLength = 253;
constexpr size_t kQualifiedNameMaxLength = 63;
constexpr size_t kLabelValueMaxLength = 63;
constexpr size_t kGenerateNameMaxLength = kDns1123LabelMaxLength - 5;  // 5 random characters
constexpr size_t kTotalAnnotationSizeLimit = 256u << 10;

constexpr const char* kDns1123LabelMessage =
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
    "must start and end with an alphanumeric character (e.g. 'my-name', or '123-abc')";
constexpr const char* kDns1123SubdomainMessage =
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'example.com')";
constexpr const char* kQualifiedNameMessage =
    "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an "
    "alphanumeric character (e.g. 'MyName', or 'my.name', or '123-abc')";
constexpr const char* kLabelValueMessage =
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue', or 'my_value', "
    "or '12345')";

std::string max_length_message(size_t n) {
  return "must be no more than " + std::to_string(n) + " characters";
}

void add(std::string* out, const std::string& message) {
  if (!out->empty()) *out += "; ";
  *out += message;
}

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool is_alnum(char c) { return is_lower_alnum(c) || (c >= 'A' && c <= 'Z'); }

// [a-z0-9]([-a-z0-9]*[a-z0-9])?
bool dns1123_label_chars(std::string_view v) {
  if (v.empty() || !is_lower_alnum(v.front()) || !is_lower_alnum(v.back())) return false;
  for (char c : v) {
    if (!is_lower_alnum(c) && c != '-') return false;
  }
  return true;
}

// Labels as above, joined by '.'.
bool dns1123_subdomain_chars(std::string_view v) {
  size_t start = 0;
  while (true) {
    size_t dot = v.find('.', start);
    if (!dns1123_label_chars(v.substr(start, dot - start))) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]
bool qualified_name_chars(std::string_view v) {
  if (v.empty() || !is_alnum(v.front()) || !is_alnum(v.back())) return false;
  for (char c : v) {
    if (!is_alnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

std::string check_dns1123_subdomain(std::string_view v) {
  std::string out;
  if (v.size() > kDns1123SubdomainMaxLength)
    add(&out, max_length_message(kDns1123SubdomainMaxLength));
  if (!dns1123_subdomain_chars(v)) add(&out, kDns1123SubdomainMessage);
  return out;
}

// metadata.generateName: a label prefix; a trailing '-' is allowed (it separates the random
// suffix), and 5 random characters must still fit in 63.
std::string check_generate_name(std::string_view v) {
  std::string out;
  if (v.size() > kGenerateNameMaxLength) {
    add(&out, max_length_message(kGenerateNameMaxLength) + " (5 random characters are appended)");
  }
  std::string masked(v);
  if (masked.size() > 1 && masked.back() == '-') masked.back() = 'a';
  if (!dns1123_label_chars(masked)) add(&out, kDns1123LabelMessage);
  return out;
}

// The string field `key` of metadata; empty when absent or null. Reports a non-string value.
std::string_view meta_string(const json::object& meta, std::string_view key,
                             std::vector<FieldError>* errors) {
  const json::value* v = value_field(meta, key);
  if (v == nullptr) return {};
  if (!v->is_string()) {
    errors->push_back({"metadata." + std::string(key), "must be a string"});
    return {};
  }
  return v->get_string();
}

void validate_labels(const json::value& labels, std::vector<FieldError>* errors) {
  if (!labels.is_object()) {
    errors->push_back({"metadata.labels", "must be a map of string keys to string values"});
    return;
  }
  for (const auto& kv : labels.get_object()) {
    std::string path = "metadata.labels[" + escape_for_display(kv.key()) + "]";
    if (std::string why = check_label_key(kv.key()); !why.empty()) {
      errors->push_back({path, "invalid label key: " + why});
    }
    if (!kv.value().is_string()) {
      errors->push_back({path, "must be a string"});
      continue;
    }
    std::string_view value = kv.value().get_string();
    if (std::string why = check_label_value(value); !why.empty()) {
      errors->push_back({path, "invalid value \"" + escape_for_display(value) + "\": " + why});
    }
  }
}

void validate_annotations(const json::value& annotations, std::vector<FieldError>* errors) {
  if (!annotations.is_object()) {
    errors->push_back({"metadata.annotations", "must be a map of string keys to string values"});
    return;
  }
  size_t total = 0;
  for (const auto& kv : annotations.get_object()) {
    std::string path = "metadata.annotations[" + escape_for_display(kv.key()) + "]";
    total += kv.key().size();
    if (std::string why = check_label_key(kv.key()); !why.empty()) {
      errors->push_back({path, "invalid annotation key: " + why});
    }
    if (!kv.value().is_string()) {
      errors->push_back({path, "must be a string"});
      continue;
    }
    total += kv.value().get_string().size();
  }
  if (total > kTotalAnnotationSizeLimit) {
    errors->push_back(
        {"metadata.annotations", "total size of keys and values must be no more than " +
                                     std::to_string(kTotalAnnotationSizeLimit) + " bytes (is " +
                                     std::to_string(total) + ")"});
  }
}

void validate_finalizers(const json::value& finalizers, std::vector<FieldError>* errors) {
  if (!finalizers.is_array()) {
    errors->push_back({"metadata.finalizers", "must be a list of strings"});
    return;
  }
  const json::array& list = finalizers.get_array();
  for (size_t i = 0; i < list.size(); ++i) {
    std::string path = "metadata.finalizers[" + std::to_string(i) + "]";
    if (!list[i].is_string()) {
      errors->push_back({path, "must be a string"});
      continue;
    }
    if (std::string why = check_label_key(list[i].get_string()); !why.empty()) {
      errors->push_back({path, why});
    }
  }
}

}  // namespace

std::string check_dns1123_label(std::string_view v) {
  std::string out;
  if (v.size() > kDns1123LabelMaxLength) add(&out, max_length_message(kDns1123LabelMaxLength));
  if (!dns1123_label_chars(v)) add(&out, kDns1123LabelMessage);
  return out;
}

std::string check_label_key(std::string_view v) {
  std::string_view name = v;
  std::string out;
  if (size_t slash = v.find('/'); slash != std::string_view::npos) {
    if (v.find('/', slash + 1) != std::string_view::npos) {
      return std::string("a qualified name ") + kQualifiedNameMessage +
             " with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
    }
    std::string_view prefix = v.substr(0, slash);
    name = v.substr(slash + 1);
    if (prefix.empty()) {
      add(&out, "prefix part must be non-empty");
    } else if (std::string why = check_dns1123_subdomain(prefix); !why.empty()) {
      add(&out, "prefix part " + why);
    }
  }
  if (name.empty()) {
    add(&out, "name part must be non-empty");
    return out;
  }
  if (name.size() > kQualifiedNameMaxLength) {
    add(&out, "name part " + max_length_message(kQualifiedNameMaxLength));
  }
  if (!qualified_name_chars(name)) add(&out, std::string("name part ") + kQualifiedNameMessage);
  return out;
}

std::string check_label_value(std::string_view v) {
  std::string out;
  if (v.size() > kLabelValueMaxLength) add(&out, max_length_message(kLabelValueMaxLength));
  if (!v.empty() && !qualified_name_chars(v)) add(&out, kLabelValueMessage);
  return out;
}

void validate_object_meta(const boost::json::object& obj, bool namespaced,
                          std::vector<FieldError>* errors) {
  const json::value* meta_value = value_field(obj, "metadata");
  if (meta_value == nullptr) {
    errors->push_back({"metadata", "required"});
    return;
  }
  if (!meta_value->is_object()) {
    errors->push_back({"metadata", "must be an object"});
    return;
  }
  const json::object& meta = meta_value->get_object();

  std::string_view name = meta_string(meta, "name", errors);
  std::string_view generate_name = meta_string(meta, "generateName", errors);
  if (!name.empty()) {
    if (std::string why = check_dns1123_label(name); !why.empty()) {
      errors->push_back({"metadata.name", why});
    }
  } else if (generate_name.empty()) {
    const json::value* v = value_field(meta, "name");
    if (v == nullptr || v->is_string()) {  // a non-string name was reported above
      errors->push_back({"metadata.name", "required"});
    }
  }
  if (!generate_name.empty()) {
    if (std::string why = check_generate_name(generate_name); !why.empty()) {
      errors->push_back({"metadata.generateName", why});
    }
  }

  std::string_view ns = meta_string(meta, "namespace", errors);
  if (!ns.empty()) {
    if (!namespaced) {
      errors->push_back({"metadata.namespace", "must not be set for a cluster-scoped kind"});
    } else if (std::string why = check_dns1123_label(ns); !why.empty()) {
      errors->push_back({"metadata.namespace", why});
    }
  }

  if (const json::value* labels = value_field(meta, "labels")) validate_labels(*labels, errors);
  if (const json::value* annotations = value_field(meta, "annotations")) {
    validate_annotations(*annotations, errors);
  }
  if (const json::value* finalizers = value_field(meta, "finalizers")) {
    validate_finalizers(*finalizers, errors);
  }
}

}  // namespace cenv
