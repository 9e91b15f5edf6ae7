#include "test/fakes/fake_docker_client.h"

#include <algorithm>
#include <cstdio>
#include <functional>
#include <utility>

namespace cenv::docker {

namespace {

// "name" -> "name:latest"; references with a tag or digest are kept.
std::string normalize_ref(const std::string& ref) {
  auto [repo, tag] = split_image_ref(ref);
  if (ref.find('@') != std::string::npos) return ref;
  return repo + ":" + tag;
}

// Docker's label filter: every "key" or "key=value" entry must match.
bool labels_match(const std::map<std::string, std::string>& labels,
                  const std::vector<std::string>& filters) {
  for (const auto& f : filters) {
    auto eq = f.find('=');
    auto it = labels.find(eq == std::string::npos ? f : f.substr(0, eq));
    if (it == labels.end()) return false;
    if (eq != std::string::npos && it->second != f.substr(eq + 1)) return false;
  }
  return true;
}

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

int signal_number(const std::string& signal) {
  static const std::map<std::string, int> kSignals{{"SIGHUP", 1},  {"SIGINT", 2},   {"SIGQUIT", 3},
                                                   {"SIGKILL", 9}, {"SIGUSR1", 10}, {"SIGUSR2", 12},
                                                   {"SIGTERM", 15}};
  std::string name = signal.rfind("SIG", 0) == 0 || signal.empty() ? signal : "SIG" + signal;
  if (name.empty()) return 9;
  if (auto it = kSignals.find(name); it != kSignals.end()) return it->second;
  if (!signal.empty() && std::all_of(signal.begin(), signal.end(), ::isdigit)) {
    return std::stoi(signal);
  }
  return -1;
}

constexpr const char* kNeverTime = "0001-01-01T00:00:00Z";

}  // namespace

FakeDockerClient::FakeDockerClient(const Clock* clock) : clock_(clock ? clock : &system_clock_) {
  for (const char* name : {"bridge", "host", "none"}) {
    NetworkInfo n;
    n.id = next_id();
    n.name = name;
    n.driver = std::string(name) == "none" ? "null" : name;
    n.scope = "local";
    n.created = now_text();
    networks_.emplace(n.id, n);
  }
}

FakeDockerClient::~FakeDockerClient() = default;

// ---- helpers ----

std::string FakeDockerClient::next_id() {
  const uint64_t n = ++counter_;
  char buf[80];
  std::snprintf(buf, sizeof buf, "%016llx%048llx",
                static_cast<unsigned long long>(0xfa6e000000000000ull + n),
                static_cast<unsigned long long>(n * 2654435761ull));
  return buf;
}

std::string FakeDockerClient::now_text() const { return format_rfc3339(clock_->now()); }

int64_t FakeDockerClient::now_nanos() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(clock_->now().time_since_epoch())
      .count();
}

Status FakeDockerClient::enter(std::string_view method) {
  calls_.emplace_back(method);
  auto it = faults_.find(method);
  if (it == faults_.end() || it->second.empty()) return Status::Ok();
  Status s = it->second.front();
  it->second.pop_front();
  return s;
}

std::shared_ptr<FakeDockerClient::Container> FakeDockerClient::find_container(
    const std::string& ref) {
  if (ref.empty()) return nullptr;
  if (auto it = containers_.find(ref); it != containers_.end()) return it->second;
  std::string name = ref.front() == '/' ? ref.substr(1) : ref;
  for (auto& [id, c] : containers_) {
    if (c->info.name == name) return c;
  }
  std::shared_ptr<Container> match;
  for (auto& [id, c] : containers_) {
    if (id.rfind(ref, 0) == 0) {
      if (match) return nullptr;  // ambiguous
      match = c;
    }
  }
  return match;
}

NetworkInfo* FakeDockerClient::find_network(const std::string& ref) {
  if (auto it = networks_.find(ref); it != networks_.end()) return &it->second;
  for (auto& [id, n] : networks_) {
    if (n.name == ref) return &n;
  }
  for (auto& [id, n] : networks_) {
    if (!ref.empty() && id.rfind(ref, 0) == 0) return &n;
  }
  return nullptr;
}

ImageInfo* FakeDockerClient::find_image(const std::string& ref) {
  std::string normalized = normalize_ref(ref);
  for (auto& [id, image] : images_) {
    if (contains(image.tags, normalized)) return &image;
  }
  std::string id_ref = ref.rfind("sha256:", 0) == 0 ? ref : "sha256:" + ref;
  for (auto& [id, image] : images_) {
    if (ref.size() >= 4 && id.rfind(id_ref, 0) == 0) return &image;
  }
  return nullptr;
}

void FakeDockerClient::emit(const std::string& type, const std::string& action,
                            const std::string& id, std::map<std::string, std::string> attributes) {
  DockerEvent e;
  e.type = type;
  e.action = action;
  e.id = id;
  e.attributes = std::move(attributes);
  e.time_nano = now_nanos();
  events_.push_back(std::move(e));
  changed_.notify_all();
}

