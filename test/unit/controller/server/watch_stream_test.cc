// The Watch RPC (WatchStream, gRPC's callback API) end to end in process: a GrpcServer on a
// temp unix socket over a real SqliteStore, read with a plain gRPC stub.

#include "controller/server/watch_stream.h"

#include <grpcpp/grpcpp.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <filesystem>
#include <random>
#include <string>
#include <thread>

#include "api/limits.h"
#include "api/yaml_codec.h"
#include "cenv/v1/cenv.grpc.pb.h"
#include "controller/server/grpc_server.h"
#include "controller/store/sqlite_store.h"

namespace cenv {
namespace {

namespace json = boost::json;
namespace v1 = ::cenv::v1;
using namespace std::chrono_literals;

struct Served {
  explicit Served(WatchHubOptions hub_options = {},
                  std::chrono::milliseconds bookmark_interval = 5000ms,
                  size_t max_watches_per_client = kMaxWatchesPerClient) {
    dir = std::filesystem::temp_directory_path() /
          ("cenv-watch-test-" + std::to_string(std::random_device{}()));
    std::filesystem::create_directories(dir);
    store = std::move(SqliteStore::open((dir / "cenv.db").string(), clock).value());
    api = std::make_unique<ApiService>(*store, KindRegistry::builtin().value(), clock);
    REQUIRE(api->ensure_default_namespace().ok());
    hub = std::make_unique<WatchHub>(*store, hub_options);
    api->set_on_commit([this] { hub->notify(); });
    GrpcServerOptions options;
    options.unix_socket = (dir / "api.sock").string();
    options.bookmark_interval = bookmark_interval;
    options.max_watches_per_client = max_watches_per_client;
    auto started = GrpcServer::start(*api, *hub, options);
    REQUIRE(started.ok());
    server = std::move(started.value());
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(64 << 20);
    // The HTTP/2 window stays at its initial 64 kB, so a watcher that stops reading stalls the
    // server's writes soon (with BDP probing it would grow to megabytes).
    args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
    stub = v1::Cenv::NewStub(grpc::CreateCustomChannel("unix:" + options.unix_socket,
                                                       grpc::InsecureChannelCredentials(), args));
  }
  ~Served() {
    server.reset();
    hub.reset();
    api.reset();
    store.reset();
    std::filesystem::remove_all(dir);
  }

  // Applies a Service `name` in namespace default with label seq=`seq`; its resourceVersion.
  int64_t apply_service(const std::string& name, int seq, size_t padding = 0) {
    std::string yaml = "apiVersion: cenv.io/v1\nkind: Service\nmetadata:\n  name: " + name +
                       "\n  labels: {seq: \"" + std::to_string(seq) + "\"}\n";
    if (padding > 0) yaml += "  annotations: {pad: \"" + std::string(padding, 'x') + "\"}\n";
    yaml += "spec:\n  ports: [{containerPort: 80}]\n";
    auto docs = parse_manifest(yaml, "test.yaml");
    REQUIRE(docs.ok());
    std::vector<ApplyItem> items;
    items.push_back({Object(docs.value()[0].value.as_object()), "test.yaml"});
    auto out = api->apply(std::move(items), {});
    REQUIRE(out.ok());
    return out->at(0).object.resource_version();
  }

  // Applies Services `prefix`0 .. `prefix`(count-1) in one call (one transaction, so the hub
  // queues their events for a watcher all at once), each padded with `padding` bytes; their
  // resourceVersions in order.
  std::vector<int64_t> apply_services(const std::string& prefix, int count, size_t padding = 0) {
    std::vector<ApplyItem> items;
    for (int i = 0; i < count; ++i) {
      std::string yaml = "apiVersion: cenv.io/v1\nkind: Service\nmetadata:\n  name: " + prefix +
                         std::to_string(i) + "\n  labels: {seq: \"" + std::to_string(i) + "\"}\n";
      if (padding > 0) yaml += "  annotations: {pad: \"" + std::string(padding, 'x') + "\"}\n";
      yaml += "spec:\n  ports: [{containerPort: 80}]\n";
      auto docs = parse_manifest(yaml, "test.yaml");
      REQUIRE(docs.ok());
      items.push_back({Object(docs.value()[0].value.as_object()), "test.yaml"});
    }
    auto out = api->apply(std::move(items), {});
    REQUIRE(out.ok());
    std::vector<int64_t> rvs;
    for (const auto& o : out.value()) rvs.push_back(o.object.resource_version());
    return rvs;
  }

