// End to end with the real executables over the network: `encmol admin`
// registers a client and issues its token, `encmol serve` runs in the
// background on a free loopback port with TLS, `encmol query` gets encrypted
// predictions (compared with `encmol predict` in the clear) and is refused
// past its budget, and SIGTERM stops the server cleanly.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "cli_test_util.hpp"
#include "encmol/chem/readers.hpp"

namespace fs = std::filesystem;
using encmol::test::CliRun;

using encmol::test::first_column_by_name;

TEST(ServiceCli, ServeAdminAndQueryOverTls) {
  const fs::path dir =
      fs::temp_directory_path() / ("encmol_service_cli_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  auto p = [&](const std::string& name) { return (dir / name).string(); };
  auto run = [&](const std::string& args) { return encmol::test::run_encmol(args, dir); };
  const auto all = encmol::chem::read_molecules(fs::path(ENCMOL_SOURCE_DIR) / "data/qm7.xyz.gz");
  encmol::chem::write_xyz(p("train.xyz"), {all.begin(), all.begin() + 150});
  encmol::chem::write_xyz(p("query.xyz"), {all.begin() + 150, all.begin() + 155});
  ASSERT_EQ(std::system((std::string(ENCMOL_SOURCE_DIR) + "/scripts/make_certs.sh " + p("tls") +
                         " localhost >/dev/null")
                            .c_str()),
            0);
  ASSERT_EQ(
      run("train " + p("train.xyz") + " -t ae_pbe0 --kernel linear --lambda 1e4 -o " + p("m.model"))
          .code,
      0);
  const std::string db = "--db sqlite:" + p("service.db");
  CliRun r = run("admin " + db + " identity add acme");
  ASSERT_EQ(r.code, 0) << r.err;
  r = run("admin " + db + " token issue acme -o " + p("acme.token"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(fs::status(p("acme.token")).permissions() & fs::perms::others_read, fs::perms::none);
  EXPECT_EQ(run("admin " + db + " identity add 'bad name'").code, 1);

  // The server in the background; it prints its port.
  const std::string serve =
      std::string(ENCMOL_BINARY_DIR) + "/encmol serve -m qm7=" + p("m.model") +
      " --listen 127.0.0.1:0 --tls-cert " + p("tls/server.pem") + " --tls-key " +
      p("tls/server.key") + " " + db + " --key-cache " + p("keys") +
      " --tolerance 0.5 --threads 2 >" + p("serve.out") + " 2>" + p("serve.err") + " & echo $!";
  FILE* f = popen(serve.c_str(), "r");
  ASSERT_NE(f, nullptr);
  int pid = 0;
  ASSERT_EQ(fscanf(f, "%d", &pid), 1);
  pclose(f);
  std::string port;
  for (int i = 0; i < 600 && port.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    std::ifstream in(p("serve.out"));
    std::string word;
    while (in >> word)
      if (word == "port") in >> port;
  }
  ASSERT_FALSE(port.empty()) << encmol::core::read_file_text(p("serve.err"));

  const std::string query = "query --server 127.0.0.1:" + port + " --ca " + p("tls/ca.pem") +
                            " --server-name localhost --token-file " + p("acme.token") +
                            " --secret-key " + p("acme.key") + " " + p("query.xyz");
  r = run(query + " -o " + p("enc.csv"));
  ASSERT_EQ(r.code, 0) << r.err;
  r = run("predict -m " + p("m.model") + " " + p("query.xyz"));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto plain = first_column_by_name(r.out);
  const auto enc = first_column_by_name(encmol::core::read_file_text(p("enc.csv")));
  ASSERT_EQ(enc.size(), 5u);
  for (const auto& [name, value] : enc) {
    ASSERT_EQ(plain.count(name), 1u) << name;
    EXPECT_NEAR(value, plain.at(name), 0.5) << name;
  }
  // The key is reused (no second upload) and the budget is per identity.
  r = run("admin " + db + " budget set acme qm7 7");
  ASSERT_EQ(r.code, 0) << r.err;
  r = run(query + " -o " + p("enc2.csv"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("budget"), std::string::npos) << r.err;
  r = run("admin " + db + " budget show acme");
  EXPECT_NE(r.out.find("qm7"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" 5 "), std::string::npos) << r.out;
  // A wrong token is refused.
  std::ofstream(p("bad.token")) << "emt_0000000000000000_" << std::string(64, '0') << "\n";
  r = run("query --server 127.0.0.1:" + port + " --ca " + p("tls/ca.pem") +
          " --server-name localhost --token-file " + p("bad.token") + " --secret-key " +
          p("x.key") + " " + p("query.xyz"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("token"), std::string::npos) << r.err;

  ASSERT_EQ(::kill(pid, SIGTERM), 0);
  for (int i = 0; i < 300 && ::kill(pid, 0) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_NE(::kill(pid, 0), 0) << "encmol serve did not stop on SIGTERM";
  EXPECT_NE(encmol::core::read_file_text(p("serve.err")).find("shut down"), std::string::npos);
  fs::remove_all(dir);
}