void FakeDockerClient::emit_container(const Container& c, const std::string& action,
                                      std::map<std::string, std::string> extra) {
  std::map<std::string, std::string> attrs = c.info.labels;
  attrs["name"] = c.info.name;
  attrs["image"] = c.info.image;
  for (auto& [k, v] : extra) attrs[k] = std::move(v);
  emit("container", action, c.info.id, std::move(attrs));
}

void FakeDockerClient::attach_to_network(Container& c, NetworkInfo& n,
                                         const std::vector<std::string>& aliases) {
  EndpointInfo ep;
  ep.network_id = n.id;
  ep.aliases = aliases;
  if (c.info.state.running && n.name != "host" && n.name != "none") {
    int host = ++next_ip_[n.id] + 1;
    ep.ip_address = "172.18." + std::to_string(host / 250) + "." + std::to_string(host % 250 + 2);
    ep.gateway = "172.18.0.1";
    n.containers[c.info.id] = ep.ip_address;
  } else {
    n.containers[c.info.id] = "";
  }
  c.info.networks[n.name] = std::move(ep);
}

void FakeDockerClient::run_container(Container& c) {
  ContainerState& st = c.info.state;
  st.status = "running";
  st.running = true;
  st.pid = static_cast<int>(1000 + counter_++ % 30000);
  st.exit_code = 0;
  st.oom_killed = false;
  st.error.clear();
  st.started_at = now_text();
  for (auto& [name, ep] : c.info.networks) {
    if (NetworkInfo* n = find_network(ep.network_id)) {
      auto aliases = ep.aliases;
      attach_to_network(c, *n, aliases);
    }
  }
  emit_container(c, "start");
  if (start_behavior_) {
    if (auto exit = start_behavior_(c.info)) {
      if (!exit->stdout_text.empty()) c.output.emplace_back(StreamKind::kStdout, exit->stdout_text);
      if (!exit->stderr_text.empty()) c.output.emplace_back(StreamKind::kStderr, exit->stderr_text);
      stop_running(c, exit->exit_code);
    }
  }
  changed_.notify_all();
}

void FakeDockerClient::stop_running(Container& c, int exit_code, bool oom_killed) {
  ContainerState& st = c.info.state;
  st.status = "exited";
  st.running = false;
  st.pid = 0;
  st.exit_code = exit_code;
  st.oom_killed = oom_killed;
  st.finished_at = now_text();
  ++c.exits;
  for (auto& [name, ep] : c.info.networks) {
    ep.ip_address.clear();
    ep.gateway.clear();
    if (auto it = networks_.find(ep.network_id); it != networks_.end()) {
      it->second.containers[c.info.id] = "";
    }
  }
  emit_container(c, "die", {{"exitCode", std::to_string(exit_code)}});
  changed_.notify_all();
}

// ---- test controls ----

void FakeDockerClient::fail_next(std::string_view method, Status status, int times) {
  std::lock_guard lock(mu_);
  auto& q = faults_[std::string(method)];
  for (int i = 0; i < times; ++i) q.push_back(status);
}

void FakeDockerClient::add_image(ImageInfo image) {
  std::lock_guard lock(mu_);
  for (auto& t : image.tags) t = normalize_ref(t);
  if (image.id.empty()) {
    char buf[80];
    std::snprintf(buf, sizeof buf, "sha256:%064zx",
                  std::hash<std::string>{}(image.tags.empty() ? next_id() : image.tags.front()));
    image.id = buf;
  }
  if (image.created.empty()) image.created = now_text();
  for (auto& [id, other] : images_) {  // a tag names one image
    std::erase_if(other.tags, [&](const std::string& t) { return contains(image.tags, t); });
  }
  images_[image.id] = std::move(image);
}

void FakeDockerClient::require_registry_credentials(const std::string& server,
                                                    RegistryAuth expected) {
  std::lock_guard lock(mu_);
  credentials_[server] = std::move(expected);
}

std::vector<std::string> FakeDockerClient::pushed_images() const {
  std::lock_guard lock(mu_);
  return pushed_;
}

void FakeDockerClient::add_pullable_image(const std::string& ref, ImageInfo image) {
  std::lock_guard lock(mu_);
  pullable_[normalize_ref(ref)] = std::move(image);
}

void FakeDockerClient::set_build_behavior(BuildBehavior behavior) {
  std::lock_guard lock(mu_);
  build_behavior_ = std::move(behavior);
}

void FakeDockerClient::set_registry_reachable(bool reachable) {
  std::lock_guard lock(mu_);
  registry_reachable_ = reachable;
}

void FakeDockerClient::set_start_behavior(StartBehavior behavior) {
  std::lock_guard lock(mu_);
  start_behavior_ = std::move(behavior);
}

void FakeDockerClient::set_exec_behavior(ExecBehavior behavior) {
  std::lock_guard lock(mu_);
  exec_behavior_ = std::move(behavior);
}

Status FakeDockerClient::exit_container(const std::string& id, int exit_code, bool oom_killed) {
  std::lock_guard lock(mu_);
  auto c = find_container(id);
  if (!c) return Status::NotFound("No such container: " + id);
  if (!c->info.state.running) return Status::Conflict("Container " + id + " is not running");
  stop_running(*c, exit_code, oom_killed);
  return Status::Ok();
}

