// GitOps over ssh: an Environment whose spec.source follows a bare repository served by an
// sshd the test runs on a free loopback port (its own host key, config and authorized_keys;
// root's login by key only), with the private key in the Environment's spec.secrets named by
// source.secretRef and the server's host key in source.git.knownHosts. Without knownHosts the
// server is refused, naming the key it offered; the right key syncs the commit; a key the
// server does not know is Synced=False naming the authentication, and never the key. Everything the
// test made is removed at the end (the runner removes its Docker objects, the sshd is stopped).

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <catch2/catch.hpp>
#include <chrono>
#include <string>

#include "test/e2e/cenv_runner.h"
#include "test/e2e/condition_text.h"

namespace cenv::e2e {
namespace {

namespace json = boost::json;
using std::chrono::seconds;

// An sshd on 127.0.0.1:port() serving this machine's files to root with `authorized` keys.
class TestSshd {
 public:
  TestSshd(const std::filesystem::path& dir, const std::string& authorized) : dir_(dir) {
    std::filesystem::create_directories(dir);
    REQUIRE(std::system(("ssh-keygen -q -t ed25519 -N '' -f '" + (dir / "host_key").string() +
                         "' >/dev/null")
                            .c_str()) == 0);
    write_file(dir / "authorized_keys", authorized);
    port_ = free_port();
    REQUIRE(port_ > 0);
    write_file(dir / "sshd_config",
               "Port " + std::to_string(port_) + "\nListenAddress 127.0.0.1\nHostKey " +
                   (dir / "host_key").string() + "\nAuthorizedKeysFile " +
                   (dir / "authorized_keys").string() +
                   "\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                   "PubkeyAuthentication yes\nPermitRootLogin prohibit-password\nUsePAM no\n"
                   "StrictModes no\nPidFile " +
                   (dir / "sshd.pid").string() + "\n");
    std::filesystem::create_directories("/run/sshd");  // sshd's privilege separation directory
    pid_ = fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      const std::string config = (dir / "sshd_config").string();
      const std::string log = (dir / "sshd.log").string();
      execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-f", config.c_str(), "-E", log.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    REQUIRE(eventually(
        [&] { return shell("ss -ltnH 'sport = :" + std::to_string(port_) + "'").size() > 0; },
        seconds(20)));
  }
  ~TestSshd() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      waitpid(pid_, nullptr, 0);
    }
  }
  TestSshd(const TestSshd&) = delete;
  TestSshd& operator=(const TestSshd&) = delete;

  int port() const { return port_; }
  std::string log() const { return CenvRunner::slurp(dir_ / "sshd.log"); }

 private:
  std::filesystem::path dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

// A key pair made with ssh-keygen: ECDSA P-256 in PEM, which libgit2's libssh2 reads.
struct KeyPair {
  std::string private_pem;
  std::string public_line;
};
KeyPair make_key(const std::filesystem::path& path) {
  REQUIRE(std::system(("ssh-keygen -q -t ecdsa -b 256 -m PEM -N '' -C cenv-test -f '" +
                       path.string() + "' >/dev/null")
                          .c_str()) == 0);
  return {CenvRunner::slurp(path), CenvRunner::slurp(path.string() + ".pub")};
}

// `text` as a YAML block scalar's lines, indented by `indent` spaces.
std::string indented(const std::string& text, int indent) {
  std::string out, pad(static_cast<size_t>(indent), ' ');
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out += pad + text.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return out;
}

std::string environment(const std::string& name, const std::string& url, const KeyPair& key,
                        const std::string& known_hosts) {
  std::string text = "apiVersion: cenv.io/v1\nkind: Environment\nmetadata:\n  name: " + name +
                     "\nspec:\n  secrets:\n    deploy_key: |\n" + indented(key.private_pem, 6) +
                     "  source:\n    git:\n      url: " + url + "\n      ref: main\n";
  if (!known_hosts.empty()) text += "      knownHosts: |\n" + indented(known_hosts, 8);
  return text + "    path: deploy\n    interval: 2s\n    secretRef: deploy_key\n";
}

