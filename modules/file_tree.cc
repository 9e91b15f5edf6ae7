#include "modules/file_tree.h"

#include <openssl/evp.h>

#include <array>
#include <memory>

namespace cenv::modules {

namespace {

// Incremental SHA-256 over OpenSSL's EVP interface.
class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new(), &EVP_MD_CTX_free) {
    EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr);
  }
  void add(std::string_view bytes) { EVP_DigestUpdate(ctx_.get(), bytes.data(), bytes.size()); }
  void add_length(uint64_t n) {
    std::array<char, 8> be{};
    for (int i = 7; i >= 0; --i, n >>= 8) be[i] = static_cast<char>(n & 0xff);
    add(std::string_view(be.data(), be.size()));
  }
  std::string hex() {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_.get(), md.data(), &len);
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (unsigned int i = 0; i < len; ++i) {
      out.push_back(kHex[md[i] >> 4]);
      out.push_back(kHex[md[i] & 0xf]);
    }
    return out;
  }

 private:
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx_;
};

}  // namespace

uint64_t FileTree::total_bytes() const {
  uint64_t n = 0;
  for (const auto& [path, entry] : files) n += entry.data.size();
  return n;
}

Status check_tree_path(std::string_view path) {
  auto bad = [&](std::string_view why) {
    std::string shown(path.substr(0, 256));
    return Status::Invalid("file path \"" + shown + "\" " + std::string(why));
  };
  if (path.empty()) return bad("is empty");
  if (path.size() > 4096) return bad("is longer than 4096 bytes");
  if (path.front() == '/') return bad("is absolute");
  if (path.find('\0') != std::string_view::npos) return bad("contains a NUL byte");
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty()) return bad("has an empty component");
    if (part == "." || part == "..") return bad("has a '.' or '..' component");
    start = end + 1;
  }
  return Status::Ok();
}

std::string tree_digest(const FileTree& tree) {
  Sha256 h;
  h.add("cenv-file-tree-v1");
  h.add_length(tree.files.size());
  for (const auto& [path, entry] : tree.files) {
    h.add_length(path.size());
    h.add(path);
    h.add(entry.executable ? "x" : "-");
    h.add_length(entry.data.size());
    h.add(entry.data);
  }
  return "sha256:" + h.hex();
}

std::string sha256_hex(std::string_view bytes) {
  Sha256 h;
  h.add(bytes);
  return h.hex();
}

}  // namespace cenv::modules
