// The Prometheus endpoint really serves the counters over HTTP on its own port.
#include "encmol/service/metrics.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "encmol/core/error.hpp"

namespace {

// A free loopback port (bound and released; good enough for a test).
int free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t n = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string http_get(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<std::uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return {};
  }
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
  (void)!::write(fd, request.data(), request.size());
  std::string out;
  char buffer[4096];
  for (ssize_t k; (k = ::read(fd, buffer, sizeof buffer)) > 0;)
    out.append(buffer, static_cast<std::size_t>(k));
  ::close(fd);
  return out;
}

}  // namespace

TEST(Metrics, CountsAreServedAsPrometheusText) {
  const int port = free_port();
  encmol::service::Metrics metrics("127.0.0.1:" + std::to_string(port));
  metrics.request("Evaluate", encmol::service::Outcome::ok, 0.2);
  metrics.request("Evaluate", encmol::service::Outcome::budget, 0.01);
  metrics.key_cache(true);
  metrics.molecules("qm7", 5);
  metrics.queue_depth(3);
  const std::string page = http_get(port, "/metrics");
  EXPECT_NE(page.find("200 OK"), std::string::npos) << page;
  EXPECT_NE(page.find("encmol_requests_total{method=\"Evaluate\",outcome=\"ok\"} 1"),
            std::string::npos)
      << page;
  EXPECT_NE(page.find("outcome=\"budget_exhausted\"} 1"), std::string::npos);
  EXPECT_NE(page.find("encmol_molecules_answered_total{model=\"qm7\"} 5"), std::string::npos);
  EXPECT_NE(page.find("encmol_queue_depth 3"), std::string::npos);
  EXPECT_NE(page.find("encmol_request_seconds_bucket{method=\"Evaluate\",le=\"0.25\"} 2"),
            std::string::npos);
}

TEST(Metrics, ABusyPortIsAClearError) {
  const int port = free_port();
  encmol::service::Metrics first("127.0.0.1:" + std::to_string(port));
  EXPECT_THROW(encmol::service::Metrics("127.0.0.1:" + std::to_string(port)), encmol::IoError);
}
