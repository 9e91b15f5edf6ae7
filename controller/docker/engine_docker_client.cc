#include "controller/docker/engine_docker_client.h"

#include <boost/json.hpp>
#include <cstdio>
#include <utility>

#include "api/json_fields.h"
#include "controller/docker/engine_json.h"
#include "controller/docker/engine_status.h"
#include "controller/docker/engine_transport.h"
#include "controller/docker/stream_demuxer.h"

namespace cenv::docker {

namespace json = boost::json;

namespace {

bool is_unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

// Percent-encodes `s`, keeping unreserved characters and those in `keep`.
std::string escape(std::string_view s, std::string_view keep = "") {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (is_unreserved(c) || keep.find(c) != std::string_view::npos) {
      out.push_back(c);
    } else {
      auto u = static_cast<unsigned char>(c);
      out.push_back('%');
      out.push_back(kHex[u >> 4]);
      out.push_back(kHex[u & 15]);
    }
  }
  return out;
}

// A path segment naming an object: ids, names and image references ("repo/x:tag").
std::string seg(std::string_view s) { return escape(s, ":/@"); }

class Query {
 public:
  Query& add(std::string_view key, std::string_view value) {
    out_ += out_.empty() ? '?' : '&';
    out_ += escape(key);
    out_ += '=';
    out_ += escape(value);
    return *this;
  }
  Query& flag(std::string_view key, bool on) { return on ? add(key, "1") : *this; }
  Query& add_if(std::string_view key, std::string_view value) {
    return value.empty() ? *this : add(key, value);
  }
  const std::string& str() const { return out_; }