Status FakeDockerClient::append_output(const std::string& id, StreamKind kind,
                                       std::string_view bytes) {
  std::lock_guard lock(mu_);
  auto c = find_container(id);
  if (!c) return Status::NotFound("No such container: " + id);
  c->output.emplace_back(kind, std::string(bytes));
  changed_.notify_all();
  return Status::Ok();
}

Result<std::string> FakeDockerClient::stdin_of(const std::string& id) {
  std::lock_guard lock(mu_);
  auto c = find_container(id);
  if (!c) return Status::NotFound("No such container: " + id);
  return c->stdin_data;
}

void FakeDockerClient::push_event(DockerEvent event) {
  std::lock_guard lock(mu_);
  if (event.time_nano == 0) event.time_nano = now_nanos();
  events_.push_back(std::move(event));
  changed_.notify_all();
}

std::vector<std::string> FakeDockerClient::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

size_t FakeDockerClient::call_count(std::string_view method) const {
  std::lock_guard lock(mu_);
  return static_cast<size_t>(std::count(calls_.begin(), calls_.end(), method));
}

// ---- engine ----

Status FakeDockerClient::ping() {
  std::lock_guard lock(mu_);
  return enter("ping");
}

Result<EngineVersion> FakeDockerClient::version() {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("version"));
  return EngineVersion{"1.41", "20.10.24-fake", "1.12", "linux", "amd64", "fake"};
}

// ---- containers ----

Result<std::string> FakeDockerClient::create_container(const ContainerSpec& spec) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("create_container"));
  if (spec.image.empty()) return Status::Invalid("config: image is required");
  if (!spec.name.empty()) {
    for (auto& [id, c] : containers_) {
      if (c->info.name == spec.name) {
        return Status::AlreadyExists("Conflict. The container name \"/" + spec.name +
                                     "\" is already in use by container \"" + id +
                                     "\". You have to remove (or rename) that container to be "
                                     "able to reuse that name.");
      }
    }
  }
  ImageInfo* image = find_image(spec.image);
  if (!image) return Status::NotFound("No such image: " + normalize_ref(spec.image));
  // As dockerd 20.10: an unknown network is accepted here and refused by start.
  NetworkInfo* network = find_network(spec.network.empty() ? "bridge" : spec.network);
  for (const auto& m : spec.mounts) {
    if (m.target.empty() || m.target.front() != '/') {
      return Status::Invalid("invalid mount config: mount path must be absolute: " + m.target);
    }
  }

  auto c = std::make_shared<Container>();
  c->spec = spec;
  ContainerInfo& info = c->info;
  info.id = next_id();
  info.name = spec.name.empty() ? "fake_" + info.id.substr(0, 12) : spec.name;
  info.image = spec.image;
  info.image_id = image->id;
  info.created = now_text();
  info.cmd = spec.cmd;
  info.entrypoint = spec.entrypoint;
  info.env = spec.env;
  info.working_dir = spec.working_dir;
  info.tty = spec.tty;
  info.open_stdin = spec.open_stdin;
  info.labels = image->labels;
  for (const auto& [k, v] : spec.labels) info.labels[k] = v;
  info.state.status = "created";
  info.state.started_at = kNeverTime;
  info.state.finished_at = kNeverTime;
  for (const auto& b : spec.port_bindings) info.ports.push_back(b);
  for (const auto& m : spec.mounts) {
    if (m.type == Mount::Type::kVolume && !volumes_.count(m.source)) {
      VolumeInfo v;
      v.name = m.source;
      v.driver = "local";
      v.scope = "local";
      v.created = now_text();
      v.mountpoint = "/var/lib/docker/volumes/" + m.source + "/_data";
      volumes_[m.source] = v;
      emit("volume", "create", v.name, {{"driver", "local"}});
    }
  }
  if (network) attach_to_network(*c, *network, spec.network_aliases);
  containers_[info.id] = c;
  emit_container(*c, "create");
  return info.id;
}

Status FakeDockerClient::start_container(const std::string& id) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("start_container"));
  auto c = find_container(id);
  if (!c) return Status::NotFound("No such container: " + id);
  if (c->info.state.running) return Status::Ok();  // 304
  if (!c->spec.network.empty() && !find_network(c->spec.network)) {
    return Status::NotFound("network " + c->spec.network + " not found");
  }
  // Ephemeral host ports get a port now.
  uint16_t next_port = 49153;
  for (auto& p : c->info.ports) {
    if (p.host_port == 0) p.host_port = next_port++;
  }
  run_container(*c);
  return Status::Ok();
}

Status FakeDockerClient::stop_container(const std::string& id, std::optional<int>) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("stop_container"));
  auto c = find_container(id);
  if (!c) return Status::NotFound("No such container: " + id);
  if (!c->info.state.running) return Status::Ok();  // 304
  emit_container(*c, "kill", {{"signal", "15"}});
  stop_running(*c, 143);
  emit_container(*c, "stop");
  return Status::Ok();
}

