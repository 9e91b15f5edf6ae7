#pragma once
// ForwardingStore: a Store that hands every call to another Store. Tests derive from it and
// override the calls they count, slow down or make fail.

#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "controller/store/store.h"

namespace cenv::testing {

class ForwardingStore : public Store {
 public:
  explicit ForwardingStore(Store& inner) : inner_(inner) {}
  Result<std::vector<Object>> commit(std::span<const Write> w) override { return inner_.commit(w); }
  Result<Object> get(const ObjectKey& k) override { return inner_.get(k); }
  Result<std::vector<std::optional<Object>>> get_many(std::span<const ObjectKey> k) override {
    return inner_.get_many(k);
  }
  Result<std::vector<std::optional<Object>>> get_many_into(std::span<const ObjectKey> k,
                                                           boost::json::storage_ptr sp) override {
    return inner_.get_many_into(k, std::move(sp));
  }
  Result<ObjectList> list(const ListOptions& o) override { return inner_.list(o); }
  Result<std::vector<WatchEvent>> events_since(int64_t a, size_t l) override {
    return inner_.events_since(a, l);
  }
  Status compact(int64_t r) override { return inner_.compact(r); }
  Result<int64_t> revision() override { return inner_.revision(); }
  Result<int64_t> compacted_revision() override { return inner_.compacted_revision(); }
  Result<int64_t> append_log(const std::string& uid, std::span<const LogPiece> p) override {
    return inner_.append_log(uid, p);
  }
  Result<std::vector<LogChunk>> read_log(const std::string& uid, int64_t o, size_t m) override {
    return inner_.read_log(uid, o, m);
  }
  Result<LogSummary> log_summary(const std::string& uid) override {
    return inner_.log_summary(uid);
  }
  Status delete_log(const std::string& uid) override { return inner_.delete_log(uid); }
  Status trim_log(const std::string& uid, int keep) override { return inner_.trim_log(uid, keep); }
  Status put_archive(const std::string& d, std::string_view b) override {
    return inner_.put_archive(d, b);
  }
  Result<std::string> get_archive(const std::string& d) override { return inner_.get_archive(d); }
  Result<bool> has_archive(const std::string& d) override { return inner_.has_archive(d); }
  Result<std::vector<std::string>> list_archives() override { return inner_.list_archives(); }

 protected:
  Store& inner_;
};

}  // namespace cenv::testing