  SystemClock clock;
  std::filesystem::path dir;
  std::unique_ptr<SqliteStore> store;
  std::unique_ptr<ApiService> api;
  std::unique_ptr<WatchHub> hub;
  std::unique_ptr<GrpcServer> server;
  std::unique_ptr<v1::Cenv::Stub> stub;
};

struct Seen {
  std::string type;
  std::string name;
  std::string seq;
  int64_t rv = 0;
};

Seen seen(const v1::WatchEvent& ev) {
  json::object o = json::parse(ev.json()).as_object();
  const json::object& md = o.at("metadata").as_object();
  Seen s{ev.type(), "", "", 0};
  if (const auto* n = md.if_contains("name")) s.name = std::string(n->as_string());
  if (const auto* l = md.if_contains("labels")) {
    if (const auto* q = l->as_object().if_contains("seq")) s.seq = std::string(q->as_string());
  }
  if (const auto* rv = md.if_contains("resourceVersion")) {
    s.rv = std::stoll(std::string(rv->as_string()));
  }
  return s;
}

v1::WatchRequest services(const std::string& from = "", bool bookmarks = true,
                          bool batches = false) {
  v1::WatchRequest req;
  req.set_kind("services");
  req.set_namespace_("default");
  req.set_resource_version(from);
  req.set_allow_bookmarks(bookmarks);
  req.set_allow_batches(batches);
  return req;
}

// The events of one message, in the order a client handles them: the event, then `more`.
std::vector<Seen> unbatch(const v1::WatchEvent& ev) {
  std::vector<Seen> out{seen(ev)};
  for (const auto& m : ev.more()) {
    CHECK(m.more_size() == 0);
    out.push_back(seen(m));
  }
  return out;
}

TEST_CASE("watch sends the list as ADDED, a BOOKMARK, then each change in order", "[watch]") {
  Served s;
  int64_t rv_a = s.apply_service("a", 0);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 30s);
  auto reader = s.stub->Watch(&ctx, services());
  v1::WatchEvent ev;
  REQUIRE(reader->Read(&ev));
  Seen added = seen(ev);
  CHECK(added.type == "ADDED");
  CHECK(added.name == "a");
  CHECK(added.rv == rv_a);
  REQUIRE(reader->Read(&ev));
  CHECK(ev.type() == "BOOKMARK");
  CHECK(seen(ev).rv >= rv_a);

  std::vector<int64_t> written;
  for (int i = 1; i <= 50; ++i) written.push_back(s.apply_service("a", i));
  for (int i = 1; i <= 50; ++i) {
    REQUIRE(reader->Read(&ev));
    Seen m = seen(ev);
    INFO("event " << i);
    CHECK(m.type == "MODIFIED");
    CHECK(m.seq == std::to_string(i));
    CHECK(m.rv == written[static_cast<size_t>(i - 1)]);
  }
  ctx.TryCancel();
  CHECK(reader->Finish().error_code() == grpc::StatusCode::CANCELLED);
}

TEST_CASE("watch from a resourceVersion replays the history after it", "[watch]") {
  Served s;
  int64_t from = s.apply_service("a", 0);
  s.apply_service("a", 1);
  s.apply_service("b", 2);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 30s);
  auto reader = s.stub->Watch(&ctx, services(std::to_string(from), false));
  v1::WatchEvent ev;
  REQUIRE(reader->Read(&ev));
  CHECK(seen(ev).type == "MODIFIED");
  CHECK(seen(ev).seq == "1");
  REQUIRE(reader->Read(&ev));
  CHECK(seen(ev).type == "ADDED");
  CHECK(seen(ev).name == "b");
  s.apply_service("b", 3);
  REQUIRE(reader->Read(&ev));
  CHECK(seen(ev).seq == "3");
  ctx.TryCancel();
  reader->Finish();
}

