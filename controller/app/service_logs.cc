#include "controller/app/service_logs.h"

#include <chrono>
#include <stop_token>
#include <string>
#include <thread>

namespace cenv {

namespace {

Status stream_service(DockerConnection& docker, const DockerNames& names, const Object& service,
                      const LogsQuery& query, const LogFrameSink& sink,
                      const std::function<bool()>& cancelled) {
  auto client = docker.client();
  if (!client.ok()) return client.status();
  docker::DockerClient* engine = *client;
  const std::string container = names.container(service.ns(), service.name());
  auto info = engine->inspect_container(container);
  if (!info.ok()) {
    if (info.status().code() == Code::kNotFound) {
      return Status::NotFound("Service \"" + std::string(service.name()) + "\" in namespace \"" +
                              std::string(service.ns()) + "\" has no container (" + container +
                              "); is it running?");
    }
    return info.status();
  }
  if (info->labels[std::string(kLabelUid)] != service.uid()) {
    return Status::NotFound("container " + container + " does not belong to Service \"" +
                            std::string(service.name()) + "\" (uid " + std::string(service.uid()) +
                            ")");
  }
  std::stop_source stop;
  // Docker's follow blocks until output arrives; this turns the caller's cancel into a stop.
  std::jthread watchdog([&](std::stop_token own) {
    while (!own.stop_requested()) {
      if (cancelled()) {
        stop.request_stop();
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  int64_t position = 0;
  docker::LogsOptions options;
  options.follow = query.follow;
  bool reader_gone = false;
  Status s = engine->container_logs(
      info->id, options,
      [&](docker::StreamKind kind, std::string_view bytes) {
        const int64_t end = position + static_cast<int64_t>(bytes.size());
        if (end <= query.since_bytes) {
          position = end;
          return true;
        }
        if (position < query.since_bytes) {
          bytes.remove_prefix(static_cast<size_t>(query.since_bytes - position));
          position = query.since_bytes;
        }
        LogFrame f;
        f.stream = kind == docker::StreamKind::kStderr ? LogStream::kStderr : LogStream::kStdout;
        f.time = std::chrono::system_clock::now();
        f.offset = position;
        f.data.assign(bytes);
        position = end;
        if (!sink(f)) {
          reader_gone = true;
          return false;
        }
        return true;
      },
      stop.get_token());
  watchdog.request_stop();
  if (reader_gone || stop.stop_requested()) return Status::Ok();
  return s;
}

}  // namespace

ServiceLogSource docker_service_logs(DockerConnection& docker, DockerNames names) {
  return [&docker, names = std::move(names)](const Object& service, const LogsQuery& query,
                                             const LogFrameSink& sink,
                                             const std::function<bool()>& cancelled) {
    return stream_service(docker, names, service, query, sink, cancelled);
  };
}

}  // namespace cenv
