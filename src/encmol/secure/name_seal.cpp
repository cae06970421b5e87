#include <sodium.h>

#include "encmol/core/error.hpp"
#include "encmol/secure/wire.hpp"

namespace encmol::secure::wire {
namespace {

// Key of the name seal: BLAKE2b-256 of a domain string and the secret key's coefficients.
std::array<std::uint8_t, crypto_secretbox_KEYBYTES> names_key(const ckks::SecretKey& sk) {
  core::Bytes material = {'e', 'n', 'c', 'm', 'o', 'l', '-', 'n', 'a', 'm', 'e', 's'};
  for (std::int8_t c : sk.coeffs) material.push_back(static_cast<std::uint8_t>(c));
  const core::Digest d = core::blake2b_256(material);
  std::array<std::uint8_t, crypto_secretbox_KEYBYTES> k{};
  static_assert(crypto_secretbox_KEYBYTES == 32);
  std::copy(d.begin(), d.end(), k.begin());
  return k;
}

}  // namespace

core::Bytes seal_names(const ckks::SecretKey& sk, const std::vector<std::string>& names) {
  core::ByteWriter w;
  w.u64(names.size());
  for (const auto& n : names) w.string(n);
  const core::Bytes& plain = w.data();
  core::Bytes out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plain.size());
  randombytes_buf(out.data(), crypto_secretbox_NONCEBYTES);
  const auto key = names_key(sk);
  crypto_secretbox_easy(out.data() + crypto_secretbox_NONCEBYTES, plain.data(), plain.size(),
                        out.data(), key.data());
  return out;
}

std::vector<std::string> open_names(const ckks::SecretKey& sk, const core::Bytes& sealed,
                                    std::size_t expected) {
  if (sealed.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
    throw FormatError("result: the sealed molecule names are truncated");
  core::Bytes plain(sealed.size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES);
  const auto key = names_key(sk);
  if (crypto_secretbox_open_easy(plain.data(), sealed.data() + crypto_secretbox_NONCEBYTES,
                                 sealed.size() - crypto_secretbox_NONCEBYTES, sealed.data(),
                                 key.data()) != 0)
    throw FormatError(
        "result: the molecule names were not sealed with this secret key (or were altered)");
  core::ByteReader r(plain, "sealed molecule names");
  const std::size_t n = r.count("names", expected, 8);
  std::vector<std::string> names;
  for (std::size_t i = 0; i < n; ++i) names.push_back(r.string(kMaxNameLength));
  r.expect_end();
  if (n != expected) throw FormatError("result: the sealed names do not match the molecule count");
  return names;
}

}  // namespace encmol::secure::wire