TEST_CASE("resourceVersion parsing: empty is 0, anything but a whole number is -1", "[watch]") {
  CHECK(parse_resource_version("") == 0);
  CHECK(parse_resource_version("42") == 42);
  CHECK(parse_resource_version("12abc") == -1);
  CHECK(parse_resource_version("-3") == -1);
  CHECK(parse_resource_version("x") == -1);
  CHECK(parse_resource_version("99999999999999999999999") == -1);
}

TEST_CASE("watch refuses an unknown kind and a bad resourceVersion", "[watch]") {
  Served s;
  {
    grpc::ClientContext ctx;
    v1::WatchRequest req = services();
    req.set_kind("nosuchkind");
    auto reader = s.stub->Watch(&ctx, req);
    v1::WatchEvent ev;
    CHECK_FALSE(reader->Read(&ev));
    CHECK(reader->Finish().error_code() == grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext ctx;
    auto reader = s.stub->Watch(&ctx, services("abc"));
    v1::WatchEvent ev;
    CHECK_FALSE(reader->Read(&ev));
    CHECK(reader->Finish().error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  }
}

TEST_CASE("a quiet watch gets BOOKMARKs at the bookmark interval", "[watch]") {
  Served s({}, 100ms);
  int64_t rv = s.apply_service("a", 0);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 30s);
  auto reader = s.stub->Watch(&ctx, services(std::to_string(rv)));
  v1::WatchEvent ev;
  REQUIRE(reader->Read(&ev));
  CHECK(ev.type() == "BOOKMARK");
  CHECK(seen(ev).rv >= rv);
  REQUIRE(reader->Read(&ev));
  CHECK(ev.type() == "BOOKMARK");
  ctx.TryCancel();
  reader->Finish();
}

TEST_CASE("a watcher that does not read is cut off with OUT_OF_RANGE", "[watch]") {
  const bool batches = GENERATE(false, true);
  INFO("allow_batches " << batches);
  WatchHubOptions hub_options;
  hub_options.queue_limit = 4;
  Served s(hub_options);
  int64_t rv = s.apply_service("a", 0);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 60s);
  auto reader = s.stub->Watch(&ctx, services(std::to_string(rv), false, batches));
  // Until the server has registered the watch, writes would go to history instead.
  for (int i = 0; i < 500 && s.hub->watcher_count() == 0; ++i) std::this_thread::sleep_for(10ms);
  REQUIRE(s.hub->watcher_count() == 1);
  // 4 MB of events: far more than the socket and HTTP/2 flow-control windows hold, so the
  // server's writes stall and the hub's queue for this watcher overflows.
  for (int i = 1; i <= 200; ++i) s.apply_service("a", i, 20'000);
  v1::WatchEvent ev;
  int read = 0;
  while (reader->Read(&ev)) read += 1 + ev.more_size();
  CHECK(read < 200);
  grpc::Status status = reader->Finish();
  CHECK(status.error_code() == grpc::StatusCode::OUT_OF_RANGE);
}

TEST_CASE("a batching watcher gets the events waiting for it in one message, in order", "[watch]") {
  Served s;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 30s);
  auto reader = s.stub->Watch(&ctx, services("", true, true));
  v1::WatchEvent ev;
  REQUIRE(reader->Read(&ev));  // BOOKMARK: registered, the list was empty
  REQUIRE(ev.type() == "BOOKMARK");
  CHECK(ev.more_size() == 0);

  // 40 events committed together reach the watcher's queue together: one message.
  std::vector<int64_t> rvs = s.apply_services("b", 40);
  REQUIRE(reader->Read(&ev));
  std::vector<Seen> got = unbatch(ev);
  REQUIRE(got.size() == 40);
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("event " << i);
    CHECK(got[i].type == "ADDED");
    CHECK(got[i].name == "b" + std::to_string(i));
    CHECK(got[i].rv == rvs[i]);
  }

  // A single waiting event is sent alone, as to a client that did not ask for batches.
  int64_t rv = s.apply_service("b0", 1);
  REQUIRE(reader->Read(&ev));
  CHECK(ev.more_size() == 0);
  CHECK(seen(ev).type == "MODIFIED");
  CHECK(seen(ev).rv == rv);
  ctx.TryCancel();
  reader->Finish();
}

