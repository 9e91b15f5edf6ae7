#include "reconcilers/runtime_image_builder.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "api/display_text.h"
#include "reconcilers/run_output.h"

namespace cenv {

namespace {

// Longest line kept for status messages; the log holds every byte.
constexpr size_t kMaxKeptLine = 512;

// A line of output for a status message: without terminal colours, at most kMaxKeptLine.
std::string clip(std::string_view raw) {
  std::string line = strip_terminal_sequences(raw);
  if (line.size() <= kMaxKeptLine) return line;
  return line.substr(0, kMaxKeptLine) + "...";
}

}  // namespace

const char* image_build_state_name(ImageBuildState state) {
  switch (state) {
    case ImageBuildState::kQueued:
      return "Queued";
    case ImageBuildState::kRunning:
      return "Running";
    case ImageBuildState::kSucceeded:
      return "Succeeded";
    case ImageBuildState::kFailed:
      return "Failed";
    case ImageBuildState::kCancelled:
      return "Cancelled";
  }
  return "Unknown";
}

struct RuntimeImageBuilder::Build {
  ImageBuildRequest request;
  ImageBuildProgress progress;  // guarded by the builder's mu_
  bool finished = false;        // guarded by the builder's mu_: its thread is about to return
  std::chrono::steady_clock::time_point last_notify{};  // guarded by the builder's mu_
  std::unique_ptr<RunOutput> output;                    // used by the build's thread only
  std::jthread thread;
};

RuntimeImageBuilder::RuntimeImageBuilder(DockerConnection& docker, LogHub* logs, const Clock& clock,
                                         RuntimeImageBuilderOptions options)
    : docker_(docker), logs_(logs), clock_(clock), options_(std::move(options)) {}

RuntimeImageBuilder::~RuntimeImageBuilder() { stop(); }

void RuntimeImageBuilder::set_notify(std::function<void(const std::string& env)> notify) {
  std::lock_guard lock(mu_);
  notify_ = std::move(notify);
}

std::vector<std::jthread> RuntimeImageBuilder::reap_locked() {
  std::vector<std::jthread> done;
  std::erase_if(retired_, [&](const std::shared_ptr<Build>& b) {
    if (!b->finished) return false;
    done.push_back(std::move(b->thread));
    return true;
  });
  return done;
}

bool RuntimeImageBuilder::start(ImageBuildRequest request) {
  std::vector<std::jthread> ended;
  {
    std::lock_guard lock(mu_);
    if (stopped_) return false;
    ended = reap_locked();
    std::shared_ptr<Build> previous;
    if (auto it = builds_.find(request.uid); it != builds_.end()) {
      previous = it->second;
      if (!previous->finished && previous->request.tag == request.tag &&
          previous->request.requested_at == request.requested_at &&
          previous->request.push_reference == request.push_reference) {
        return true;  // already on it
      }
      // Superseded: it ends (cancelled, or at once if it has ended) before the new one starts.
      previous->thread.request_stop();
      retired_.push_back(previous);
    }
    auto build = std::make_shared<Build>();
    build->progress.tag = request.tag;
    build->progress.attempt = request.attempt;
    build->progress.requested_at = request.requested_at;
    build->progress.push_reference = request.push_reference;
    build->progress.generation = request.generation;
    build->progress.start = clock_.now();
    build->request = std::move(request);
    builds_[build->request.uid] = build;
    build->thread =
        std::jthread([this, build, previous](std::stop_token stop) { run(build, previous, stop); });
  }
  for (std::jthread& t : ended) t.join();
  return true;
}

std::optional<ImageBuildProgress> RuntimeImageBuilder::progress(const std::string& uid) const {
  std::lock_guard lock(mu_);
  auto it = builds_.find(uid);
  if (it == builds_.end()) return std::nullopt;
  return it->second->progress;
}

bool RuntimeImageBuilder::cancel(const std::string& uid) {
  std::vector<std::jthread> ended;
  bool idle = true;
  {
    std::lock_guard lock(mu_);
    if (auto it = builds_.find(uid); it != builds_.end()) {
      it->second->thread.request_stop();
      retired_.push_back(it->second);
      builds_.erase(it);
    }
    ended = reap_locked();
    for (const auto& b : retired_) idle = idle && b->request.uid != uid;
  }
  for (std::jthread& t : ended) t.join();
  return idle;
}

void RuntimeImageBuilder::forget(const std::string& uid) {
  std::vector<std::jthread> ended;
  {
    std::lock_guard lock(mu_);
    if (auto it = builds_.find(uid); it != builds_.end() && it->second->finished) {
      retired_.push_back(it->second);
      builds_.erase(it);
    }
    ended = reap_locked();
  }
  for (std::jthread& t : ended) t.join();
}

void RuntimeImageBuilder::stop() {
  std::vector<std::shared_ptr<Build>> all;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    for (auto& [uid, b] : builds_) all.push_back(b);
    all.insert(all.end(), retired_.begin(), retired_.end());
    builds_.clear();
    retired_.clear();
    for (auto& b : all) b->thread.request_stop();
  }
  changed_.notify_all();
  for (auto& b : all) {
    if (b->thread.joinable()) b->thread.join();
  }
}

std::unique_ptr<Runnable> RuntimeImageBuilder::stopper() {
  class Stopper final : public Runnable {
   public:
    explicit Stopper(RuntimeImageBuilder& b) : b_(b) {}
    void start(std::stop_token stop) override {
      wait_for_stop(stop);
      b_.stop();
    }

   private:
    RuntimeImageBuilder& b_;
  };
  return std::make_unique<Stopper>(*this);
}