Status FakeDockerClient::kill_container(const std::string& id, const std::string& signal) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("kill_container"));
  auto c = find_container(id);
  if (!c) return Status::NotFound("No such container: " + id);
  int number = signal_number(signal);
  if (number <= 0) return Status::Invalid("Invalid signal: " + signal);
  if (!c->info.state.running) {
    return Status::Conflict("Container " + c->info.id + " is not running");
  }
  emit_container(*c, "kill", {{"signal", std::to_string(number)}});
  // Every signal ends the fake's process (it has no handlers).
  stop_running(*c, 128 + number);
  return Status::Ok();
}

Status FakeDockerClient::remove_container(const std::string& id,
                                          const RemoveContainerOptions& options) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("remove_container"));
  auto c = find_container(id);
  if (!c) return Status::NotFound("No such container: " + id);
  if (c->info.state.running) {
    if (!options.force) {
      return Status::Conflict("You cannot remove a running container " + c->info.id +
                              ". Stop the container before attempting removal or force remove");
    }
    emit_container(*c, "kill", {{"signal", "9"}});
    stop_running(*c, 137);
  }
  for (auto& [net_id, n] : networks_) n.containers.erase(c->info.id);
  for (auto it = execs_.begin(); it != execs_.end();) {
    it = it->second.info.container_id == c->info.id ? execs_.erase(it) : std::next(it);
  }
  c->removed = true;
  containers_.erase(c->info.id);
  emit_container(*c, "destroy");
  return Status::Ok();
}

Status FakeDockerClient::rename_container(const std::string& id, const std::string& new_name) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("rename_container"));
  auto c = find_container(id);
  if (!c) return Status::NotFound("No such container: " + id);
  for (auto& [other_id, other] : containers_) {
    if (other->info.name == new_name && other != c) {
      return Status::AlreadyExists(
          "Error when allocating new name: Conflict. The container name "
          "\"/" +
          new_name + "\" is already in use by container \"" + other_id + "\".");
    }
  }
  std::string old_name = c->info.name;
  c->info.name = new_name;
  emit_container(*c, "rename", {{"oldName", "/" + old_name}});
  return Status::Ok();
}

Result<ContainerInfo> FakeDockerClient::inspect_container(const std::string& id) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("inspect_container"));
  auto c = find_container(id);
  if (!c) return Status::NotFound("No such container: " + id);
  return c->info;
}

Result<std::vector<ContainerSummary>> FakeDockerClient::list_containers(
    const ListContainersOptions& options) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("list_containers"));
  std::vector<ContainerSummary> out;
  for (auto& [id, c] : containers_) {
    const ContainerInfo& i = c->info;
    if (!options.all && !i.state.running) continue;
    if (!labels_match(i.labels, options.label_filters)) continue;
    if (!options.name.empty() && i.name.find(options.name) == std::string::npos) continue;
    ContainerSummary s;
    s.id = i.id;
    s.name = i.name;
    s.image = i.image;
    s.image_id = i.image_id;
    s.state = i.state.status;
    s.status = i.state.running ? "Up" : "Exited (" + std::to_string(i.state.exit_code) + ")";
    s.created = i.created;
    s.labels = i.labels;
    out.push_back(std::move(s));
  }
  return out;
}

Result<WaitResult> FakeDockerClient::wait_container(
    const std::string& id, WaitCondition condition, std::stop_token stop,
    std::optional<std::chrono::milliseconds> timeout) {
  std::unique_lock lock(mu_);
  CENV_RETURN_IF_ERROR(enter("wait_container"));
  auto c = find_container(id);
  if (!c) return Status::NotFound("No such container: " + id);
  const int exits_before = c->exits;
  auto done = [&] {
    switch (condition) {
      case WaitCondition::kNotRunning:
        return !c->info.state.running || c->removed;
      case WaitCondition::kNextExit:
        return c->exits > exits_before || c->removed;
      case WaitCondition::kRemoved:
        return c->removed;
    }
    return true;
  };
  bool ok =
      timeout ? changed_.wait_for(lock, stop, *timeout, done) : changed_.wait(lock, stop, done);
  if (!ok) {
    return Status::Unavailable("waiting for container " + id +
                               (stop.stop_requested() ? ": cancelled" : ": timed out"));
  }
  return WaitResult{c->info.state.exit_code, ""};
}

Status FakeDockerClient::container_logs(const std::string& id, const LogsOptions& options,
                                        const OutputCallback& on_output, std::stop_token stop) {
  std::unique_lock lock(mu_);
  CENV_RETURN_IF_ERROR(enter("container_logs"));
  auto c = find_container(id);
  if (!c) return Status::NotFound("No such container: " + id);
  size_t next = 0;
  for (;;) {
    while (next < c->output.size()) {
      auto [kind, bytes] = c->output[next++];
      bool wanted = kind == StreamKind::kStdout ? options.show_stdout : options.show_stderr;
      if (!wanted) continue;
      lock.unlock();
      bool go_on = on_output(c->info.tty ? StreamKind::kStdout : kind, bytes);
      lock.lock();
      if (!go_on) return Status::Ok();
    }
    if (!options.follow || !c->info.state.running || c->removed) return Status::Ok();
    changed_.wait(lock, stop,
                  [&] { return next < c->output.size() || !c->info.state.running || c->removed; });
    if (stop.stop_requested()) return Status::Ok();
  }
}

