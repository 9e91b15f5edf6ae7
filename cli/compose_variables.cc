#include "cli/compose_variables.h"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/limits.h"

namespace cenv::cli {

namespace json = boost::json;

namespace {

bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// The value of a dotenv line after '=' and whether ${...} in it is expanded (not in single
// quotes), or nullopt when a quote is not closed.
std::optional<std::pair<std::string, bool>> dotenv_value(std::string_view raw) {
  std::string_view v = trim(raw);
  if (v.empty()) return std::pair<std::string, bool>();
  if (v.front() == '\'') {
    size_t end = v.find('\'', 1);
    if (end == std::string_view::npos) return std::nullopt;
    return std::pair<std::string, bool>(v.substr(1, end - 1), false);
  }
  if (v.front() == '"') {
    std::string out;
    for (size_t i = 1; i < v.size(); ++i) {
      char c = v[i];
      if (c == '"') return std::pair<std::string, bool>(std::move(out), true);
      if (c == '\\' && i + 1 < v.size()) {
        char n = v[++i];
        out += n == 'n' ? '\n' : n == 't' ? '\t' : n == 'r' ? '\r' : n;
      } else {
        out += c;
      }
    }
    return std::nullopt;
  }
  if (size_t hash = v.find(" #"); hash != std::string_view::npos) v = trim(v.substr(0, hash));
  return std::pair<std::string, bool>(v, true);
}

// Interpolation of one string value.
class Interpolator {
 public:
  Interpolator(const VariableLookup& lookup, std::vector<std::string>* warnings)
      : lookup_(lookup), warnings_(warnings) {}

  // `text` with every substitution done; Invalid (message without the location) on a bad one.
  Result<std::string> expand(std::string_view text) {
    std::string out;
    size_t i = 0;
    while (i < text.size()) {
      char c = text[i];
      if (c != '$' || i + 1 == text.size()) {
        out += c;
        ++i;
        continue;
      }
      char n = text[i + 1];
      if (n == '$') {
        out += '$';
        i += 2;
      } else if (n == '{') {
        size_t close = matching_brace(text, i + 1);
        if (close == std::string_view::npos) {
          return Status::Invalid("invalid interpolation format in " + quoted(text) +
                                 ": a \"${\" is not closed");
        }
        auto value = braced(text.substr(i + 2, close - i - 2), text);
        if (!value.ok()) return value.status();
        out += value.value();
        i = close + 1;
      } else if (is_name_start(n)) {
        size_t end = i + 1;
        while (end < text.size() && is_name_char(text[end])) ++end;
        out += value_or_blank(std::string(text.substr(i + 1, end - i - 1)));
        i = end;
      } else {
        out += c;  // a lone '$' stays, as docker compose leaves it
        ++i;
      }
    }
    return out;
  }

 private:
  static std::string quoted(std::string_view s) { return json::serialize(json::string(s)); }

  // Index of the '}' closing the '{' at `open`, counting nested "${".
  static size_t matching_brace(std::string_view text, size_t open) {
    int depth = 0;
    for (size_t i = open; i < text.size(); ++i) {
      if (text[i] == '{') ++depth;
      if (text[i] == '}' && --depth == 0) return i;
    }
    return std::string_view::npos;
  }

  std::string value_or_blank(const std::string& name) {
    if (auto v = lookup_(name)) return *v;
    if (warnings_) {
      warnings_->push_back("the \"" + name + "\" variable is not set: a blank string is used");
    }
    return {};
  }

  // The inside of "${...}": NAME, then optionally an operator and a word.
  Result<std::string> braced(std::string_view inner, std::string_view whole) {
    size_t end = 0;
    while (end < inner.size() && is_name_char(inner[end])) ++end;
    std::string name(inner.substr(0, end));
    if (name.empty() || !is_name_start(name[0])) {
      return Status::Invalid("invalid interpolation format in " + quoted(whole) +
                             ": a variable name must follow \"${\"");
    }
    std::string_view rest = inner.substr(end);
    std::optional<std::string> value = lookup_(name);
    if (rest.empty()) return value_or_blank(name);
    bool colon = rest.front() == ':';
    if (colon) rest.remove_prefix(1);
    if (rest.empty() || (rest.front() != '-' && rest.front() != '?' && rest.front() != '+')) {
      return Status::Invalid("invalid interpolation format in " + quoted(whole) +
                             ": expected :-, -, :?, ?, :+ or + after the variable name");
    }
    char op = rest.front();
    std::string_view word = rest.substr(1);
    bool usable = value && (!colon || !value->empty());
    if (op == '-') {
      if (usable) return *value;
      return expand(word);
    }
    if (op == '+') {
      if (!usable) return std::string();
      return expand(word);
    }
    if (usable) return *value;
    auto message = expand(word);
    if (!message.ok()) return message.status();
    return Status::Invalid("required variable " + name + " is missing a value" +
                           (message.value().empty() ? std::string() : ": " + message.value()));
  }

