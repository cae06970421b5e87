#include "encmol/service/tls.hpp"

#include <grpcpp/security/server_credentials.h>

#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"

namespace encmol::service {

std::string read_pem(const std::filesystem::path& path, const std::string& what) {
  if (path.empty()) throw InputError(what + ": no file given");
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    throw InputError(what + " " + path.string() + " does not exist or is not a file");
  const std::string text = core::read_file_text(path, std::uint64_t{1} << 20);
  if (text.find("-----BEGIN ") == std::string::npos)
    throw InputError(what + " " + path.string() + " is not a PEM file (no -----BEGIN line)");
  return text;
}

std::shared_ptr<grpc::ServerCredentials> server_credentials(const ServerTls& tls) {
  grpc::SslServerCredentialsOptions options(tls.client_ca.empty()
                                                ? GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE
                                                : GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY);
  options.pem_key_cert_pairs.push_back(
      {read_pem(tls.private_key, "--tls-key"), read_pem(tls.certificate, "--tls-cert")});
  if (!tls.client_ca.empty()) options.pem_root_certs = read_pem(tls.client_ca, "--client-ca");
  return grpc::SslServerCredentials(options);
}

std::shared_ptr<grpc::ChannelCredentials> channel_credentials(const ClientTls& tls) {
  grpc::SslCredentialsOptions options;
  options.pem_root_certs = read_pem(tls.ca, "--ca");
  if (!tls.certificate.empty() || !tls.private_key.empty()) {
    options.pem_cert_chain = read_pem(tls.certificate, "--cert");
    options.pem_private_key = read_pem(tls.private_key, "--key");
  }
  return grpc::SslCredentials(options);
}

}  // namespace encmol::service