Status FakeDockerClient::attach_container(const std::string& id, const AttachOptions& options,
                                          const OutputCallback& on_output, std::stop_token stop) {
  std::unique_lock lock(mu_);
  CENV_RETURN_IF_ERROR(enter("attach_container"));
  auto c = find_container(id);
  if (!c) return Status::NotFound("No such container: " + id);
  if (!c->info.state.running && c->info.state.status != "created") {
    return Status::Conflict("You cannot attach to a stopped container, start it first");
  }
  if (options.stdin_pipe && !c->info.open_stdin) {
    return Status::Conflict("container " + id + " was not created with an open stdin");
  }
  size_t next = options.logs ? 0 : c->output.size();
  const int exits_before = c->exits;
  lock.unlock();
  if (options.stdin_pipe) {
    // Writes from the caller's thread land in the container's stdin under our lock.
    auto pipe = options.stdin_pipe;
    std::weak_ptr<Container> weak = c;
    pipe->set_listener([this, pipe, weak] {
      std::lock_guard l(mu_);
      if (auto target = weak.lock()) {
        std::string data;
        pipe->take(&data);
        target->stdin_data += data;
        changed_.notify_all();
      }
    });
  }
  if (options.on_attached) options.on_attached();
  Status result = [&]() -> Status {
    lock.lock();
    for (;;) {
      while (next < c->output.size()) {
        auto [kind, bytes] = c->output[next++];
        bool wanted = kind == StreamKind::kStdout ? options.show_stdout : options.show_stderr;
        if (!wanted || !options.stream) continue;
        lock.unlock();
        bool go_on = on_output(c->info.tty ? StreamKind::kStdout : kind, bytes);
        lock.lock();
        if (!go_on) return Status::Ok();
      }
      if (!options.stream || c->removed || c->exits > exits_before) return Status::Ok();
      changed_.wait(lock, stop, [&] {
        return next < c->output.size() || c->removed || c->exits > exits_before;
      });
      if (stop.stop_requested()) return Status::Ok();
    }
  }();
  if (lock.owns_lock()) lock.unlock();
  // The listener takes mu_: unregister without holding it.
  if (options.stdin_pipe) options.stdin_pipe->set_listener(nullptr);
  return result;
}

// ---- exec ----

Result<std::string> FakeDockerClient::create_exec(const std::string& container_id,
                                                  const ExecSpec& spec) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("create_exec"));
  auto c = find_container(container_id);
  if (!c) return Status::NotFound("No such container: " + container_id);
  if (!c->info.state.running) {
    return Status::Conflict("Container " + c->info.id + " is not running");
  }
  if (spec.cmd.empty()) return Status::Invalid("No exec command specified");
  Exec e;
  e.info.id = next_id();
  e.info.container_id = c->info.id;
  e.info.tty = spec.tty;
  e.spec = spec;
  std::string exec_id = e.info.id;
  execs_[exec_id] = std::move(e);
  return exec_id;
}

Status FakeDockerClient::start_exec(const std::string& exec_id, const ExecStartOptions& options,
                                    const OutputCallback& on_output, std::stop_token stop) {
  std::unique_lock lock(mu_);
  CENV_RETURN_IF_ERROR(enter("start_exec"));
  auto it = execs_.find(exec_id);
  if (it == execs_.end()) return Status::NotFound("No such exec instance: " + exec_id);
  if (it->second.started) {
    return Status::Conflict("Error: Exec command " + exec_id + " has already run");
  }
  auto c = find_container(it->second.info.container_id);
  if (!c || !c->info.state.running) {
    return Status::Conflict("Container " + it->second.info.container_id + " is not running");
  }
  it->second.started = true;
  it->second.info.running = true;
  ExecSpec spec = it->second.spec;
  ContainerInfo container = c->info;
  ExecBehavior behavior = exec_behavior_;
  emit_container(*c, "exec_start: " + (spec.cmd.empty() ? std::string() : spec.cmd.front()));
  lock.unlock();

  // Read stdin to its end (the pipe's listener wakes us).
  std::string stdin_data;
  if (options.stdin_pipe && spec.attach_stdin) {
    std::mutex m;
    std::condition_variable_any cv;
    bool closed = false;
    options.stdin_pipe->set_listener([&] {
      std::lock_guard l(m);
      closed = options.stdin_pipe->take(&stdin_data) || closed;
      cv.notify_all();
    });
    {
      std::unique_lock l(m);
      cv.wait(l, stop, [&] { return closed; });
    }
    options.stdin_pipe->set_listener(nullptr);
  }
  Exit result = behavior ? behavior(container, spec, stdin_data) : Exit{};
  bool go_on = true;
  if (!options.detach && !stop.stop_requested()) {
    if (!result.stdout_text.empty()) go_on = on_output(StreamKind::kStdout, result.stdout_text);
    if (go_on && !result.stderr_text.empty()) {
      on_output(spec.tty ? StreamKind::kStdout : StreamKind::kStderr, result.stderr_text);
    }
  }
  lock.lock();
  if (auto e = execs_.find(exec_id); e != execs_.end()) {
    e->second.info.running = false;
    e->second.info.exit_code = result.exit_code;
    if (auto container_now = find_container(e->second.info.container_id)) {
      emit_container(*container_now, "exec_die",
                     {{"execID", exec_id}, {"exitCode", std::to_string(result.exit_code)}});
    }
  }
  changed_.notify_all();
  return Status::Ok();
}

