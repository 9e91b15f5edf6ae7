#pragma once
// StreamDemuxer: decodes Docker's multiplexed stdout/stderr stream (logs, attach and exec of
// containers without a TTY). Each frame is an 8-byte header {stream type, 0, 0, 0, big-endian
// uint32 payload size} and the payload; type 0 (stdin echo) and 1 are stdout, 2 is stderr.
// Input may be split anywhere (across headers and payloads). Not thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

#include "api/status.h"
#include "controller/docker/docker_client.h"

namespace cenv::docker {

class StreamDemuxer {
 public:
  // `raw` (a TTY stream) passes bytes through as stdout without decoding.
  explicit StreamDemuxer(bool raw = false) : raw_(raw) {}

  // Decodes `bytes`, calling `on_output` for each payload piece as soon as it is available
  // (a large frame may arrive in several calls). Returns false when `on_output` returned false
  // (stop); Internal status via error() when a header is malformed (the stream is not
  // multiplexed), after which every call returns false.
  bool feed(std::string_view bytes, const OutputCallback& on_output);

  // Ok, or Internal naming the bad header. Also Internal from finish() if the stream ended
  // inside a frame.
  const Status& error() const { return error_; }
  // Call at end of stream: Internal if a frame was cut short.
  Status finish();

 private:
  bool raw_;
  Status error_;
  char header_[8] = {};
  size_t header_len_ = 0;   // bytes of the current header seen so far
  uint32_t remaining_ = 0;  // payload bytes left in the current frame
  StreamKind kind_ = StreamKind::kStdout;
};

// Encodes one frame (for tests and fakes).
std::string encode_stream_frame(StreamKind kind, std::string_view payload);

}  // namespace cenv::docker