  const VariableLookup& lookup_;
  std::vector<std::string>* warnings_;
};

void append_path(std::string& path, std::string_view key) {
  if (!path.empty()) path += '.';
  path += key;
}

Status interpolate_value(json::value& v, Interpolator& in, std::string_view source,
                         std::string& path) {
  if (v.is_string()) {
    std::string_view s(v.get_string().data(), v.get_string().size());
    if (s.find('$') == std::string_view::npos) return Status::Ok();
    auto out = in.expand(s);
    if (!out.ok()) {
      return Status::Invalid(std::string(source) + ": " + path + ": " + out.status().message());
    }
    v = json::string(out.value());
  } else if (v.is_object()) {
    size_t len = path.size();
    for (auto& kv : v.get_object()) {
      append_path(path, kv.key());
      CENV_RETURN_IF_ERROR(interpolate_value(kv.value(), in, source, path));
      path.resize(len);
    }
  } else if (v.is_array()) {
    size_t len = path.size();
    json::array& a = v.get_array();
    for (size_t i = 0; i < a.size(); ++i) {
      path += "[" + std::to_string(i) + "]";
      CENV_RETURN_IF_ERROR(interpolate_value(a[i], in, source, path));
      path.resize(len);
    }
  }
  return Status::Ok();
}

}  // namespace

Result<DotenvEntries> parse_dotenv(std::string_view text, std::string_view source,
                                   const VariableLookup* lookup,
                                   std::vector<std::string>* warnings) {
  DotenvEntries out;
  // ${NAME} in a value: an earlier line of this file, else `lookup` (as compose-go reads it).
  VariableLookup earlier = [&](const std::string& name) -> std::optional<std::string> {
    for (auto it = out.rbegin(); it != out.rend(); ++it) {
      if (it->first == name) return it->second;
    }
    return (*lookup)(name);
  };
  Interpolator expander(earlier, warnings);
  int line_no = 0;
  size_t start = 0;
  while (start <= text.size()) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = trim(text.substr(start, nl - start));
    start = nl + 1;
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    if (line.starts_with("export ")) line = trim(line.substr(7));
    size_t eq = line.find('=');
    std::string_view name = trim(line.substr(0, eq));
    auto bad = [&](const std::string& why) {
      return Status::Invalid(std::string(source) + ": line " + std::to_string(line_no) + ": " +
                             why);
    };
    bool valid_name = !name.empty() && std::none_of(name.begin(), name.end(), [](char c) {
      return c == ' ' || c == '\t' || c == '"' || c == '\'';
    });
    if (!valid_name) return bad("expected NAME=VALUE");
    if (eq == std::string_view::npos) {
      out.emplace_back(std::string(name), std::string());
      continue;
    }
    auto value = dotenv_value(line.substr(eq + 1));
    if (!value) return bad("the quoted value of " + std::string(name) + " is not closed");
    if (lookup && value->second && value->first.find('$') != std::string::npos) {
      auto expanded = expander.expand(value->first);
      if (!expanded.ok()) return bad(std::string(name) + ": " + expanded.status().message());
      value->first = std::move(expanded.value());
    }
    out.emplace_back(std::string(name), std::move(value->first));
  }
  return out;
}

Result<DotenvEntries> read_dotenv_file(const std::string& path, const VariableLookup* lookup,
                                       std::vector<std::string>* warnings) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return Status::NotFound(path + ": no such file");
  }
  auto size = std::filesystem::file_size(path, ec);
  if (ec) return Status::Invalid(path + ": " + ec.message());
  if (size > kMaxManifestBytes) {
    return Status::Invalid(path + ": the file is " + std::to_string(size) +
                           " bytes, more than the limit of " + std::to_string(kMaxManifestBytes));
  }
  std::ifstream f(path, std::ios::binary);
  std::ostringstream text;
  text << f.rdbuf();
  if (!f && !f.eof()) return Status::Invalid(path + ": cannot be read");
  return parse_dotenv(text.str(), path, lookup, warnings);
}

Status interpolate_compose(json::value& doc, const VariableLookup& lookup, std::string_view source,
                           std::vector<std::string>* warnings) {
  Interpolator in(lookup, warnings);
  std::string path;
  return interpolate_value(doc, in, source, path);
}

}  // namespace cenv::cli