Result<ExecInfo> FakeDockerClient::inspect_exec(const std::string& exec_id) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("inspect_exec"));
  auto it = execs_.find(exec_id);
  if (it == execs_.end()) return Status::NotFound("No such exec instance: " + exec_id);
  return it->second.info;
}

// ---- networks ----

Result<std::string> FakeDockerClient::create_network(const NetworkSpec& spec) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("create_network"));
  if (spec.name.empty()) return Status::Invalid("network name is required");
  for (auto& [id, n] : networks_) {
    if (n.name == spec.name) {
      return Status::AlreadyExists("network with name " + spec.name + " already exists");
    }
  }
  NetworkInfo n;
  n.id = next_id();
  n.name = spec.name;
  n.driver = spec.driver.empty() ? "bridge" : spec.driver;
  n.scope = "local";
  n.internal = spec.internal;
  n.created = now_text();
  n.labels = spec.labels;
  networks_[n.id] = n;
  emit("network", "create", n.id, {{"name", n.name}, {"type", n.driver}});
  return n.id;
}

Result<NetworkInfo> FakeDockerClient::inspect_network(const std::string& id_or_name) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("inspect_network"));
  NetworkInfo* n = find_network(id_or_name);
  if (!n) return Status::NotFound("network " + id_or_name + " not found");
  return *n;
}

Status FakeDockerClient::remove_network(const std::string& id_or_name) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("remove_network"));
  NetworkInfo* n = find_network(id_or_name);
  if (!n) return Status::NotFound("network " + id_or_name + " not found");
  if (n->name == "bridge" || n->name == "host" || n->name == "none") {
    return Status::Forbidden(n->name + " is a pre-defined network and cannot be removed");
  }
  if (!n->containers.empty()) {
    // dockerd 20.10 answers 403 here.
    return Status::Forbidden("error while removing network: network " + n->name + " id " + n->id +
                             " has active endpoints");
  }
  for (const auto& [sid, s] : services_) {
    if (s.spec.network == n->name || s.spec.network == n->id) {
      return Status::Forbidden("rpc error: code = FailedPrecondition desc = network " + n->id +
                               " is in use by service " + sid);
    }
  }
  std::string id = n->id, name = n->name;
  networks_.erase(id);
  emit("network", "destroy", id, {{"name", name}, {"type", "bridge"}});
  return Status::Ok();
}

Result<std::vector<NetworkInfo>> FakeDockerClient::list_networks(
    const std::vector<std::string>& label_filters) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("list_networks"));
  std::vector<NetworkInfo> out;
  for (auto& [id, n] : networks_) {
    if (!labels_match(n.labels, label_filters)) continue;
    NetworkInfo copy = n;
    copy.containers.clear();  // as Docker's list: no endpoints
    out.push_back(std::move(copy));
  }
  return out;
}

Status FakeDockerClient::connect_network(const std::string& network, const std::string& container,
                                         const std::vector<std::string>& aliases) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("connect_network"));
  NetworkInfo* n = find_network(network);
  if (!n) return Status::NotFound("network " + network + " not found");
  auto c = find_container(container);
  if (!c) return Status::NotFound("No such container: " + container);
  if (c->info.networks.count(n->name)) {
    return Status::Forbidden("endpoint with name " + c->info.name + " already exists in network " +
                             n->name);
  }
  attach_to_network(*c, *n, aliases);
  emit("network", "connect", n->id, {{"container", c->info.id}, {"name", n->name}});
  return Status::Ok();
}

Status FakeDockerClient::disconnect_network(const std::string& network,
                                            const std::string& container, bool) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("disconnect_network"));
  NetworkInfo* n = find_network(network);
  if (!n) return Status::NotFound("network " + network + " not found");
  auto c = find_container(container);
  if (!c) return Status::NotFound("No such container: " + container);
  if (!c->info.networks.erase(n->name)) {
    return Status::Forbidden("container " + c->info.id + " is not connected to network " + n->name);
  }
  n->containers.erase(c->info.id);
  emit("network", "disconnect", n->id, {{"container", c->info.id}, {"name", n->name}});
  return Status::Ok();
}

// ---- volumes ----

Result<VolumeInfo> FakeDockerClient::create_volume(const VolumeSpec& spec) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("create_volume"));
  std::string name = spec.name.empty() ? next_id() : spec.name;
  if (auto it = volumes_.find(name); it != volumes_.end()) return it->second;
  VolumeInfo v;
  v.name = name;
  v.driver = spec.driver.empty() ? "local" : spec.driver;
  v.mountpoint = "/var/lib/docker/volumes/" + name + "/_data";
  v.created = now_text();
  v.scope = "local";
  v.labels = spec.labels;
  volumes_[name] = v;
  emit("volume", "create", name, {{"driver", v.driver}});
  return v;
}

