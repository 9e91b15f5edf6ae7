#include "api/access.h"

#include "api/display_text.h"

namespace cenv {

std::string Caller::describe() const {
  if (local) return "the local owner";
  std::string out = "user \"" + escape_for_display(user) + "\"";
  if (!groups.empty()) {
    out += " (groups ";
    for (size_t i = 0; i < groups.size(); ++i) {
      out += (i ? ", " : "") + escape_for_display(groups[i]);
    }
    out += ")";
  }
  return out;
}

Caller Caller::controller() {
  return Caller{.user = std::string(kControllerUser), .groups = {}, .local = false, .system = true};
}

std::string Caller::attribution() const {
  std::string out = escape_for_display(user);
  if (local) return out + " (the local owner)";
  if (!groups.empty()) {
    out += " (groups: ";
    for (size_t i = 0; i < groups.size(); ++i) {
      out += (i ? ", " : "") + escape_for_display(groups[i]);
    }
    out += ")";
  }
  return out;
}

std::string_view verb_name(Verb verb) {
  switch (verb) {
    case Verb::kGet:
      return "get";
    case Verb::kList:
      return "list";
    case Verb::kWatch:
      return "watch";
    case Verb::kLogs:
      return "read the logs of";
    case Verb::kApply:
      return "apply";
    case Verb::kCreate:
      return "create";
    case Verb::kUpdate:
      return "update";
    case Verb::kPatch:
      return "patch";
    case Verb::kDelete:
      return "delete";
    case Verb::kRun:
      return "run";
    case Verb::kUpdateStatus:
      return "update the status of";
  }
  return "use";
}

bool is_read(Verb verb) {
  return verb == Verb::kGet || verb == Verb::kList || verb == Verb::kWatch || verb == Verb::kLogs;
}

}  // namespace cenv
