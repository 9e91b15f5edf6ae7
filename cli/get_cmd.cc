#include "cli/get_cmd.h"

#include <algorithm>
#include <iostream>
#include <utility>

#include "api/kinds.h"
#include "cli/common.h"
#include "cli/printers.h"

namespace cenv::cli {

namespace {

// One kind to get, with the names asked for (empty: every object).
struct GetRequest {
  const KindInfo* kind = nullptr;
  std::vector<std::string> names;
};

// kubectl hides metadata.managedFields unless asked.
Object for_output(Object o, const GetFlags& flags) {
  if (!flags.show_managed_fields) o.metadata().erase("managedFields");
  return o;
}

// The (kind, names) of the arguments, in the order asked: "svc web db", "svc,env",
// "svc/web env/demo", "all". Invalid or NotFound (an unknown kind) with kubectl's words.
Result<std::vector<GetRequest>> parse_requests(const std::vector<std::string>& args) {
  if (args.empty()) {
    return Status::Invalid(
        "you must specify the type of resource to get. Use \"cenv api-resources\" for a "
        "complete list of supported resources.");
  }
  std::vector<GetRequest> requests;
  if (args[0].find('/') != std::string::npos) {
    for (const auto& a : args) {
      auto slash = a.find('/');
      if (slash == std::string::npos) {
        return Status::Invalid(
            "there is no need to specify a resource type as a separate argument when passing "
            "arguments in resource/name form");
      }
      auto info = resolve_kind(a.substr(0, slash));
      if (!info.ok()) return info.status();
      requests.push_back({info.value(), {a.substr(slash + 1)}});
    }
    return requests;
  }
  std::vector<std::string> kinds = split(args[0], ',');
  if (kinds.size() == 1 && kinds[0] == "all") {
    kinds.clear();
    for (const auto& k : registry().kinds()) {
      // As kubectl's "all", Events (`cenv events` shows them) and RoleBindings are not part
      // of it.
      if (k.namespaced && k.kind != "Event" && k.kind != "RoleBinding") kinds.push_back(k.kind);
    }
  }
  std::vector<std::string> names(args.begin() + 1, args.end());
  if (kinds.size() > 1 && !names.empty()) {
    return Status::Invalid("names cannot be given with more than one resource type");
  }
  for (const auto& k : kinds) {
    auto info = resolve_kind(k);
    if (!info.ok()) return info.status();
    requests.push_back({info.value(), names});
  }
  return requests;
}

// `get -w`: the current objects (unless --watch-only), then every change as it happens.
int run_get_watch(const Context& context, const GetFlags& flags, const GetRequest& request,
                  const std::string& ns, OutputFormat format) {
  const KindInfo& info = *request.kind;
  const std::vector<std::string>& names = request.names;
  auto client = context.connect();
  bool header_printed = flags.no_headers;
  bool initial = true;
  Status s = client->watch(
      info.kind, info.namespaced ? ns : "", flags.selector, "",
      [&](const std::string& type, const Object& o) {
        if (type == "BOOKMARK") {
          initial = false;  // the first bookmark closes the initial list
          return true;
        }
        if (initial && flags.watch_only) return true;
        if (!names.empty() && std::find(names.begin(), names.end(), o.name()) == names.end()) {
          return true;
        }
        switch (format) {
          case OutputFormat::kName:
            std::cout << object_ref(o) << "\n";
            break;
          case OutputFormat::kYaml:
            std::cout << "---\n";
            print_objects({for_output(o, flags)}, false, format, std::cout);
            break;
          case OutputFormat::kJson:
            print_objects({for_output(o, flags)}, false, format, std::cout);
            break;
          default: {
            TableOptions options;
            options.wide = format == OutputFormat::kWide;
            options.with_namespace = flags.all_namespaces;
            options.headers = !header_printed;
            header_printed = true;
            print_table(info, {o}, options, std::chrono::system_clock::now(), std::cout);
          }
        }
        std::cout.flush();
        return true;
      });
  if (!s.ok()) {
    print_error(s);
    return 1;
  }
  return 0;
}

// The objects of one request: listed, or fetched by name (a missing one is printed as an
// error and sets `rc` to 1).
Result<std::vector<Object>> fetch(ControllerClient& client, const GetRequest& request,
                                  const std::string& ns, const std::string& selector, int& rc) {
  const std::string target_ns = request.kind->namespaced ? ns : "";
  if (request.names.empty()) {
    auto list = client.list(request.kind->kind, target_ns, selector);
    if (!list.ok()) return list.status();
    return std::move(list->first);
  }
  std::vector<Object> objects;
  for (const auto& name : request.names) {
    auto obj = client.get(request.kind->kind, target_ns, name);
    if (!obj.ok()) {
      print_error(obj.status());
      rc = 1;
      continue;
    }
    objects.push_back(std::move(obj.value()));
  }
  return objects;
}

}  // namespace

int run_get(const Context& context, const std::string& ns_flag, const GetFlags& flags) {
  auto format = parse_output_format(flags.output);
  if (!format.ok()) {
    print_error(format.status(), /*from_server=*/false);
    return 1;
  }
  auto requests = parse_requests(flags.args);
  if (!requests.ok()) {
    print_error(requests.status(), /*from_server=*/false);
    return 1;
  }
  bool multi_kind = requests->size() > 1 || flags.args[0] == "all";
  std::string ns = flags.all_namespaces ? "" : (ns_flag.empty() ? "default" : ns_flag);
  if (flags.watch || flags.watch_only) {
    if (requests->size() != 1) {
      std::cerr << "error: you may only watch one resource type at a time\n";
      return 1;
    }
    return run_get_watch(context, flags, requests->front(), ns, format.value());
  }
  auto client = context.connect();
  int rc = 0;
  bool printed_table = false;
  std::vector<Object> collected;  // for yaml/json/name
  size_t named = 0;
  auto now = std::chrono::system_clock::now();
  for (const GetRequest& request : requests.value()) {
    named += request.names.size();
    auto objects = fetch(*client, request, ns, flags.selector, rc);
    if (!objects.ok()) {
      print_error(objects.status());
      return 1;
    }
    if (format.value() == OutputFormat::kTable || format.value() == OutputFormat::kWide) {
      if (objects->empty()) continue;
      if (printed_table) std::cout << "\n";
      TableOptions options;
      options.wide = format.value() == OutputFormat::kWide;
      options.with_namespace = flags.all_namespaces;
      options.with_kind_prefix = multi_kind;
      options.headers = !flags.no_headers;
      print_table(*request.kind, objects.value(), options, now, std::cout);
      printed_table = true;
    } else {
      for (auto& o : objects.value()) collected.push_back(for_output(std::move(o), flags));
    }
  }
  if (format.value() == OutputFormat::kName) {
    for (const auto& o : collected) std::cout << object_ref(o) << "\n";
  } else if (format.value() == OutputFormat::kYaml || format.value() == OutputFormat::kJson) {
    // As kubectl: one name asked for is the object itself, or nothing but its error when it
    // is missing; anything else is a List of what was found.
    bool single = named == 1 && requests->size() == 1;
    if (!single || !collected.empty()) {
      print_objects(collected, !single, format.value(), std::cout);
    }
  } else if (!printed_table && rc == 0) {
    bool cluster_only = std::all_of(requests->begin(), requests->end(),
                                    [](const GetRequest& r) { return !r.kind->namespaced; });
    if (flags.all_namespaces || cluster_only) {
      std::cerr << "No resources found\n";
    } else {
      std::cerr << "No resources found in " << ns << " namespace.\n";
    }
  }
  return rc;
}

}  // namespace cenv::cli