Result<VolumeInfo> FakeDockerClient::inspect_volume(const std::string& name) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("inspect_volume"));
  auto it = volumes_.find(name);
  if (it == volumes_.end()) return Status::NotFound("get " + name + ": no such volume");
  return it->second;
}

Status FakeDockerClient::remove_volume(const std::string& name, bool force) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("remove_volume"));
  auto it = volumes_.find(name);
  if (it == volumes_.end()) {
    return force ? Status::Ok() : Status::NotFound("get " + name + ": no such volume");
  }
  std::vector<std::string> users;
  for (auto& [id, c] : containers_) {
    for (const auto& m : c->spec.mounts) {
      if (m.type == Mount::Type::kVolume && m.source == name) users.push_back(id);
    }
  }
  if (!users.empty()) {
    std::string list;
    for (const auto& u : users) list += (list.empty() ? "" : " ") + u;
    return Status::Conflict("remove " + name + ": volume is in use - [" + list + "]");
  }
  volumes_.erase(it);
  emit("volume", "destroy", name, {{"driver", "local"}});
  return Status::Ok();
}

Result<std::vector<VolumeInfo>> FakeDockerClient::list_volumes(
    const std::vector<std::string>& label_filters) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("list_volumes"));
  std::vector<VolumeInfo> out;
  for (auto& [name, v] : volumes_) {
    if (labels_match(v.labels, label_filters)) out.push_back(v);
  }
  return out;
}

// ---- images ----

Result<ImageInfo> FakeDockerClient::inspect_image(const std::string& ref) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("inspect_image"));
  ImageInfo* image = find_image(ref);
  if (!image) return Status::NotFound("No such image: " + normalize_ref(ref));
  return *image;
}

Result<std::vector<ImageInfo>> FakeDockerClient::list_images(const ListImagesOptions& options) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("list_images"));
  std::vector<ImageInfo> out;
  for (auto& [id, image] : images_) {
    if (!labels_match(image.labels, options.label_filters)) continue;
    if (!options.reference.empty()) {
      // Docker matches a glob on the repository; the fake matches a prefix before any '*'.
      std::string prefix = options.reference.substr(0, options.reference.find('*'));
      bool any = std::any_of(image.tags.begin(), image.tags.end(),
                             [&](const std::string& t) { return t.rfind(prefix, 0) == 0; });
      if (!any) continue;
    }
    out.push_back(image);
  }
  return out;
}

Status FakeDockerClient::check_credentials(std::string_view op, const std::string& ref,
                                           const std::optional<RegistryAuth>& auth) const {
  auto it = credentials_.find(image_registry(ref));
  if (it == credentials_.end()) return Status::Ok();
  auto [repo, tag] = split_image_ref(ref);
  std::string what = std::string(op) + " " + ref + ": ";
  if (!auth) {
    return Status::Unauthenticated(what + "Head \"http://" + it->first + "/v2/" +
                                   repo.substr(it->first.size() + 1) + "/manifests/" + tag +
                                   "\": no basic auth credentials");
  }
  if (auth->username != it->second.username || auth->password != it->second.password) {
    return Status::Unauthenticated(what + "unauthorized: authentication required");
  }
  return Status::Ok();
}

Status FakeDockerClient::pull_image(const std::string& ref, const std::optional<RegistryAuth>& auth,
                                    const ProgressCallback& on_progress, std::stop_token) {
  ImageInfo image;
  {
    std::lock_guard lock(mu_);
    CENV_RETURN_IF_ERROR(enter("pull_image"));
    if (!registry_reachable_) {
      return Status::Unavailable("pull " + ref +
                                 ": Get \"https://registry-1.docker.io/v2/\": dial tcp: lookup "
                                 "registry-1.docker.io: no such host");
    }
    CENV_RETURN_IF_ERROR(check_credentials("pull", ref, auth));
    auto it = pullable_.find(normalize_ref(ref));
    if (it == pullable_.end()) {
      return Status::NotFound("pull " + ref + ": pull access denied for " +
                              split_image_ref(ref).first +
                              ", repository does not exist or may require 'docker login'");
    }
    image = it->second;
  }
  if (on_progress) on_progress(split_image_ref(ref).second + ": Pulling from " + ref);
  if (!contains(image.tags, normalize_ref(ref))) image.tags.push_back(normalize_ref(ref));
  add_image(image);
  std::lock_guard lock(mu_);
  emit("image", "pull", normalize_ref(ref), {{"name", normalize_ref(ref)}});
  return Status::Ok();
}

Status FakeDockerClient::push_image(const std::string& ref, const std::optional<RegistryAuth>& auth,
                                    const ProgressCallback& on_progress, std::stop_token) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("push_image"));
  const ImageInfo* image = find_image(ref);
  if (!image) {
    return Status::NotFound("push " + ref + ": An image does not exist locally with the tag: " +
                            split_image_ref(ref).first);
  }
  if (!registry_reachable_) {
    return Status::Unavailable("push " + ref + ": Get \"http://" + image_registry(ref) +
                               "/v2/\": dial tcp: connect: connection refused");
  }
  CENV_RETURN_IF_ERROR(check_credentials("push", ref, auth));
  if (on_progress)
    on_progress("The push refers to repository [" + split_image_ref(ref).first + "]");
  ImageInfo pushed = *image;
  pushed.tags = {normalize_ref(ref)};
  pullable_[normalize_ref(ref)] = std::move(pushed);
  pushed_.push_back(normalize_ref(ref));
  emit("image", "push", normalize_ref(ref), {{"name", normalize_ref(ref)}});
  return Status::Ok();
}

