// TLS material for the service (docs/service.md): PEM files read with a size
// cap and clear errors, turned into gRPC credentials. There is no plaintext
// mode: the server always speaks TLS, and with a client CA it asks for client
// certificates and verifies any that is presented (mutual TLS); a client
// without one must then bring a token.
#pragma once

#include <grpcpp/security/credentials.h>
#include <grpcpp/security/server_credentials.h>

#include <filesystem>
#include <memory>
#include <string>

namespace encmol::service {

struct ServerTls {
  std::filesystem::path certificate;  // PEM chain
  std::filesystem::path private_key;  // PEM
  std::filesystem::path client_ca;    // PEM; empty: no client certificates (tokens only)
};

struct ClientTls {
  std::filesystem::path ca;           // PEM the server's certificate must chain to
  std::filesystem::path certificate;  // client certificate (mutual TLS), optional
  std::filesystem::path private_key;
  /// Name the server's certificate must carry when it differs from the host
  /// dialled (e.g. dialling 127.0.0.1 for a certificate of "localhost").
  std::string server_name;
};

/// Reads a PEM file (InputError naming the option when missing, empty, over
/// 1 MiB or not PEM).
std::string read_pem(const std::filesystem::path& path, const std::string& what);

std::shared_ptr<grpc::ServerCredentials> server_credentials(const ServerTls& tls);
std::shared_ptr<grpc::ChannelCredentials> channel_credentials(const ClientTls& tls);

}  // namespace encmol::service
