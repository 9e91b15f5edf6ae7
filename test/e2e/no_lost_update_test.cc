// No lost update through the gRPC API of a running controller (the `cenv` binary started as a
// user starts it): eight clients each make N read-modify-write increments of one counter,
// retrying on conflict; the final value equals the number of successful updates.

#include <grpcpp/grpcpp.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <cstdlib>
#include <thread>

#include "cenv/v1/cenv.grpc.pb.h"
#include "test/e2e/cenv_runner.h"

namespace cenv::e2e {
namespace {

namespace json = boost::json;

constexpr const char* kCounter = "test.cenv.io/counter";

// Increments per client; CENV_TEST_UPDATES overrides the default of 1,000.
int updates_per_client() {
  const char* env = std::getenv("CENV_TEST_UPDATES");
  return env ? std::max(1, std::atoi(env)) : 1000;
}

int64_t counter_of(const json::object& obj) {
  const json::value* v = obj.at("metadata").as_object().if_contains("annotations");
  if (!v) return 0;
  const json::value* c = v->as_object().if_contains(kCounter);
  return c ? std::stoll(std::string(c->as_string())) : 0;
}

TEST_CASE("8 clients x N read-modify-write updates through the API lose no update", "[e2e]") {
  CenvRunner cenv;
  REQUIRE(cenv.run("apply -f - ", R"(apiVersion: cenv.io/v1
kind: Service
metadata:
  name: counter
  annotations:
    test.cenv.io/counter: "0"
spec:
  image: nginx:1
)")
              .exit_code == 0);
  std::string socket = "unix:" + (cenv.home() / "run" / "controller.sock").string();
  const int per_client = updates_per_client();
  constexpr int kClients = 8;
  std::vector<int> successes(kClients, 0), conflicts(kClients, 0);
  std::vector<std::string> failures(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      // Each client has its own channel, as separate processes would.
      grpc::ChannelArguments args;
      args.SetInt("cenv-test-client", c);  // distinct args: no shared subchannel
      auto stub = v1::Cenv::NewStub(
          grpc::CreateCustomChannel(socket, grpc::InsecureChannelCredentials(), args));
      while (successes[c] < per_client) {
        grpc::ClientContext get_ctx;
        v1::GetRequest get;
        get.set_kind("Service");
        get.set_namespace_("default");
        get.set_name("counter");
        v1::ObjectResponse got;
        grpc::Status s = stub->Get(&get_ctx, get, &got);
        if (!s.ok()) {
          failures[c] = "get: " + s.error_message();
          return;
        }
        json::object obj = json::parse(got.json()).as_object();
        int64_t next = counter_of(obj) + 1;
        json::value& annotations = obj["metadata"].as_object()["annotations"];
        if (!annotations.is_object()) annotations = json::object();
        annotations.as_object()[kCounter] = std::to_string(next);
        grpc::ClientContext put_ctx;
        v1::WriteRequest put;
        put.set_json(json::serialize(obj));  // carries the resourceVersion read
        put.set_field_manager("counter-" + std::to_string(c));
        v1::ObjectResponse stored;
        s = stub->Update(&put_ctx, put, &stored);
        if (s.ok()) {
          ++successes[c];
        } else if (s.error_code() == grpc::StatusCode::ABORTED) {
          ++conflicts[c];  // someone else wrote first: read again
        } else {
          failures[c] = "update: " + s.error_message();
          return;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  for (int c = 0; c < kClients; ++c) {
    INFO("client " << c);
    CHECK(failures[c].empty());
  }
  int total = 0, total_conflicts = 0;
  for (int c = 0; c < kClients; ++c) {
    total += successes[c];
    total_conflicts += conflicts[c];
  }
  CHECK(total == kClients * per_client);
  auto final_json = cenv.run("get svc counter -o json");
  REQUIRE(final_json.exit_code == 0);
  int64_t final_value = counter_of(json::parse(final_json.out).as_object());
  INFO("conflicts retried: " << total_conflicts);
  CHECK(final_value == total);
}

}  // namespace
}  // namespace cenv::e2e