bool RuntimeImageBuilder::acquire(const std::shared_ptr<Build>& previous,
                                  const std::stop_token& stop) {
  std::unique_lock lock(mu_);
  bool free = changed_.wait(lock, stop, [&] {
    return !stopped_ && (!previous || previous->finished) && running_ < options_.max_parallel;
  });
  if (!free) return false;
  ++running_;
  return true;
}

void RuntimeImageBuilder::notify(const std::string& env) {
  std::function<void(const std::string&)> notify;
  {
    std::lock_guard lock(mu_);
    notify = notify_;
  }
  if (notify) notify(env);
}

void RuntimeImageBuilder::on_line(Build& build, std::string_view line) {
  if (build.output) {
    std::string text(line);
    text += '\n';
    (void)build.output->write(LogStream::kStdout, text);
  }
  bool tell = false;
  {
    std::lock_guard lock(mu_);
    ImageBuildProgress& p = build.progress;
    p.tail.push_back(clip(line));
    if (p.tail.size() > options_.tail_lines) p.tail.erase(p.tail.begin());
    if (line.starts_with("Step ")) {
      p.step = clip(line);
      auto now = std::chrono::steady_clock::now();
      if (now - build.last_notify >= options_.progress_interval) {
        build.last_notify = now;
        tell = true;
      }
    }
  }
  if (tell) notify(build.request.name);
}

void RuntimeImageBuilder::finish(Build& build, ImageBuildState state, std::string error,
                                 std::string image_id) {
  if (build.output) {
    if (state == ImageBuildState::kFailed) {
      (void)build.output->write(LogStream::kStderr, "cenv: build failed: " + error + "\n");
    }
    // Everything is stored before the state says the build ended: a follower that sees the
    // end has read all of it.
    if (Status s = build.output->close(); !s.ok()) {
      spdlog::warn("Environment {}: storing the build output failed: {}", build.request.name,
                   s.message());
    }
    build.output.reset();
  }
  {
    std::lock_guard lock(mu_);
    build.progress.state = state;
    build.progress.error = std::move(error);
    build.progress.image_id = std::move(image_id);
    build.progress.end = clock_.now();
  }
  notify(build.request.name);
  {
    std::lock_guard lock(mu_);
    build.finished = true;
  }
  changed_.notify_all();
}

Status RuntimeImageBuilder::push(Build& build, docker::DockerClient& docker, std::stop_token stop) {
  const ImageBuildRequest& req = build.request;
  {
    std::lock_guard lock(mu_);
    build.progress.step = "pushing " + req.push_reference;
  }
  notify(req.name);
  on_line(build, "cenv: pushing " + req.tag + " as " + req.push_reference);
  auto [repo, tag] = docker::split_image_ref(req.push_reference);
  CENV_RETURN_IF_ERROR(docker.tag_image(req.tag, repo, tag));
  auto each_line = [&](std::string_view line) {
    on_line(build, line);
    return true;
  };
  return docker.push_image(req.push_reference, req.push_auth, each_line, stop);
}

void RuntimeImageBuilder::run(const std::shared_ptr<Build>& build,
                              const std::shared_ptr<Build>& previous, std::stop_token stop) {
  const ImageBuildRequest& req = build->request;
  if (!acquire(previous, stop)) {
    finish(*build, ImageBuildState::kCancelled, "cancelled before it started", "");
    return;
  }
  {
    std::lock_guard lock(mu_);
    build->progress.state = ImageBuildState::kRunning;
  }
  notify(req.name);
  if (logs_) {
    // The log keeps the last builds only; the previous one always stays, so a follower's
    // offset stays meaningful.
    const int keep_from = req.attempt - std::max(options_.kept_build_logs, 2) + 1;
    if (keep_from > 1) {
      if (Status s = logs_->store().trim_log(req.uid, keep_from); !s.ok()) {
        spdlog::warn("Environment {}: trimming the log of old builds: {}", req.name, s.message());
      }
    }
    build->output = std::make_unique<RunOutput>(*logs_, req.uid, req.attempt, 0, 0, clock_);
  }
  if (req.build) {
    on_line(*build, "cenv: building " + req.tag + " (build " + std::to_string(req.attempt) + ")");
  }

  ImageBuildState state = ImageBuildState::kFailed;
  std::string error, image_id;
  auto docker = docker_.client();
  Result<std::string> built = docker.status();
  if (docker.ok() && req.build) {
    docker::BuildOptions options{.context_tar = req.context_tar,
                                 .tags = {req.tag},
                                 .labels = req.labels,
                                 .network_mode = options_.network_mode};
    auto each_line = [&](std::string_view line) {
      on_line(*build, line);
      return true;
    };
    built = docker.value()->build_image(options, each_line, stop);
  } else if (docker.ok()) {
    auto present = docker.value()->inspect_image(req.tag);
    built = present.ok() ? Result<std::string>(present->id) : present.status();
  }
  Status pushed;
  if (built.ok() && !req.push_reference.empty()) pushed = push(*build, *docker.value(), stop);
  if (built.ok() && pushed.ok()) {
    state = ImageBuildState::kSucceeded;
    image_id = std::move(built).value();
  } else {
    const Status& failed = built.ok() ? pushed : built.status();
    if (stop.stop_requested()) {
      state = ImageBuildState::kCancelled;
      error = "cancelled: " + failed.message();
    } else {
      error = failed.message();
      std::lock_guard lock(mu_);
      build->progress.push_failed = built.ok();
      build->progress.error_code = failed.code();
    }
  }
  {
    std::lock_guard lock(mu_);
    --running_;
  }
  changed_.notify_all();
  spdlog::info("Environment {}: build {} of {} {}{}", req.name, req.attempt, req.tag,
               image_build_state_name(state), error.empty() ? "" : ": " + error);
  finish(*build, state, std::move(error), std::move(image_id));
}

}  // namespace cenv
