#include "api/manifest_objects.h"

#include "api/display_text.h"
#include "api/json_text.h"
#include "api/write_normalization.h"

namespace cenv {

namespace json = boost::json;

namespace {

// An object only carries finite numbers: JSON, and so the API, has no others.
Status check_numbers(const json::object& o, const std::string& source) {
  auto error = non_finite_number_error(o);
  if (!error) return Status::Ok();
  return Status::Invalid(source + ": " + escape_for_display(describe_object(Object(o))) + ": " +
                         *error);
}

}  // namespace

bool is_manifest_file_name(std::string_view path) {
  auto ends_with = [&](std::string_view ext) {
    return path.size() > ext.size() && path.substr(path.size() - ext.size()) == ext;
  };
  return ends_with(".yaml") || ends_with(".yml") || ends_with(".json");
}

Result<std::vector<SourcedObject>> manifest_objects(std::vector<Document> docs,
                                                    std::string_view path) {
  std::vector<SourcedObject> out;
  out.reserve(docs.size());
  for (Document& doc : docs) {
    std::string source = escape_for_display(path) + " (document " + std::to_string(doc.index) + ")";
    if (!doc.value.is_object()) {
      return Status::Invalid(source +
                             ": expected an object with apiVersion, kind, metadata "
                             "and spec, found " +
                             (doc.value.is_array() ? std::string("a list") : "a scalar"));
    }
    json::object& o = doc.value.get_object();
    if (Object::str_field(o, "kind") == "List") {
      auto items = o.find("items");
      if (items == o.end() || !items->value().is_array()) {
        return Status::Invalid(source + ": List: items: Required value");
      }
      size_t n = 0;
      for (json::value& item : items->value().get_array()) {
        std::string item_source =
            source.substr(0, source.size() - 1) + ", item " + std::to_string(n++) + ")";
        if (!item.is_object()) return Status::Invalid(item_source + ": expected an object");
        CENV_RETURN_IF_ERROR(check_numbers(item.get_object(), item_source));
        out.push_back({Object(std::move(item.get_object())), item_source});
      }
      continue;
    }
    CENV_RETURN_IF_ERROR(check_numbers(o, source));
    out.push_back({Object(std::move(o)), std::move(source)});
  }
  return out;
}

}  // namespace cenv
