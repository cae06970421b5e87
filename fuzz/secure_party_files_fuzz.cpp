// The multi-party files one party receives from the others, decoded against
// one fixed session: secret key shares (first byte 0), public key shares (1),
// contributions (2), aggregates (3) and decryption shares (4). The rest of the
// input follows the session id in the payload, sealed here at the current
// version (the id and the checksum would stop almost every mutation before the
// parsers). The session is created once per run (fresh id and reference
// seed), so seeds from fuzz/make_seeds.cpp are payloads after the id.

#include "encmol/secure/multiparty.hpp"
#include "fuzz_context.hpp"
#include "fuzz_util.hpp"

using namespace encmol;

namespace {

const secure::PartySession& session() {
  static const secure::PartySession s = secure::create_session(fuzz::party_session_options());
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  static constexpr core::Kind kinds[] = {secure::kPartySecretKind, secure::kPartyPublicKind,
                                         secure::kContributionKind, secure::kAggregateKind,
                                         secure::kDecryptionShareKind};
  const std::size_t which = data[0] % 5;
  const secure::PartySession& s = session();
  core::Bytes payload(s.id.begin(), s.id.end());
  payload.insert(payload.end(), data + 1, data + size);
  const core::Bytes file = fuzz::sealed(kinds[which], secure::kPartyFormatVersion, payload);
  try {
    switch (which) {
      case 0:
        (void)secure::PartySecret::decode(file, s, "fuzz.psky");
        break;
      case 1:
        (void)secure::PartyPublicShare::decode(file, s, "fuzz.ppks");
        break;
      case 2:
        (void)secure::Contribution::decode(file, s, "fuzz.pcon");
        break;
      case 3:
        (void)secure::Aggregate::decode(file, s, "fuzz.pagg");
        break;
      default:
        (void)secure::PartyDecryption::decode(file, s, "fuzz.pdsh");
        break;
    }
  } catch (const Error&) {
  }
  return 0;
}
