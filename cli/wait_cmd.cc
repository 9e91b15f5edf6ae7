#include "cli/wait_cmd.h"

#include <algorithm>
#include <iostream>

#include "api/json_fields.h"
#include "api/jsonpath.h"
#include "cli/common.h"
#include "cli/printers.h"

namespace cenv::cli {

namespace json = boost::json;

namespace {

const json::object* find_condition(const Object& o, const std::string& type) {
  const json::array* conditions = array_field(o.status_or_null(), "conditions");
  if (!conditions) return nullptr;
  for (const json::value& c : *conditions) {
    if (c.is_object() && string_field(c.get_object(), "type") == type) {
      return &c.get_object();
    }
  }
  return nullptr;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

}  // namespace

Result<WaitCondition> WaitCondition::parse(const std::string& text) {
  WaitCondition c;
  if (text == "delete") {
    c.kind_ = Kind::kDelete;
    return c;
  }
  auto split_value = [&](const std::string& rest) {
    // The value follows the last '=' outside brackets and quotes (a JSONPath may hold '==').
    int depth = 0;
    char quote = 0;
    size_t eq = std::string::npos;
    for (size_t i = 0; i < rest.size(); ++i) {
      char ch = rest[i];
      if (quote) {
        if (ch == quote) quote = 0;
      } else if (ch == '"' || ch == '\'') {
        quote = ch;
      } else if (ch == '[' || ch == '(' || ch == '{') {
        ++depth;
      } else if (ch == ']' || ch == ')' || ch == '}') {
        --depth;
      } else if (ch == '=' && depth == 0) {
        eq = i;
      }
    }
    if (eq == std::string::npos) {
      c.name_ = rest;
    } else {
      c.name_ = rest.substr(0, eq);
      c.value_ = rest.substr(eq + 1);
      c.has_value_ = true;
    }
  };
  if (text.rfind("condition=", 0) == 0) {
    c.kind_ = Kind::kCondition;
    split_value(text.substr(10));
    if (!c.has_value_) {
      c.value_ = "True";
      c.has_value_ = true;
    }
    if (c.name_.empty()) return Status::Invalid("--for=condition=: a condition name is required");
    return c;
  }
  if (text.rfind("jsonpath=", 0) == 0) {
    c.kind_ = Kind::kJsonPath;
    split_value(text.substr(9));
    auto path = JsonPath::parse(c.name_);
    if (!path.ok()) return Status::Invalid("--for=" + text + ": " + path.status().message());
    return c;
  }
  return Status::Invalid("unrecognized condition: \"" + text +
                         "\": use --for=condition=NAME[=VALUE], --for=delete or "
                         "--for=jsonpath='{.path}'=VALUE");
}

Status WaitCondition::check_fields(const KindInfo& kind) const {
  if (kind_ != Kind::kJsonPath) return Status::Ok();
  auto path = JsonPath::parse(name_);
  if (!path.ok()) return path.status();
  const json::object* schema = &kind.schema;
  std::string walked;  // "status.conditions[].status", for the message
  std::string dotted;  // "status.conditions.status", as `cenv explain` takes it
  for (const std::string& el : path->schema_path()) {
    if (el == "[]") {
      schema = object_field(*schema, "items");
      if (!schema) return Status::Ok();
      walked += "[]";
      continue;
    }
    const json::object* props = object_field(*schema, "properties");
    // Free-form parts (metadata, maps) have no declared properties: nothing to check there.
    if (!props || schema->contains("additionalProperties") ||
        schema->contains("x-kubernetes-preserve-unknown-fields")) {
      return Status::Ok();
    }
    const json::object* field = object_field(*props, el);
    if (!field) {
      std::string where = lower_kind(kind.kind) + (dotted.empty() ? "" : "." + dotted);
      return Status::Invalid("--for=jsonpath: field \"" + walked + (walked.empty() ? "" : ".") +
                             el + "\" does not exist in " + kind.kind + " (`cenv explain " + where +
                             "` lists the fields)");
    }
    walked += (walked.empty() ? "" : ".") + el;
    dotted += (dotted.empty() ? "" : ".") + el;
    schema = field;
  }
  return Status::Ok();
}

bool WaitCondition::met(const Object* object) const {
  if (kind_ == Kind::kDelete) return object == nullptr;
  if (!object) return false;
  if (kind_ == Kind::kCondition) {
    const json::object* cond = find_condition(*object, name_);
    if (!cond) return false;
    // A condition about an older generation says nothing about the current spec.
    if (std::optional<int64_t> og = int64_field(*cond, "observedGeneration");
        og && *og < object->generation()) {
      return false;
    }
    return iequals(string_field(*cond, "status"), value_);
  }
  auto path = JsonPath::parse(name_);
  if (!path.ok()) return false;
  json::value root(object->json());
  auto values = path->eval(root);
  if (!has_value_) return !values.empty();
  return !values.empty() && jsonpath_text(values) == value_;
}

std::string WaitCondition::describe() const {
  switch (kind_) {
    case Kind::kDelete:
      return "deletion";
    case Kind::kCondition:
      return "condition " + name_ + "=" + value_;
    case Kind::kJsonPath:
      return "jsonpath " + name_ + (has_value_ ? "=" + value_ : "");
  }
  return "";
}

std::string WaitCondition::current(const Object* object) const {
  if (!object) return "not found";
  if (kind_ == Kind::kDelete) return "still exists";
  if (kind_ == Kind::kJsonPath) {
    auto path = JsonPath::parse(name_);
    json::value root(object->json());
    std::string v = path.ok() ? jsonpath_text(path->eval(root)) : "";
    return name_ + (v.empty() ? " is empty" : "=" + v);
  }
  const json::object* cond = find_condition(*object, name_);
  std::string phase(string_field(object->status_or_null(), "phase"));
  if (!cond) return name_ + " not reported yet" + (phase.empty() ? "" : " (phase " + phase + ")");
  std::string out = name_ + "=" + std::string(string_field(*cond, "status"));
  if (std::optional<int64_t> og = int64_field(*cond, "observedGeneration");
      og && *og < object->generation()) {
    return out + " for generation " + std::to_string(*og) + "; the controller has not seen " +
           "generation " + std::to_string(object->generation()) + " yet";
  }
  std::string_view reason = string_field(*cond, "reason");
  std::string_view message = string_field(*cond, "message");
  if (!reason.empty() || !message.empty()) {
    out += " (" + std::string(reason) + (message.empty() ? "" : ": " + std::string(message)) + ")";
  }
  return out;
}

Result<WaitOutcome> wait_for_object(ControllerClient& client, const std::string& kind,
                                    const std::string& ns, const std::string& name,
                                    const std::vector<WaitCondition>& any_of,
                                    std::chrono::system_clock::time_point deadline,
                                    const std::function<void(const std::string&)>& on_progress,
                                    const std::function<std::string(const Object&)>& not_yet) {
  WaitOutcome outcome;
  bool awaits_delete = std::any_of(any_of.begin(), any_of.end(),
                                   [](const WaitCondition& c) { return c.is_delete(); });
  // Checks `obj` (nullptr: gone); reports a changed state; true when a condition is met.
  auto check = [&](const Object* obj) {
    std::string state = obj && not_yet ? not_yet(*obj) : "";
    for (size_t i = 0; state.empty() && i < any_of.size(); ++i) {
      if (any_of[i].met(obj)) {
        outcome.met = true;
        outcome.met_index = i;
        outcome.state = any_of.front().current(obj);
        return true;
      }
    }
    if (state.empty() && !any_of.empty()) state = any_of.front().current(obj);
    if (state != outcome.state) {
      outcome.state = state;
      if (on_progress) on_progress(state);
    }
    return false;
  };
  auto current = client.get(kind, ns, name);
  if (!current.ok() && current.status().code() != Code::kNotFound) return current.status();
  if (!current.ok() && !awaits_delete) return current.status();
  if (check(current.ok() ? &current.value() : nullptr)) return outcome;
  Status s = client.watch(
      kind, ns, "", "",
      [&](const std::string& type, const Object& o) {
        if (type == "BOOKMARK" || o.name() != name) return true;
        return !check(type == "DELETED" ? nullptr : &o);
      },
      deadline);
  if (outcome.met) return outcome;
  if (!s.ok() && s.message() != "timed out") return s;
  // The deadline passed: one last look, so the state reported is the latest.
  auto latest = client.get(kind, ns, name);
  if (!latest.ok() && latest.status().code() != Code::kNotFound) return outcome;
  check(latest.ok() ? &latest.value() : nullptr);
  return outcome;
}

int run_wait(const Context& context, const std::string& ns_flag, const WaitFlags& flags) {
  if (flags.for_condition.empty()) {
    print_error(Status::Invalid("--for is required"), false);
    return 1;
  }
  auto cond = WaitCondition::parse(flags.for_condition);
  if (!cond.ok()) {
    print_error(cond.status(), false);
    return 1;
  }
  auto timeout = parse_duration(flags.timeout);
  if (!timeout.ok()) {
    print_error(timeout.status(), false);
    return 1;
  }
  auto refs = resolve_refs(flags.args);
  if (!refs.ok()) {
    print_error(refs.status(), false);
    return 1;
  }
  for (const ObjectRef& ref : refs.value()) {
    if (Status s = cond->check_fields(*ref.kind); !s.ok()) {
      print_error(s, false);
      return 1;
    }
  }
  std::string ns = ns_flag.empty() ? "default" : ns_flag;
  auto deadline = std::chrono::system_clock::now() + timeout.value();
  auto client = context.connect();
  int rc = 0;
  for (const ObjectRef& ref : refs.value()) {
    std::string target_ns = ref.kind->namespaced ? ns : "";
    auto outcome = wait_for_object(*client, ref.kind->kind, target_ns, ref.name, {cond.value()},
                                   deadline, nullptr);
    if (!outcome.ok()) {
      print_error(outcome.status());
      if (outcome.status().code() != Code::kNotFound) return 1;
      rc = 1;
      continue;
    }
    if (!outcome->met) {
      std::cerr << "error: timed out waiting for the " << cond->describe() << " on "
                << ref.kind->plural << "/" << ref.name << " (now: " << outcome->state << ")\n";
      rc = 1;
      continue;
    }
    std::cout << lower_kind(ref.kind->kind) << "/" << ref.name << " condition met\n";
  }
  return rc;
}

}  // namespace cenv::cli