TEST_CASE("a watcher that did not ask for batches gets one event per message", "[watch]") {
  Served s;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 30s);
  auto reader = s.stub->Watch(&ctx, services("", true, false));
  v1::WatchEvent ev;
  REQUIRE(reader->Read(&ev));
  REQUIRE(ev.type() == "BOOKMARK");
  std::vector<int64_t> rvs = s.apply_services("b", 40);
  for (size_t i = 0; i < rvs.size(); ++i) {
    REQUIRE(reader->Read(&ev));
    INFO("event " << i);
    CHECK(ev.more_size() == 0);
    CHECK(seen(ev).rv == rvs[i]);
  }
  ctx.TryCancel();
  reader->Finish();
}

TEST_CASE("a batching watcher replays a long history in capped messages, nothing lost or repeated",
          "[watch]") {
  Served s;
  int64_t from = s.apply_service("first", 0);
  std::vector<int64_t> rvs = s.apply_services("h", 300);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 30s);
  auto reader = s.stub->Watch(&ctx, services(std::to_string(from), false, true));
  v1::WatchEvent ev;
  std::vector<Seen> got;
  std::vector<size_t> sizes;
  while (got.size() < rvs.size() && reader->Read(&ev)) {
    auto batch = unbatch(ev);
    sizes.push_back(batch.size());
    got.insert(got.end(), batch.begin(), batch.end());
  }
  // The whole history waits when the stream starts: 256 events (the cap), then the rest.
  CHECK(sizes == std::vector<size_t>{256, 44});
  REQUIRE(got.size() == rvs.size());
  for (size_t i = 0; i < got.size(); ++i) {
    INFO("event " << i);
    CHECK(got[i].name == "h" + std::to_string(i));
    CHECK(got[i].rv == rvs[i]);
  }
  // Live events follow, in order, after the history.
  int64_t rv = s.apply_service("h0", 1);
  REQUIRE(reader->Read(&ev));
  CHECK(ev.more_size() == 0);
  CHECK(seen(ev).rv == rv);
  ctx.TryCancel();
  reader->Finish();
}

