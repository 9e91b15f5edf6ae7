#include "controller/docker/stream_demuxer.h"

#include <catch2/catch.hpp>
#include <string>
#include <utility>
#include <vector>

namespace cenv::docker {
namespace {

struct Collected {
  std::string out;
  std::string err;
  OutputCallback callback() {
    return [this](StreamKind kind, std::string_view bytes) {
      (kind == StreamKind::kStderr ? err : out).append(bytes);
      return true;
    };
  }
};

TEST_CASE("StreamDemuxer separates stdout and stderr however the input is split") {
  std::string stream = encode_stream_frame(StreamKind::kStdout, "out 1\n") +
                       encode_stream_frame(StreamKind::kStderr, "err 1\n") +
                       encode_stream_frame(StreamKind::kStdout, "") +
                       encode_stream_frame(StreamKind::kStdout, std::string(70000, 'x'));
  for (size_t piece :
       {size_t{1}, size_t{3}, size_t{7}, size_t{8}, size_t{9}, size_t{4096}, stream.size()}) {
    INFO("pieces of " << piece << " bytes");
    StreamDemuxer demux;
    Collected c;
    auto cb = c.callback();
    for (size_t i = 0; i < stream.size(); i += piece) {
      REQUIRE(demux.feed(std::string_view(stream).substr(i, piece), cb));
    }
    REQUIRE(demux.finish().ok());
    CHECK(c.out == "out 1\n" + std::string(70000, 'x'));
    CHECK(c.err == "err 1\n");
  }
}

TEST_CASE("StreamDemuxer treats stream type 0 (stdin echo) as stdout") {
  std::string frame = encode_stream_frame(StreamKind::kStdout, "typed");
  frame[0] = 0;
  StreamDemuxer demux;
  Collected c;
  REQUIRE(demux.feed(frame, c.callback()));
  CHECK(c.out == "typed");
}

TEST_CASE("StreamDemuxer in raw mode passes TTY output through as stdout") {
  StreamDemuxer demux(/*raw=*/true);
  Collected c;
  REQUIRE(demux.feed("\x01\x02 not a header", c.callback()));
  REQUIRE(demux.finish().ok());
  CHECK(c.out == "\x01\x02 not a header");
  CHECK(c.err.empty());
}

TEST_CASE("StreamDemuxer reports a stream that is not multiplexed") {
  StreamDemuxer demux;
  Collected c;
  CHECK_FALSE(demux.feed("hello world, no header here", c.callback()));
  CHECK(demux.error().code() == Code::kInternal);
  CHECK_THAT(demux.error().message(), Catch::Contains("not multiplexed"));
  CHECK_FALSE(demux.feed(encode_stream_frame(StreamKind::kStdout, "late"), c.callback()));
  CHECK(c.out.empty());
}

TEST_CASE("StreamDemuxer reports a stream cut inside a frame") {
  std::string frame = encode_stream_frame(StreamKind::kStderr, "0123456789");
  for (size_t cut : {size_t{4}, size_t{8}, size_t{12}}) {
    INFO("cut after " << cut << " bytes");
    StreamDemuxer demux;
    Collected c;
    REQUIRE(demux.feed(frame.substr(0, cut), c.callback()));
    Status s = demux.finish();
    CHECK(s.code() == Code::kInternal);
    CHECK_THAT(s.message(), Catch::Contains("inside a frame"));
  }
}

TEST_CASE("StreamDemuxer stops when the callback returns false") {
  std::string stream = encode_stream_frame(StreamKind::kStdout, "first") +
                       encode_stream_frame(StreamKind::kStdout, "second");
  StreamDemuxer demux;
  std::vector<std::string> seen;
  CHECK_FALSE(demux.feed(stream, [&](StreamKind, std::string_view b) {
    seen.emplace_back(b);
    return false;
  }));
  CHECK(seen == std::vector<std::string>{"first"});
  CHECK(demux.error().ok());
}

TEST_CASE("encode_stream_frame writes a big-endian size") {
  std::string frame = encode_stream_frame(StreamKind::kStderr, std::string(0x010203, 'a'));
  CHECK(frame.substr(0, 8) == std::string("\x02\x00\x00\x00\x00\x01\x02\x03", 8));
}

}  // namespace
}  // namespace cenv::docker
