// CKKS serialization: parameter sets, secret and public keys, relinearization
// and Galois keys, plaintexts and ciphertexts (the first byte picks the kind;
// the rest is the payload, sealed here).
// Whatever decodes serializes to bytes that decode to the same serialization.
#include <algorithm>

#include "encmol/ckks/serialization.hpp"
#include "fuzz_context.hpp"
#include "fuzz_util.hpp"

using namespace encmol;

namespace {

template <class Decode>
void round_trip(std::span<const std::uint8_t> input, Decode decode) {
  const auto& ctx = *fuzz::small_context();
  const auto object = decode(input);
  const core::Bytes once = ckks::serialize(ctx, object);
  const core::Bytes twice = ckks::serialize(ctx, decode(once));
  fuzz::check(once == twice, "a decoded CKKS object does not serialize stably");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static constexpr core::Kind kinds[] = {
      ckks::kKindParameters, ckks::kKindSecretKey, ckks::kKindPublicKey, ckks::kKindRelinKey,
      ckks::kKindGaloisKeys, ckks::kKindPlaintext, ckks::kKindCiphertext};
  const core::Bytes file = fuzz::sealed(kinds[data[0] % 7], ckks::kSerializationVersion,
                                        fuzz::bytes(data + 1, size - 1));
  const std::span<const std::uint8_t> input = file;
  const auto& ctx = *fuzz::small_context();
  const std::string name = "fuzz";
  try {
    switch (data[0] % 7) {
      case 0: {
        const ckks::ParameterSet p =
            ckks::deserialize_parameters(input, name, /*allow_insecure=*/true);
        fuzz::check(ckks::deserialize_parameters(ckks::serialize(p), name, true).hash() == p.hash(),
                    "parameters do not round trip");
        break;
      }
      case 1:
        round_trip(input, [&](auto b) { return ckks::deserialize_secret_key(b, ctx, name); });
        break;
      case 2:
        round_trip(input, [&](auto b) { return ckks::deserialize_public_key(b, ctx, name); });
        break;
      case 3:
        round_trip(input, [&](auto b) { return ckks::deserialize_relin_key(b, ctx, name); });
        break;
      case 4:
        round_trip(input, [&](auto b) { return ckks::deserialize_galois_keys(b, ctx, name); });
        break;
      case 5:
        round_trip(input, [&](auto b) { return ckks::deserialize_plaintext(b, ctx, name); });
        break;
      default:
        round_trip(input, [&](auto b) { return ckks::deserialize_ciphertext(b, ctx, name); });
        break;
    }
  } catch (const Error&) {
  }
  return 0;
}
