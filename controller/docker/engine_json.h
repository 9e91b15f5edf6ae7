#pragma once
// The Docker Engine API's JSON: request bodies from cenv's value types and value types from
// response bodies. Pure functions, no I/O; malformed responses become Internal.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/status.h"
#include "controller/docker/docker_client.h"

namespace cenv::docker {

// Docker's `filters` query parameter: {"label":["a=b"],"type":["container"]} (empty lists are
// left out; "" when nothing is left).
std::string filters_json(const std::map<std::string, std::vector<std::string>>& filters);

// POST /containers/create body (image healthchecks disabled; see ContainerSpec).
std::string container_create_body(const ContainerSpec& spec);
// POST /containers/{id}/exec body.
std::string exec_create_body(const ExecSpec& spec);
// POST /networks/create body.
std::string network_create_body(const NetworkSpec& spec);
// POST /volumes/create body.
std::string volume_create_body(const VolumeSpec& spec);
// Labels or build args as a JSON object text (for /build query parameters).
std::string string_map_json(const std::map<std::string, std::string>& map);

Result<EngineVersion> parse_version(std::string_view body);
// The "Id" of a create answer (containers, exec, networks).
Result<std::string> parse_created_id(std::string_view body);
Result<ContainerInfo> parse_container_info(std::string_view body);
Result<std::vector<ContainerSummary>> parse_container_list(std::string_view body);
Result<WaitResult> parse_wait_result(std::string_view body);
Result<ExecInfo> parse_exec_info(std::string_view body);
Result<NetworkInfo> parse_network_info(std::string_view body);
Result<std::vector<NetworkInfo>> parse_network_list(std::string_view body);
Result<VolumeInfo> parse_volume_info(std::string_view body);
Result<std::vector<VolumeInfo>> parse_volume_list(std::string_view body);
Result<ImageInfo> parse_image_info(std::string_view body);
Result<std::vector<ImageInfo>> parse_image_list(std::string_view body);
// One message of the event stream.
Result<DockerEvent> parse_event(std::string_view message);

// The X-Registry-Auth header value of a pull or push: base64url (RFC 4648 section 5) of
// {"username","password","serveraddress"}, or of {} without credentials (push requires the
// header). Holds the password: never log it.
std::string registry_auth_header(const std::optional<RegistryAuth>& auth);

// Docker's "since"/"until" query value for a time point: "<unix seconds>.<nanoseconds>".
std::string unix_time_param(TimePoint t);

}  // namespace cenv::docker
