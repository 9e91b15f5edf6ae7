#include "cli/common.h"

#include <cstdlib>
#include <iostream>
#include <sstream>

#include "api/display_text.h"

namespace cenv::cli {

namespace {

const char* reason(Code code) {
  switch (code) {
    case Code::kNotFound:
      return "NotFound";
    case Code::kAlreadyExists:
      return "AlreadyExists";
    case Code::kConflict:
      return "Conflict";
    case Code::kInvalid:
      return "Invalid";
    case Code::kUnauthenticated:
      return "Unauthorized";
    case Code::kForbidden:
      return "Forbidden";
    case Code::kFailedPrecondition:
      return "BadRequest";
    case Code::kGone:
      return "Expired";
    case Code::kResourceExhausted:
      return "TooManyRequests";
    case Code::kUnavailable:
      return "ServiceUnavailable";
    default:
      return "InternalError";
  }
}

}  // namespace

void print_error(const Status& s, bool from_server) {
  std::istringstream lines(s.message());
  std::string line;
  int count = 0;
  bool server = from_server && s.code() != Code::kUnavailable && s.code() != Code::kInternal;
  bool single = s.message().find('\n') == std::string::npos;
  while (std::getline(lines, line)) {
    if (server && single) {
      std::cerr << "Error from server (" << reason(s.code()) << "): " << line << "\n";
    } else {
      std::cerr << "error: " << line << "\n";
    }
    ++count;
  }
  for (const auto& f : s.fields()) {
    std::string text = f.path.empty() ? f.message : f.path + ": " + f.message;
    if (s.message().find(text) == std::string::npos) std::cerr << "  " << text << "\n";
  }
  if (count == 0) std::cerr << "error: " << code_name(s.code()) << "\n";
}

const KindRegistry& registry() {
  static std::shared_ptr<const KindRegistry> kinds = [] {
    auto r = KindRegistry::builtin();
    if (!r.ok()) {
      std::cerr << "error: built-in kinds are broken: " << r.status().message() << "\n";
      std::exit(2);
    }
    return r.value();
  }();
  return *kinds;
}

Result<const KindInfo*> resolve_kind(const std::string& name) {
  const KindInfo* info = registry().find(name);
  if (!info) {
    return Status::NotFound("the server doesn't have a resource type \"" +
                            escape_for_display(name) + "\"");
  }
  return info;
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) {
    if (!cur.empty()) out.push_back(cur);
  }
  return out;
}

Result<std::chrono::milliseconds> parse_duration(const std::string& text) {
  auto bad = [&] {
    return Status::Invalid("invalid duration \"" + text + "\": use e.g. 500ms, 30s, 2m, 1h");
  };
  if (text.empty()) return bad();
  if (text.find_first_not_of("0123456789") == std::string::npos) {
    return std::chrono::milliseconds(std::stoll(text) * 1000);
  }
  long long total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    if (i == start || i - start > 12) return bad();
    long long n = std::stoll(text.substr(start, i - start));
    if (text.compare(i, 2, "ms") == 0) {
      total_ms += n;
      i += 2;
    } else if (i < text.size() && text[i] == 's') {
      total_ms += n * 1000;
      ++i;
    } else if (i < text.size() && text[i] == 'm') {
      total_ms += n * 60'000;
      ++i;
    } else if (i < text.size() && text[i] == 'h') {
      total_ms += n * 3'600'000;
      ++i;
    } else {
      return bad();
    }
  }
  return std::chrono::milliseconds(total_ms);
}

Result<std::vector<ObjectRef>> resolve_refs(const std::vector<std::string>& args) {
  std::vector<ObjectRef> out;
  if (args.empty()) {
    return Status::Invalid("you must provide one or more resources by argument or filename");
  }
  if (args[0].find('/') != std::string::npos) {
    for (const auto& a : args) {
      auto slash = a.find('/');
      if (slash == std::string::npos) {
        return Status::Invalid(
            "there is no need to specify a resource type as a separate "
            "argument when passing arguments in resource/name form");
      }
      auto info = resolve_kind(a.substr(0, slash));
      if (!info.ok()) return info.status();
      out.push_back({info.value(), a.substr(slash + 1)});
    }
    return out;
  }
  if (args.size() < 2) {
    return Status::Invalid("resource(s) were provided, but no name was specified");
  }
  auto info = resolve_kind(args[0]);
  if (!info.ok()) return info.status();
  for (size_t i = 1; i < args.size(); ++i) out.push_back({info.value(), args[i]});
  return out;
}

}  // namespace cenv::cli
