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
#include <memory>
#include <sstream>
#include <thread>

#include "cli_test_util.hpp"
#include "encmol/chem/readers.hpp"
#include "serve_process.hpp"

namespace fs = std::filesystem;
using encmol::test::CliRun;
using encmol::test::ServeProcess;

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

  const std::string serve_args = "-m qm7=" + p("m.model") + " --tls-cert " + p("tls/server.pem") +
                                 " --tls-key " + p("tls/server.key") + " " + db + " --key-cache " +
                                 p("keys") + " --tolerance 0.5 --threads 2";
  const auto stop_server = [&](ServeProcess& server) {
    EXPECT_TRUE(server.stop(SIGTERM)) << "encmol serve did not stop on SIGTERM";
    EXPECT_NE(server.stderr_text().find("shut down"), std::string::npos);
  };
  const auto query_of = [&](const ServeProcess& server, const std::string& token_file) {
    return "query --server " + server.address() + " --ca " + p("tls/ca.pem") +
           " --server-name localhost --token-file " + p(token_file) + " --secret-key " +
           p("acme.key") + " " + p("query.xyz");
  };

  auto server = std::make_unique<ServeProcess>(serve_args, dir);
  r = run(query_of(*server, "acme.token") + " -o " + p("enc.csv"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("uploading the evaluation keys"), std::string::npos) << r.err;
  r = run("predict -m " + p("m.model") + " " + p("query.xyz"));
  ASSERT_EQ(r.code, 0) << r.err;
  const auto plain = first_column_by_name(r.out);
  const auto enc = first_column_by_name(encmol::core::read_file_text(p("enc.csv")));
  ASSERT_EQ(enc.size(), 5u);
  for (const auto& [name, value] : enc) {
    ASSERT_EQ(plain.count(name), 1u) << name;
    EXPECT_NEAR(value, plain.at(name), 0.5) << name;
  }
  stop_server(*server);

  // Restarted without its key files (a lost cache): the budget is still
  // there, the server asks for the keys and the client uploads them again.
  for (const auto& entry : fs::recursive_directory_iterator(p("keys")))
    if (entry.is_regular_file()) fs::remove(entry.path());
  server = std::make_unique<ServeProcess>(serve_args, dir);
  r = run(query_of(*server, "acme.token") + " -o " + p("enc2.csv"));
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_NE(r.err.find("uploading the evaluation keys"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("10 of 600 used"), std::string::npos) << r.err;
  const auto again = first_column_by_name(encmol::core::read_file_text(p("enc2.csv")));
  ASSERT_EQ(again.size(), enc.size());
  for (const auto& [name, value] : again) EXPECT_NEAR(value, plain.at(name), 0.5) << name;
  // The budget is per identity: 10 used, 12 allowed, 5 more refused.
  EXPECT_EQ(run("admin " + db + " budget set acme qm7 0").code, 1);  // 0 would mean unlimited
  EXPECT_EQ(run("admin " + db + " budget set acme qm7 -3").code, 1);
  r = run("admin " + db + " budget set acme qm7 12");
  ASSERT_EQ(r.code, 0) << r.err;
  r = run(query_of(*server, "acme.token") + " -o " + p("enc3.csv"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("budget"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(p("enc3.csv")));
  r = run("admin " + db + " budget show acme");
  EXPECT_NE(r.out.find("qm7"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find(" 10 "), std::string::npos) << r.out;
  // A wrong token is refused.
  std::ofstream(p("bad.token")) << "emt_0000000000000000_" << std::string(64, '0') << "\n";
  r = run(query_of(*server, "bad.token"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("token"), std::string::npos) << r.err;
  // A disabled identity is refused at once, with its state kept.
  r = run("admin " + db + " identity disable acme");
  ASSERT_EQ(r.code, 0) << r.err;
  r = run("admin " + db + " identity list");
  EXPECT_NE(r.out.find("disabled"), std::string::npos) << r.out;
  r = run("admin " + db + " budget set acme qm7 100");
  ASSERT_EQ(r.code, 0) << r.err;
  r = run(query_of(*server, "acme.token"));
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.err.find("disabled"), std::string::npos) << r.err;
  EXPECT_EQ(run("admin " + db + " identity disable nobody").code, 1);
  r = run("admin " + db + " identity enable acme");
  ASSERT_EQ(r.code, 0) << r.err;
  r = run(query_of(*server, "acme.token") + " -o " + p("enc4.csv"));
  EXPECT_EQ(r.code, 0) << r.err;
  stop_server(*server);
  fs::remove_all(dir);
}
