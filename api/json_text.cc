#include "api/json_text.h"

#include <boost/json/basic_parser_impl.hpp>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string>
#include <system_error>

namespace cenv {

namespace json = boost::json;

std::optional<double> json_number_value(std::string_view number) {
  double d = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), d);
  if (ec != std::errc() || end != number.data() + number.size()) return std::nullopt;
  return d;
}

std::string number_out_of_range(std::string_view number) {
  constexpr size_t kShown = 40;
  std::string shown(number.substr(0, kShown));
  if (number.size() > kShown) shown += "...";
  return "the number " + shown + " is out of the range of a double";
}

namespace {

bool find_non_finite(const json::value& v, std::string* path) {
  if (v.is_double()) return !std::isfinite(v.get_double());
  if (v.is_object()) {
    for (const auto& kv : v.get_object()) {
      if (find_non_finite(kv.value(), path)) {
        std::string key(kv.key());
        *path = path->empty() ? key : key + (path->front() == '[' ? "" : ".") + *path;
        return true;
      }
    }
  } else if (v.is_array()) {
    const json::array& a = v.get_array();
    for (size_t i = 0; i < a.size(); ++i) {
      if (find_non_finite(a[i], path)) {
        std::string index = "[" + std::to_string(i) + "]";
        *path = path->empty() ? index : index + (path->front() == '[' ? "" : ".") + *path;
        return true;
      }
    }
  }
  return false;
}

}  // namespace

std::optional<std::string> non_finite_number_error(const json::value& value) {
  std::string path;
  if (!find_non_finite(value, &path)) return std::nullopt;
  return (path.empty() ? path : path + ": ") +
         "Invalid value: a number must be finite (JSON has no .inf, .nan or 1e400); "
         "quote it to make it a string";
}

namespace {

// basic_parser's handler: builds the value as boost::json::parser does, but for doubles.
class ValueBuilder {
 public:
  // Names required by boost::json::basic_parser.
  static constexpr std::size_t max_object_size = json::object::max_size();  // NOLINT
  static constexpr std::size_t max_array_size = json::array::max_size();    // NOLINT
  static constexpr std::size_t max_key_size = json::string::max_size();     // NOLINT
  static constexpr std::size_t max_string_size = json::string::max_size();  // NOLINT

  explicit ValueBuilder(json::storage_ptr storage) : storage_(std::move(storage)) {}

  json::value release() { return stack_.release(); }
  // The number that stopped the parse, if one did.
  const std::string& out_of_range() const { return out_of_range_; }

  bool on_document_begin(json::error_code&) {
    stack_.reset(storage_);
    return true;
  }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code&) { return true; }
  bool on_object_end(std::size_t n, json::error_code&) {
    stack_.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code&) { return true; }
  bool on_array_end(std::size_t n, json::error_code&) {
    stack_.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    stack_.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    stack_.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    stack_.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code&) {
    stack_.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view s, json::error_code&) {
    number_.append(s.data(), s.size());
    return true;
  }
  bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
    number_.clear();
    stack_.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
    number_.clear();
    stack_.push_uint64(u);
    return true;
  }
  bool on_double(double, json::string_view s, json::error_code& ec) {
    number_.append(s.data(), s.size());
    std::optional<double> d = json_number_value(number_);
    if (!d) {
      out_of_range_ = number_;
      ec = json::error::exponent_overflow;
      return false;
    }
    stack_.push_double(*d);
    number_.clear();
    return true;
  }
  bool on_bool(bool b, json::error_code&) {
    stack_.push_bool(b);
    return true;
  }
  bool on_null(json::error_code&) {
    stack_.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }

 private:
  json::storage_ptr storage_;  // where the value's memory comes from
  json::value_stack stack_;
  std::string number_;  // the number read so far, when it comes in parts
  std::string out_of_range_;
};

}  // namespace

Result<json::value> parse_json_text(std::string_view text, size_t max_depth,
                                    json::error_code* error, json::storage_ptr storage) {
  json::parse_options options;
  options.max_depth = max_depth;
  json::basic_parser<ValueBuilder> parser(options, std::move(storage));
  json::error_code ec;
  size_t used = parser.write_some(false, text.data(), text.size(), ec);
  if (!ec && !parser.done()) ec = json::error::incomplete;
  if (!ec && used < text.size()) ec = json::error::extra_data;
  if (error) *error = ec;
  if (!parser.handler().out_of_range().empty()) {
    return Status::Invalid(number_out_of_range(parser.handler().out_of_range()));
  }
  if (ec) return Status::Invalid(ec.message());
  return parser.handler().release();
}

}  // namespace cenv