Result<std::string> FakeDockerClient::build_image(const BuildOptions& options,
                                                  const ProgressCallback& on_output,
                                                  std::stop_token stop) {
  std::string context;
  {
    std::lock_guard lock(mu_);
    CENV_RETURN_IF_ERROR(enter("build_image"));
    if (options.context_tar.empty() == options.context_tar_path.empty()) {
      return Status::Invalid("build: give exactly one of context_tar and context_tar_path");
    }
  }
  BuildBehavior behavior;
  {
    std::lock_guard lock(mu_);
    behavior = build_behavior_;
  }
  if (behavior) CENV_RETURN_IF_ERROR(behavior(options, on_output, stop));
  std::string key = options.context_tar + options.context_tar_path;
  for (const auto& t : options.tags) key += "\n" + t;
  for (const auto& [k, v] : options.labels) key += "\n" + k + "=" + v;
  char id[80];
  std::snprintf(id, sizeof id, "sha256:%064zx", std::hash<std::string>{}(key));
  if (on_output) {
    on_output("Step 1/1 : (fake build)");
    on_output(std::string("Successfully built ") + (id + 7));
    for (const auto& t : options.tags) on_output("Successfully tagged " + normalize_ref(t));
  }
  ImageInfo image;
  image.id = id;
  image.tags = options.tags;
  image.labels = options.labels;
  add_image(image);
  return std::string(id);
}

Status FakeDockerClient::remove_image(const std::string& ref, const RemoveImageOptions& options) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("remove_image"));
  ImageInfo* image = find_image(ref);
  if (!image) return Status::NotFound("No such image: " + normalize_ref(ref));
  std::string normalized = normalize_ref(ref);
  if (contains(image->tags, normalized) && image->tags.size() > 1) {
    std::erase(image->tags, normalized);
    emit("image", "untag", image->id, {{"name", normalized}});
    return Status::Ok();
  }
  if (!options.force) {
    for (auto& [id, c] : containers_) {
      if (c->info.image_id == image->id) {
        return Status::Conflict("conflict: unable to remove repository reference \"" + ref +
                                "\" (must force) - container " + id.substr(0, 12) +
                                " is using its referenced image " + image->id.substr(7, 12));
      }
    }
  }
  std::string id = image->id;
  images_.erase(id);
  emit("image", "delete", id, {{"name", normalized}});
  return Status::Ok();
}

Status FakeDockerClient::tag_image(const std::string& source, const std::string& repo,
                                   const std::string& tag) {
  std::lock_guard lock(mu_);
  CENV_RETURN_IF_ERROR(enter("tag_image"));
  ImageInfo* image = find_image(source);
  if (!image) return Status::NotFound("No such image: " + normalize_ref(source));
  std::string name = repo + ":" + (tag.empty() ? "latest" : tag);
  for (auto& [id, other] : images_) std::erase(other.tags, name);
  image->tags.push_back(name);
  emit("image", "tag", image->id, {{"name", name}});
  return Status::Ok();
}

// ---- events ----

Status FakeDockerClient::events(const EventsOptions& options, const EventCallback& on_event,
                                std::stop_token stop) {
  std::unique_lock lock(mu_);
  CENV_RETURN_IF_ERROR(enter("events"));
  auto nanos = [](TimePoint t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  };
  size_t next = events_.size();
  if (options.since) {
    int64_t since = nanos(*options.since);
    next = 0;
    while (next < events_.size() && events_[next].time_nano < since) ++next;
  }
  lock.unlock();
  if (options.on_subscribed) options.on_subscribed();
  lock.lock();
  auto matches = [&](const DockerEvent& e) {
    if (!options.types.empty() && !contains(options.types, e.type)) return false;
    if (!options.actions.empty()) {
      std::string base = e.action.substr(0, e.action.find(':'));
      if (!contains(options.actions, e.action) && !contains(options.actions, base)) return false;
    }
    return labels_match(e.attributes, options.label_filters);
  };
  for (;;) {
    while (next < events_.size()) {
      DockerEvent e = events_[next++];
      if (options.until && e.time_nano > nanos(*options.until)) return Status::Ok();
      if (!matches(e)) continue;
      lock.unlock();
      bool go_on = on_event(e);
      lock.lock();
      if (!go_on) return Status::Ok();
    }
    if (options.until) {
      auto wait_until = *options.until;
      bool more =
          changed_.wait_until(lock, stop, wait_until, [&] { return next < events_.size(); });
      if (!more) return Status::Ok();
    } else {
      changed_.wait(lock, stop, [&] { return next < events_.size(); });
      if (stop.stop_requested()) return Status::Ok();
    }
  }
}

}  // namespace cenv::docker
