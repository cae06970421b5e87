// `encmol serve` as a background process of a test: started through the
// shell on a free loopback port (read from its first line of output), and
// stopped with SIGTERM (graceful) or SIGKILL (a crash).
#pragma once

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <thread>

#include "encmol/core/file_io.hpp"

namespace encmol::test {

class ServeProcess {
 public:
  /// Starts `encmol serve ARGS --listen 127.0.0.1:0`, logging into
  /// DIR/serve.out and DIR/serve.err; throws when no port appears in 60 s.
  ServeProcess(const std::string& args, const std::filesystem::path& dir) : dir_(dir) {
    std::filesystem::remove(out());
    const std::string cmd = std::string(ENCMOL_BINARY_DIR) + "/encmol serve " + args +
                            " --listen 127.0.0.1:0 >" + out().string() + " 2>" + err().string() +
                            " & echo $!";
    FILE* f = ::popen(cmd.c_str(), "r");
    if (f == nullptr) throw std::runtime_error("popen failed");
    const int read = std::fscanf(f, "%d", &pid_);
    ::pclose(f);
    if (read != 1) throw std::runtime_error("encmol serve did not start");
    for (int i = 0; i < 600 && port_.empty() && alive(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      std::ifstream in(out());
      std::string word;
      while (in >> word)
        if (word == "port") in >> port_;
    }
    if (port_.empty()) {
      ::kill(pid_, SIGKILL);
      throw std::runtime_error("encmol serve printed no port: " + stderr_text());
    }
  }
  ~ServeProcess() {
    if (alive()) ::kill(pid_, SIGKILL);
  }
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  const std::string& port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + port_; }
  int pid() const { return pid_; }
  /// Running: it exists and is not a zombie (killed, it is reparented to
  /// init, which may reap it late or, in some containers, never).
  bool alive() const {
    if (::kill(pid_, 0) != 0) return false;
    std::ifstream stat("/proc/" + std::to_string(pid_) + "/stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');  // "pid (comm) S ..."
    return close == std::string::npos || close + 2 >= line.size() || line[close + 2] != 'Z';
  }
  std::string stderr_text() const { return core::read_file_text(err()); }

  /// Sends `signal` and waits up to `seconds` for the process to end; true when it did.
  bool stop(int signal, int seconds = 30) {
    if (::kill(pid_, signal) != 0) return !alive();
    for (int i = 0; i < seconds * 10 && alive(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    return !alive();
  }

 private:
  std::filesystem::path out() const { return dir_ / "serve.out"; }
  std::filesystem::path err() const { return dir_ / "serve.err"; }
  std::filesystem::path dir_;
  int pid_ = 0;
  std::string port_;
};

}  // namespace encmol::test