 private:
  std::string out_;
};

// (major, minor) of "1.41"; (0, 0) when malformed.
std::pair<int, int> parse_api_version(std::string_view v) {
  int major = 0, minor = 0;
  if (std::sscanf(std::string(v).c_str(), "%d.%d", &major, &minor) != 2) return {0, 0};
  return {major, minor};
}

const char* condition_param(WaitCondition c) {
  switch (c) {
    case WaitCondition::kNotRunning:
      return "not-running";
    case WaitCondition::kNextExit:
      return "next-exit";
    case WaitCondition::kRemoved:
      return "removed";
  }
  return "not-running";
}

// Splits a stream of newline-terminated JSON messages (events, build and pull progress).
class MessageSplitter {
 public:
  // Calls on_message for each complete line; false when it returned false.
  template <class F>
  bool feed(std::string_view bytes, F&& on_message) {
    buf_.append(bytes);
    size_t start = 0;
    for (size_t nl; (nl = buf_.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view line(buf_.data() + start, nl - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (line.empty()) continue;
      if (!on_message(line)) {
        buf_.erase(0, nl + 1);
        return false;
      }
    }
    buf_.erase(0, start);
    return true;
  }
  // What is left without a newline at the end of the stream.
  std::string_view rest() const { return buf_; }

 private:
  std::string buf_;
};

// Turns "stream" text pieces into whole lines.
class LineBuffer {
 public:
  bool feed(std::string_view text, const ProgressCallback& on_line) {
    buf_.append(text);
    size_t start = 0;
    for (size_t nl; (nl = buf_.find('\n', start)) != std::string::npos; start = nl + 1) {
      std::string_view line(buf_.data() + start, nl - start);
      if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
      if (on_line && !on_line(line)) {
        buf_.erase(0, nl + 1);
        return false;
      }
    }
    buf_.erase(0, start);
    return true;
  }
  bool flush(const ProgressCallback& on_line) {
    if (buf_.empty()) return true;
    std::string rest = std::move(buf_);
    buf_.clear();
    return !on_line || on_line(rest);
  }

 private:
  std::string buf_;
};

// A registry that cannot be reached is Unavailable, whatever HTTP status carried it.
bool looks_unreachable(std::string_view message) {
  for (std::string_view needle :
       {"dial tcp", "no such host", "i/o timeout", "connection refused", "TLS handshake timeout",
        "network is unreachable", "Client.Timeout exceeded"}) {
    if (message.find(needle) != std::string_view::npos) return true;
  }
  return false;
}

// An error message inside a JSON progress stream ({"error": ..., "errorDetail": ...}).
// A detail whose message is "" still wins over "error": string_field cannot tell "" from absent.
std::string stream_error(const json::object& o) {
  if (const json::object* detail = object_field(o, "errorDetail")) {
    if (const auto* m = detail->if_contains("message"); m && m->is_string()) {
      return std::string(m->get_string());
    }
  }
  return std::string(string_field(o, "error"));
}

}  // namespace

// ---- options and connect ----

EngineOptions EngineOptions::from_environment(
    const std::function<const char*(const char*)>& getenv) {
  auto env = [&](const char* name) -> std::string {
    const char* v = getenv(name);
    return v ? std::string(v) : std::string();
  };
  EngineOptions o;
  if (std::string host = env("DOCKER_HOST"); !host.empty()) o.host = host;
  o.tls_verify = !env("DOCKER_TLS_VERIFY").empty();
  o.tls = o.tls_verify || !env("DOCKER_TLS").empty();
  o.cert_path = env("DOCKER_CERT_PATH");
  if (o.cert_path.empty()) {
    std::string home = env("HOME");
    o.cert_path = (home.empty() ? std::string(".") : home) + "/.docker";
  }
  o.api_version = env("DOCKER_API_VERSION");
  return o;
}

EngineDockerClient::EngineDockerClient(EngineOptions options,
                                       std::unique_ptr<EngineTransport> transport)
    : options_(std::move(options)), transport_(std::move(transport)) {}

EngineDockerClient::~EngineDockerClient() = default;

Result<std::unique_ptr<EngineDockerClient>> EngineDockerClient::connect(
    const EngineOptions& options) {
  auto transport = EngineTransport::create(options);
  if (!transport.ok()) return transport.status();
  std::unique_ptr<EngineDockerClient> client(
      new EngineDockerClient(options, std::move(*transport)));
  auto pong = client->transport_->roundtrip(EngineRequest(HttpMethod::kGet, "/_ping"),
                                            options.request_timeout);
  if (!pong.ok()) return pong.status();
  if (pong->status != 200) {
    return status_from_http(pong->status, pong->body)
        .with_prefix("docker at " + client->endpoint() + ": ping");
  }
  std::string version = options.api_version;
  if (version.empty()) {
    // Daemons older than API 1.25 send no header; they are older than we accept anyway.
    std::string server = pong->api_version.empty() ? "1.24" : pong->api_version;
    version =
        parse_api_version(server) < parse_api_version(kMaxApiVersion) ? server : kMaxApiVersion;
  }
  if (parse_api_version(version) < parse_api_version(kMinApiVersion)) {
    return Status::FailedPrecondition("docker at " + client->endpoint() + " speaks API " + version +
                                      "; cenv needs " + kMinApiVersion +
                                      " or newer (Docker 19.03+)");
  }
  client->api_version_ = version;
  return client;
}

std::string EngineDockerClient::endpoint() const { return transport_->endpoint(); }

std::string EngineDockerClient::path(std::string_view p) const {
  return "/v" + api_version_ + std::string(p);
}

namespace {

// Runs a unary call and maps its HTTP status; the body on success.
Result<std::string> call(EngineTransport& t, const EngineOptions& options, HttpMethod method,
                         std::string target, std::string body = {},
                         ConflictMeans conflict = ConflictMeans::kConflict,
                         std::chrono::milliseconds extra_time = {}) {
  EngineRequest request(method, std::move(target), std::move(body));
  auto response = t.roundtrip(request, options.request_timeout + extra_time);
  if (!response.ok()) return response.status();
  Status s = status_from_http(response->status, response->body, conflict);
  if (!s.ok()) return s;
  return std::move(response->body);
}

Status call_status(EngineTransport& t, const EngineOptions& options, HttpMethod method,
                   std::string target, std::string body = {},
                   ConflictMeans conflict = ConflictMeans::kConflict,
                   std::chrono::milliseconds extra_time = {}) {
  auto r = call(t, options, method, std::move(target), std::move(body), conflict, extra_time);
  return r.ok() ? Status::Ok() : r.status();
}

}  // namespace

// ---- engine ----

Status EngineDockerClient::ping() {
  return call_status(*transport_, options_, HttpMethod::kGet, "/_ping");
}

Result<EngineVersion> EngineDockerClient::version() {
  auto body = call(*transport_, options_, HttpMethod::kGet, path("/version"));
  if (!body.ok()) return body.status();
  auto v = parse_version(*body);
  if (!v.ok()) return v.status();
  v->api_version = api_version_;
  return v;
}

// ---- containers ----

Result<std::string> EngineDockerClient::create_container(const ContainerSpec& spec) {
  Query q;
  q.add_if("name", spec.name);
  auto body = call(*transport_, options_, HttpMethod::kPost, path("/containers/create" + q.str()),
                   container_create_body(spec), ConflictMeans::kAlreadyExists);
  if (!body.ok()) return body.status();
  return parse_created_id(*body);
}

Status EngineDockerClient::start_container(const std::string& id) {
  return call_status(*transport_, options_, HttpMethod::kPost,
                     path("/containers/" + seg(id) + "/start"));
}

Status EngineDockerClient::stop_container(const std::string& id,
                                          std::optional<int> timeout_seconds) {
  Query q;
  if (timeout_seconds) q.add("t", std::to_string(*timeout_seconds));
  // The daemon answers after the container stopped: allow for its whole stop timeout
  // (unknown here when not given; Docker's longest sensible default).
  auto extra = std::chrono::seconds(timeout_seconds ? *timeout_seconds : 300);
  return call_status(*transport_, options_, HttpMethod::kPost,
                     path("/containers/" + seg(id) + "/stop" + q.str()), {},
                     ConflictMeans::kConflict, extra);
}

Status EngineDockerClient::kill_container(const std::string& id, const std::string& signal) {
  Query q;
  q.add_if("signal", signal);
  return call_status(*transport_, options_, HttpMethod::kPost,
                     path("/containers/" + seg(id) + "/kill" + q.str()));
}

Status EngineDockerClient::remove_container(const std::string& id,
                                            const RemoveContainerOptions& options) {
  Query q;
  q.flag("force", options.force).flag("v", options.volumes);
  return call_status(*transport_, options_, HttpMethod::kDelete,
                     path("/containers/" + seg(id) + q.str()));
}

Status EngineDockerClient::rename_container(const std::string& id, const std::string& new_name) {
  Query q;
  q.add("name", new_name);
  return call_status(*transport_, options_, HttpMethod::kPost,
                     path("/containers/" + seg(id) + "/rename" + q.str()), {},
                     ConflictMeans::kAlreadyExists);
}

Result<ContainerInfo> EngineDockerClient::inspect_container(const std::string& id) {
  auto body =
      call(*transport_, options_, HttpMethod::kGet, path("/containers/" + seg(id) + "/json"));
  if (!body.ok()) return body.status();
  return parse_container_info(*body);
}

Result<std::vector<ContainerSummary>> EngineDockerClient::list_containers(
    const ListContainersOptions& options) {
  Query q;
  q.flag("all", options.all);
  std::map<std::string, std::vector<std::string>> filters{{"label", options.label_filters}};
  if (!options.name.empty()) filters["name"] = {options.name};
  q.add_if("filters", filters_json(filters));
  auto body = call(*transport_, options_, HttpMethod::kGet, path("/containers/json" + q.str()));
  if (!body.ok()) return body.status();
  return parse_container_list(*body);
}

Result<WaitResult> EngineDockerClient::wait_container(
    const std::string& id, WaitCondition condition, std::stop_token stop,
    std::optional<std::chrono::milliseconds> timeout) {
  Query q;
  q.add("condition", condition_param(condition));
  EngineRequest request(HttpMethod::kPost, path("/containers/" + seg(id) + "/wait" + q.str()));
  std::string body;
  auto end = transport_->stream(
      request, nullptr,
      [&](std::string_view bytes) {
        body.append(bytes);
        return true;
      },
      stop, timeout);
  if (!end.ok()) return end.status();
  if (end->cancelled) return Status::Unavailable("waiting for container " + id + ": cancelled");
  if (end->status >= 300) return status_from_http(end->status, end->error_body);
  return parse_wait_result(body);
}

Result<bool> EngineDockerClient::container_tty(const std::string& id) {
  auto info = inspect_container(id);
  if (!info.ok()) return info.status();
  return info->tty;
}

Status EngineDockerClient::container_logs(const std::string& id, const LogsOptions& options,
                                          const OutputCallback& on_output, std::stop_token stop) {
  auto tty = container_tty(id);
  if (!tty.ok()) return tty.status();
  Query q;
  q.flag("follow", options.follow)
      .flag("stdout", options.show_stdout)
      .flag("stderr", options.show_stderr)
      .flag("timestamps", options.timestamps);
  if (options.since) q.add("since", unix_time_param(*options.since));
  if (options.tail) q.add("tail", std::to_string(*options.tail));
  EngineRequest request(HttpMethod::kGet, path("/containers/" + seg(id) + "/logs" + q.str()));
  StreamDemuxer demux(*tty);
  auto end = transport_->stream(
      request, nullptr, [&](std::string_view bytes) { return demux.feed(bytes, on_output); }, stop);
  if (!end.ok()) return end.status();
  if (end->status >= 300) return status_from_http(end->status, end->error_body);
  if (end->cancelled) return Status::Ok();
  if (end->stopped) return demux.error();
  return demux.finish();
}

Status EngineDockerClient::attach_container(const std::string& id, const AttachOptions& options,
                                            const OutputCallback& on_output, std::stop_token stop) {
  auto tty = container_tty(id);
  if (!tty.ok()) return tty.status();
  Query q;
  q.flag("stream", options.stream)
      .flag("logs", options.logs)
      .flag("stdin", options.stdin_pipe != nullptr)
      .flag("stdout", options.show_stdout)
      .flag("stderr", options.show_stderr);
  EngineRequest request(HttpMethod::kPost, path("/containers/" + seg(id) + "/attach" + q.str()));
  StreamDemuxer demux(*tty);
  auto end = transport_->hijack(
      request, options.stdin_pipe.get(), options.on_attached,
      [&](std::string_view bytes) { return demux.feed(bytes, on_output); }, stop);
  if (!end.ok()) return end.status();
  if (end->status != 101 && end->status != 200) {
    return status_from_http(end->status, end->error_body);
  }
  if (end->cancelled) return Status::Ok();
  if (end->stopped) return demux.error();
  return demux.finish();
}

// ---- exec ----

Result<std::string> EngineDockerClient::create_exec(const std::string& container_id,
                                                    const ExecSpec& spec) {
  auto body = call(*transport_, options_, HttpMethod::kPost,
                   path("/containers/" + seg(container_id) + "/exec"), exec_create_body(spec));
  if (!body.ok()) return body.status();
  return parse_created_id(*body);
}

Status EngineDockerClient::start_exec(const std::string& exec_id, const ExecStartOptions& options,
                                      const OutputCallback& on_output, std::stop_token stop) {
  auto info = inspect_exec(exec_id);
  if (!info.ok()) return info.status();
  json::object start{{"Detach", options.detach}, {"Tty", info->tty}};
  std::string target = path("/exec/" + seg(exec_id) + "/start");
  if (options.detach) {
    return call_status(*transport_, options_, HttpMethod::kPost, target, json::serialize(start));
  }
  EngineRequest request(HttpMethod::kPost, target, json::serialize(start));
  StreamDemuxer demux(info->tty);
  auto end = transport_->hijack(
      request, options.stdin_pipe.get(), nullptr,
      [&](std::string_view bytes) { return demux.feed(bytes, on_output); }, stop);
  if (!end.ok()) return end.status();
  if (end->status != 101 && end->status != 200) {
    return status_from_http(end->status, end->error_body);
  }
  if (end->cancelled) return Status::Ok();
  if (end->stopped) return demux.error();
  return demux.finish();
}

Result<ExecInfo> EngineDockerClient::inspect_exec(const std::string& exec_id) {
  auto body =
      call(*transport_, options_, HttpMethod::kGet, path("/exec/" + seg(exec_id) + "/json"));
  if (!body.ok()) return body.status();
  return parse_exec_info(*body);
}

// ---- networks ----

Result<std::string> EngineDockerClient::create_network(const NetworkSpec& spec) {
  auto body = call(*transport_, options_, HttpMethod::kPost, path("/networks/create"),
                   network_create_body(spec), ConflictMeans::kAlreadyExists);
  if (!body.ok()) return body.status();
  return parse_created_id(*body);
}

Result<NetworkInfo> EngineDockerClient::inspect_network(const std::string& id_or_name) {
  auto body = call(*transport_, options_, HttpMethod::kGet, path("/networks/" + seg(id_or_name)));
  if (!body.ok()) return body.status();
  return parse_network_info(*body);
}

Status EngineDockerClient::remove_network(const std::string& id_or_name) {
  return call_status(*transport_, options_, HttpMethod::kDelete,
                     path("/networks/" + seg(id_or_name)));
}

Result<std::vector<NetworkInfo>> EngineDockerClient::list_networks(
    const std::vector<std::string>& label_filters) {
  Query q;
  q.add_if("filters", filters_json({{"label", label_filters}}));
  auto body = call(*transport_, options_, HttpMethod::kGet, path("/networks" + q.str()));
  if (!body.ok()) return body.status();
  return parse_network_list(*body);
}

Status EngineDockerClient::connect_network(const std::string& network, const std::string& container,
                                           const std::vector<std::string>& aliases) {
  json::object endpoint;
  if (!aliases.empty()) {
    json::array a;
    for (const auto& s : aliases) a.emplace_back(s);
    endpoint["Aliases"] = std::move(a);
  }
  json::object body{{"Container", container}, {"EndpointConfig", std::move(endpoint)}};
  return call_status(*transport_, options_, HttpMethod::kPost,
                     path("/networks/" + seg(network) + "/connect"), json::serialize(body));
}

Status EngineDockerClient::disconnect_network(const std::string& network,
                                              const std::string& container, bool force) {
  json::object body{{"Container", container}, {"Force", force}};
  return call_status(*transport_, options_, HttpMethod::kPost,
                     path("/networks/" + seg(network) + "/disconnect"), json::serialize(body));
}

// ---- volumes ----

Result<VolumeInfo> EngineDockerClient::create_volume(const VolumeSpec& spec) {
  auto body = call(*transport_, options_, HttpMethod::kPost, path("/volumes/create"),
                   volume_create_body(spec), ConflictMeans::kAlreadyExists);
  if (!body.ok()) return body.status();
  return parse_volume_info(*body);
}

Result<VolumeInfo> EngineDockerClient::inspect_volume(const std::string& name) {
  auto body = call(*transport_, options_, HttpMethod::kGet, path("/volumes/" + seg(name)));
  if (!body.ok()) return body.status();
  return parse_volume_info(*body);
}

Status EngineDockerClient::remove_volume(const std::string& name, bool force) {
  Query q;
  q.flag("force", force);
  return call_status(*transport_, options_, HttpMethod::kDelete,
                     path("/volumes/" + seg(name) + q.str()));
}

Result<std::vector<VolumeInfo>> EngineDockerClient::list_volumes(
    const std::vector<std::string>& label_filters) {
  Query q;
  q.add_if("filters", filters_json({{"label", label_filters}}));
  auto body = call(*transport_, options_, HttpMethod::kGet, path("/volumes" + q.str()));
  if (!body.ok()) return body.status();
  return parse_volume_list(*body);
}

// ---- images ----

Result<ImageInfo> EngineDockerClient::inspect_image(const std::string& ref) {
  auto body = call(*transport_, options_, HttpMethod::kGet, path("/images/" + seg(ref) + "/json"));
  if (!body.ok()) return body.status();
  return parse_image_info(*body);
}

Result<std::vector<ImageInfo>> EngineDockerClient::list_images(const ListImagesOptions& options) {
  Query q;
  std::map<std::string, std::vector<std::string>> filters{{"label", options.label_filters}};
  if (!options.reference.empty()) filters["reference"] = {options.reference};
  q.add_if("filters", filters_json(filters));
  auto body = call(*transport_, options_, HttpMethod::kGet, path("/images/json" + q.str()));
  if (!body.ok()) return body.status();
  return parse_image_list(*body);
}

namespace {

// A pull's or push's failure: Docker's message, classified. `http_status` 0: the error came in
// the progress stream (after a 200).
Status registry_failure(std::string_view op, const std::string& ref, unsigned http_status,
                        const std::string& message) {
  std::string text = std::string(op) + " " + ref + ": " + message;
  if (looks_unreachable(message)) return Status::Unavailable(std::move(text));
  for (std::string_view needle : {"no basic auth credentials", "unauthorized",
                                  "authentication required", "incorrect username or password"}) {
    if (message.find(needle) != std::string::npos) return Status::Unauthenticated(std::move(text));
  }
  if (http_status == 404 || message.find("not found") != std::string::npos ||
      message.find("does not exist") != std::string::npos) {
    return Status::NotFound(std::move(text));
  }
  if (http_status != 0) return Status(status_from_http(http_status, "").code(), std::move(text));
  return Status::Internal(std::move(text));
}

}  // namespace

Status EngineDockerClient::registry_stream(std::string_view op, const std::string& ref,
                                           EngineRequest request,
                                           const std::optional<RegistryAuth>& auth,
                                           const ProgressCallback& on_progress,
                                           std::stop_token stop) {
  request.headers.emplace_back("X-Registry-Auth", registry_auth_header(auth));
  MessageSplitter splitter;
  std::string error;
  auto end = transport_->stream(
      request, nullptr,
      [&](std::string_view bytes) {
        return splitter.feed(bytes, [&](std::string_view line) {
          boost::system::error_code ec;
          json::value v = json::parse(line, ec);
          if (ec || !v.is_object()) return true;  // not ours to judge; keep going
          const json::object& o = v.get_object();
          if (std::string e = stream_error(o); !e.empty()) {
            error = std::move(e);
            return false;
          }
          if (!on_progress) return true;
          std::string text;
          if (std::string_view id = string_field(o, "id"); !id.empty()) {
            text = std::string(id) + ": ";
          }
          text += string_field(o, "status");
          if (std::string_view p = string_field(o, "progress"); !p.empty()) {
            text += " " + std::string(p);
          }
          return on_progress(text);
        });
      },
      stop);
  if (!end.ok()) return end.status();
  if (end->status >= 300) {
    return registry_failure(op, ref, end->status,
                            engine_error_message(end->status, end->error_body));
  }
  if (!error.empty()) return registry_failure(op, ref, 0, error);
  return Status::Ok();
}

Status EngineDockerClient::pull_image(const std::string& ref,
                                      const std::optional<RegistryAuth>& auth,
                                      const ProgressCallback& on_progress, std::stop_token stop) {
  auto [repo, tag] = split_image_ref(ref);
  Query q;
  q.add("fromImage", repo).add("tag", tag);
  return registry_stream("pull", ref,
                         EngineRequest(HttpMethod::kPost, path("/images/create" + q.str())), auth,
                         on_progress, stop);
}

Status EngineDockerClient::push_image(const std::string& ref,
                                      const std::optional<RegistryAuth>& auth,
                                      const ProgressCallback& on_progress, std::stop_token stop) {
  auto [repo, tag] = split_image_ref(ref);
  Query q;
  q.add("tag", tag);
  return registry_stream(
      "push", ref,
      EngineRequest(HttpMethod::kPost, path("/images/" + seg(repo) + "/push" + q.str())), auth,
      on_progress, stop);
}

Result<std::string> EngineDockerClient::build_image(const BuildOptions& options,
                                                    const ProgressCallback& on_output,
                                                    std::stop_token stop) {
  if (options.context_tar.empty() == options.context_tar_path.empty()) {
    return Status::Invalid("build: give exactly one of context_tar and context_tar_path");
  }
  Query q;
  for (const auto& t : options.tags) q.add("t", t);
  if (!options.dockerfile.empty() && options.dockerfile != "Dockerfile") {
    q.add("dockerfile", options.dockerfile);
  }
  if (!options.labels.empty()) q.add("labels", string_map_json(options.labels));
  if (!options.build_args.empty()) q.add("buildargs", string_map_json(options.build_args));
  q.add_if("networkmode", options.network_mode);
  q.flag("nocache", options.no_cache).flag("pull", options.pull);
  q.add("rm", options.remove_intermediate ? "1" : "0");
  q.add("forcerm", options.remove_intermediate ? "1" : "0");
  EngineRequest request(HttpMethod::kPost, path("/build" + q.str()), options.context_tar);
  request.content_type = "application/x-tar";
  request.body_file = options.context_tar_path;

  MessageSplitter splitter;
  LineBuffer lines;
  std::string image_id;
  std::string error;
  bool caller_stopped = false;
  auto end = transport_->stream(
      request, nullptr,
      [&](std::string_view bytes) {
        return splitter.feed(bytes, [&](std::string_view message) {
          boost::system::error_code ec;
          json::value v = json::parse(message, ec);
          if (ec || !v.is_object()) return true;
          const json::object& o = v.get_object();
          if (std::string e = stream_error(o); !e.empty()) {
            error = std::move(e);
            return false;
          }
          if (std::string_view id = string_field(object_field(o, "aux"), "ID"); !id.empty()) {
            image_id = id;
          }
          std::string text(string_field(o, "stream"));
          if (text.empty()) {
            if (std::string_view status = string_field(o, "status"); !status.empty()) {
              text = std::string(status) + "\n";
            }
          }
          if (!text.empty() && !lines.feed(text, on_output)) {
            caller_stopped = true;
            return false;
          }
          return true;
        });
      },
      stop);
  if (!end.ok()) return end.status();
  if (end->status >= 300) {
    return status_from_http(end->status, end->error_body).with_prefix("build");
  }
  if (!caller_stopped) (void)lines.flush(on_output);
  if (!error.empty()) {
    if (looks_unreachable(error)) return Status::Unavailable("build: " + error);
    return Status::Invalid("build failed: " + error);
  }
  if (end->cancelled || caller_stopped) return Status::Unavailable("build: cancelled");
  if (image_id.empty()) return Status::Internal("build: docker reported no image id");
  return image_id;
}

Status EngineDockerClient::remove_image(const std::string& ref, const RemoveImageOptions& options) {
  Query q;
  q.flag("force", options.force).flag("noprune", options.no_prune);
  return call_status(*transport_, options_, HttpMethod::kDelete,
                     path("/images/" + seg(ref) + q.str()));
}

Status EngineDockerClient::tag_image(const std::string& source, const std::string& repo,
                                     const std::string& tag) {
  Query q;
  q.add("repo", repo).add_if("tag", tag);
  return call_status(*transport_, options_, HttpMethod::kPost,
                     path("/images/" + seg(source) + "/tag" + q.str()));
}

// ---- events ----

Status EngineDockerClient::events(const EventsOptions& options, const EventCallback& on_event,
                                  std::stop_token stop) {
  Query q;
  if (options.since) q.add("since", unix_time_param(*options.since));
  if (options.until) q.add("until", unix_time_param(*options.until));
  q.add_if("filters", filters_json({{"label", options.label_filters},
                                    {"type", options.types},
                                    {"event", options.actions}}));
  EngineRequest request(HttpMethod::kGet, path("/events" + q.str()));
  MessageSplitter splitter;
  Status bad;
  auto end = transport_->stream(
      request, options.on_subscribed,
      [&](std::string_view bytes) {
        return splitter.feed(bytes, [&](std::string_view message) {
          auto event = parse_event(message);
          if (!event.ok()) {
            bad = event.status();
            return false;
          }
          return on_event(*event);
        });
      },
      stop);
  if (!end.ok()) return end.status();
  if (end->status >= 300) return status_from_http(end->status, end->error_body);
  if (!bad.ok()) return bad;
  if (end->cancelled || end->stopped || options.until) return Status::Ok();
  return Status::Unavailable("docker at " + endpoint() + " closed the event stream");
}

}  // namespace cenv::docker
