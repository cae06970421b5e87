// The double-blind protocol's files: model cards (first byte 0; a card that
// decodes re-encodes to the same bytes), evaluation keys (1; also their
// header), queries (2) and results (3), decoded against the small fuzz
// context; multi-party sessions (4); secret key files (5; they carry their own
// card, so their own context); and query-budget state files (6; JSON text, not
// sealed: what parses formats to text that parses to the same usage). The rest
// is the payload, sealed here at the kind's current version.
#include <algorithm>

#include "encmol/secure/budget_state.hpp"
#include "encmol/secure/multiparty.hpp"
#include "encmol/secure/roles.hpp"
#include "fuzz_context.hpp"
#include "fuzz_util.hpp"

using namespace encmol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  static constexpr core::Kind kinds[] = {secure::kCardKind,         secure::kEvalKeysKind,
                                         secure::kQueryKind,        secure::kResultKind,
                                         secure::kPartySessionKind, secure::kSecretKeyKind};
  static constexpr std::uint32_t versions[] = {
      secure::kCardFormatVersion,   secure::kSecureFormatVersion, secure::kSecureFormatVersion,
      secure::kSecureFormatVersion, secure::kPartyFormatVersion,  secure::kSecureFormatVersion};
  const std::size_t which = data[0] % 7;
  if (which == 6) {
    try {
      const secure::BudgetUsage usage =
          secure::parse_budget_state(fuzz::text(data + 1, size - 1), "fuzz.budget");
      fuzz::check(secure::parse_budget_state(secure::format_budget_state(usage), "again") == usage,
                  "a budget state does not round trip");
    } catch (const Error&) {
    }
    return 0;
  }
  const core::Bytes file =
      fuzz::sealed(kinds[which], versions[which], fuzz::bytes(data + 2, size - 2));
  const std::span<const std::uint8_t> input = file;
  const auto& ctx = *fuzz::small_context();
  const std::size_t per_ciphertext = 1 + data[1] % 8;
  try {
    switch (which) {
      case 0: {
        const secure::ModelCard card = secure::ModelCard::decode(input, "fuzz.card");
        const core::Bytes again = card.encode();
        if (again.size() == input.size()) {
          // Version-2 cards are canonical; older versions re-encode at the current one.
          fuzz::check(
              std::equal(again.begin(), again.end(), input.begin()) ||
                  core::open_envelope(input, secure::kCardKind, 16, "fuzz", "card").version !=
                      secure::kCardFormatVersion,
              "a decoded card re-encodes to other bytes");
        }
        break;
      }
      case 1:
        (void)secure::EvalKeys::peek(input, "fuzz.evk");
        (void)secure::EvalKeys::decode(input, ctx, "fuzz.evk");
        break;
      case 2:
        (void)secure::Query::decode(input, ctx, per_ciphertext, "fuzz.query");
        break;
      case 3:
        (void)secure::Result::decode(input, ctx, per_ciphertext, "fuzz.result");
        break;
      case 5:
        (void)secure::Client::decode(input, "fuzz.skey");
        break;
      default: {
        const secure::PartySession session = secure::PartySession::decode(input, "fuzz.pses");
        fuzz::check(
            secure::PartySession::decode(session.encode(), "again").hash() == session.hash(),
            "a decoded session does not round trip");
        break;
      }
    }
  } catch (const Error&) {
  }
  return 0;
}
