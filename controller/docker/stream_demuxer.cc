#include "controller/docker/stream_demuxer.h"

#include <algorithm>
#include <cstdio>

namespace cenv::docker {

bool StreamDemuxer::feed(std::string_view bytes, const OutputCallback& on_output) {
  if (!error_.ok()) return false;
  if (raw_) return bytes.empty() || on_output(StreamKind::kStdout, bytes);
  while (!bytes.empty()) {
    if (remaining_ == 0) {
      size_t n = std::min(bytes.size(), sizeof header_ - header_len_);
      bytes.copy(header_ + header_len_, n);
      header_len_ += n;
      bytes.remove_prefix(n);
      if (header_len_ < sizeof header_) return true;
      header_len_ = 0;
      auto type = static_cast<unsigned char>(header_[0]);
      if (type > 2 || header_[1] != 0 || header_[2] != 0 || header_[3] != 0) {
        char hex[64];
        std::snprintf(
            hex, sizeof hex, "%02x %02x %02x %02x", type, static_cast<unsigned char>(header_[1]),
            static_cast<unsigned char>(header_[2]), static_cast<unsigned char>(header_[3]));
        error_ = Status::Internal(std::string("malformed docker stream header (") + hex +
                                  "): the stream is not multiplexed");
        return false;
      }
      kind_ = type == 2 ? StreamKind::kStderr : StreamKind::kStdout;
      remaining_ = (uint32_t{static_cast<unsigned char>(header_[4])} << 24) |
                   (uint32_t{static_cast<unsigned char>(header_[5])} << 16) |
                   (uint32_t{static_cast<unsigned char>(header_[6])} << 8) |
                   uint32_t{static_cast<unsigned char>(header_[7])};
      continue;
    }
    size_t n = std::min<size_t>(bytes.size(), remaining_);
    remaining_ -= static_cast<uint32_t>(n);
    if (!on_output(kind_, bytes.substr(0, n))) return false;
    bytes.remove_prefix(n);
  }
  return true;
}

Status StreamDemuxer::finish() {
  if (!error_.ok()) return error_;
  if (header_len_ != 0 || remaining_ != 0) {
    return Status::Internal("docker stream ended inside a frame (" +
                            std::to_string(header_len_ ? 8 - header_len_ : remaining_) +
                            " bytes missing)");
  }
  return Status::Ok();
}

std::string encode_stream_frame(StreamKind kind, std::string_view payload) {
  std::string out(8, '\0');
  out[0] = kind == StreamKind::kStderr ? 2 : 1;
  auto size = static_cast<uint32_t>(payload.size());
  out[4] = static_cast<char>(size >> 24);
  out[5] = static_cast<char>(size >> 16);
  out[6] = static_cast<char>(size >> 8);
  out[7] = static_cast<char>(size);
  out.append(payload);
  return out;
}

}  // namespace cenv::docker