// The Synced condition of Environment `name`: "status reason: message".
std::string synced(const CenvRunner& cenv, const std::string& name) {
  auto r = cenv.run("get env " + name + " -o json");
  return r.exit_code == 0 ? condition_text(json::parse(r.out), "Synced") : "";
}

TEST_CASE("gitops over ssh: a private key from spec.secrets syncs and a wrong one is refused",
          "[e2e][gitops]") {
  REQUIRE(geteuid() == 0);  // sshd serves root's login here; CI runs as root
  CenvRunner cenv;
  const auto dir = cenv.home() / "ssh";
  std::filesystem::create_directories(dir);
  const KeyPair good = make_key(dir / "good");
  const KeyPair stranger = make_key(dir / "stranger");
  TestSshd sshd(dir / "server", good.public_line);

  // A bare repository with one Service, pushed with the git CLI.
  const auto bare = dir / "ops.git", work = dir / "work";
  REQUIRE(std::system(("git init -q --bare -b main '" + bare.string() + "' && git clone -q '" +
                       bare.string() + "' '" + work.string() + "' 2>/dev/null")
                          .c_str()) == 0);
  write_file(work / "deploy" / "web.yaml",
             "apiVersion: cenv.io/v1\nkind: Service\nmetadata:\n  name: web\nspec:\n"
             "  image: cenv/base:bookworm\n  command: [sh, -c, \"trap 'exit 0' TERM; sleep 3600 "
             "& wait\"]\n");
  REQUIRE(std::system(("cd '" + work.string() +
                       "' && git checkout -q -b main && git add -A && git -c user.name=t -c "
                       "user.email=t@example.com commit -q -m web && git push -q origin main "
                       "2>/dev/null")
                          .c_str()) == 0);
  const std::string url = "ssh://root@127.0.0.1:" + std::to_string(sshd.port()) + bare.string();

  const std::string port = std::to_string(sshd.port());
  const std::string known_hosts = shell("ssh-keyscan -p " + port + " 127.0.0.1 2>/dev/null");
  REQUIRE(has(known_hosts, "ssh-ed25519"));

  // No knownHosts: the server is not trusted, and the condition names the key it offered.
  auto applied = cenv.run("apply -f -", environment("unknownhost", url, good, ""));
  REQUIRE(applied.exit_code == 0);
  std::string untrusted;
  REQUIRE(eventually(
      [&] {
        untrusted = synced(cenv, "unknownhost");
        return untrusted.rfind("False", 0) == 0;
      },
      seconds(90)));
  CHECK(has(untrusted, "host key (ssh-ed25519 SHA256:"));
  CHECK(has(untrusted, "is not in spec.source.git.knownHosts"));

  applied = cenv.run("apply -f -", environment("viassh", url, good, known_hosts));
  INFO(applied.err);
  REQUIRE(applied.exit_code == 0);
  std::string state;
  bool ok = eventually(
      [&] {
        state = synced(cenv, "viassh");
        return state.rfind("True", 0) == 0;
      },
      seconds(90));
  INFO("Synced: " << state << "\nsshd log:\n" << sshd.log());
  REQUIRE(ok);
  CHECK(cenv.run("get svc web -n viassh").exit_code == 0);

  // A key the server does not know: the sync fails, saying so, and shows no key.
  applied = cenv.run("apply -f -", environment("stranger", url, stranger, known_hosts));
  REQUIRE(applied.exit_code == 0);
  std::string refused;
  REQUIRE(eventually(
      [&] {
        refused = synced(cenv, "stranger");
        return refused.rfind("False", 0) == 0;
      },
      seconds(90)));
  INFO(refused);
  CHECK((has(refused, "auth") || has(refused, "Auth")));
  CHECK_FALSE(has(refused, "PRIVATE KEY"));
  CHECK(cenv.run("get svc web -n stranger").exit_code != 0);

  cenv.run("delete env viassh stranger unknownhost --timeout 60s");
}

}  // namespace
}  // namespace cenv::e2e