TEST_CASE("a batch stops at about 1 MiB of events", "[watch]") {
  Served s;
  int64_t from = s.apply_service("first", 0);
  // 30 objects of ~100 kB: ~3 MB waiting, more than one message may hold.
  std::vector<int64_t> rvs = s.apply_services("big", 30, 100'000);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 30s);
  auto reader = s.stub->Watch(&ctx, services(std::to_string(from), false, true));
  v1::WatchEvent ev;
  std::vector<Seen> got;
  size_t messages = 0;
  while (got.size() < rvs.size() && reader->Read(&ev)) {
    ++messages;
    INFO("message " << messages);
    CHECK(ev.ByteSizeLong() <= (size_t{1} << 20) + 4096);
    CHECK(ev.more_size() >= 1);  // ~10 fit: still batched
    auto batch = unbatch(ev);
    got.insert(got.end(), batch.begin(), batch.end());
  }
  CHECK(messages >= 3);
  REQUIRE(got.size() == rvs.size());
  for (size_t i = 0; i < got.size(); ++i) CHECK(got[i].rv == rvs[i]);
  ctx.TryCancel();
  reader->Finish();
}

// A watch of services in default opened as `client` (kClientMetadataKey), with its context.
struct OpenWatch {
  OpenWatch(Served& s, const std::string& client) {
    ctx.set_deadline(std::chrono::system_clock::now() + 30s);
    ctx.AddMetadata(kClientMetadataKey, client);
    reader = s.stub->Watch(&ctx, services());
  }
  grpc::ClientContext ctx;
  std::unique_ptr<grpc::ClientReader<v1::WatchEvent>> reader;
};

TEST_CASE("a client past its limit of open watches gets RESOURCE_EXHAUSTED, others do not",
          "[watch][limits]") {
  Served s({}, 5000ms, 3);
  std::vector<std::unique_ptr<OpenWatch>> open;
  v1::WatchEvent ev;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<OpenWatch>(s, "pid-1"));
    REQUIRE(open.back()->reader->Read(&ev));  // the BOOKMARK after the (empty) list
  }
  OpenWatch refused(s, "pid-1");
  CHECK_FALSE(refused.reader->Read(&ev));
  grpc::Status status = refused.reader->Finish();
  CHECK(status.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
  CHECK_THAT(status.error_message(),
             Catch::StartsWith("too many watches: ") &&
                 Catch::Contains(" (cenv-client pid-1) has 3 open, the limit per client is 3"));

  OpenWatch other(s, "pid-2");
  CHECK(other.reader->Read(&ev));

  // One of the first client's watches ends: it may open another.
  open.front()->ctx.TryCancel();
  open.front()->reader->Finish();
  open.erase(open.begin());
  bool admitted = false;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!admitted && std::chrono::steady_clock::now() < deadline) {
    OpenWatch again(s, "pid-1");
    admitted = again.reader->Read(&ev);
    if (admitted) again.ctx.TryCancel();
    grpc::Status end = again.reader->Finish();
    if (!admitted) {
      REQUIRE(end.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED);
      std::this_thread::sleep_for(10ms);  // the server counts the cancelled call out soon
    }
  }
  CHECK(admitted);
  for (auto& w : open) {
    w->ctx.TryCancel();
    w->reader->Finish();
  }
  other.ctx.TryCancel();
  other.reader->Finish();
}

TEST_CASE("a cancelled watch unregisters from the hub", "[watch]") {
  Served s;
  grpc::ClientContext ctx;
  auto reader = s.stub->Watch(&ctx, services());
  v1::WatchEvent ev;
  REQUIRE(reader->Read(&ev));  // BOOKMARK: registered
  CHECK(s.hub->watcher_count() == 1);
  ctx.TryCancel();
  reader->Finish();
  for (int i = 0; i < 500 && s.hub->watcher_count() != 0; ++i) std::this_thread::sleep_for(10ms);
  CHECK(s.hub->watcher_count() == 0);
}

TEST_CASE("stopping the server ends open watches", "[watch]") {
  Served s;
  grpc::ClientContext ctx;
  auto reader = s.stub->Watch(&ctx, services());
  v1::WatchEvent ev;
  REQUIRE(reader->Read(&ev));
  s.server->shutdown();
  while (reader->Read(&ev)) {
  }
  CHECK_FALSE(reader->Finish().ok());
}

TEST_CASE("a server that cannot listen says so and leaves nothing running", "[watch]") {
  SystemClock clock;
  auto dir = std::filesystem::temp_directory_path() /
             ("cenv-watch-test-" + std::to_string(std::random_device{}()));
  std::filesystem::create_directories(dir);
  {
    auto store = std::move(SqliteStore::open((dir / "cenv.db").string(), clock).value());
    ApiService api(*store, KindRegistry::builtin().value(), clock);
    WatchHub hub(*store);
    GrpcServerOptions options;
    options.unix_socket = (dir / "no-such-dir" / "api.sock").string();
    auto started = GrpcServer::start(api, hub, options);
    REQUIRE_FALSE(started.ok());
    CHECK(started.status().code() == Code::kUnavailable);
    CHECK(started.status().message().find("no-such-dir") != std::string::npos);
  }
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cenv
