// Writes the binary seed corpora of the fuzz targets (fuzz/README.md): small,
// valid examples of every file kind, made fresh because they embed random
// keys. Text seeds (molecules, labels) live in fuzz/corpus/ in the tree.
//
//   encmol_fuzz_seeds OUTPUT_DIR      writes OUTPUT_DIR/<target>/<name>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>

#include "encmol/chem/readers.hpp"
#include "encmol/ckks/encoder.hpp"
#include "encmol/ckks/encryptor.hpp"
#include "encmol/ckks/serialization.hpp"
#include "encmol/core/file_io.hpp"
#include "encmol/ml/model_file.hpp"
#include "encmol/ml/train.hpp"
#include "encmol/secure/multiparty.hpp"
#include "encmol/secure/roles.hpp"
#include "encmol/service/token.hpp"
#include "fuzz_context.hpp"
#include "service_model.hpp"

using namespace encmol;
namespace fs = std::filesystem;

namespace {

fs::path out_dir;

void write(const std::string& target, const std::string& name, std::uint8_t selector,
           const core::Bytes& body, bool with_selector = true) {
  core::Bytes bytes;
  if (with_selector) bytes.push_back(selector);
  bytes.insert(bytes.end(), body.begin(), body.end());
  fs::create_directories(out_dir / target);
  core::write_file_atomic(out_dir / target / name, bytes);
}

// The payload of an envelope: the binary targets seal their input themselves.
core::Bytes payload(const core::Bytes& envelope) {
  const auto opened =
      core::open_envelope(envelope, core::peek_envelope_kind(envelope), 16, "seed", "seed");
  return {opened.payload.begin(), opened.payload.end()};
}

// The payload of a file written by one of encmol's save functions.
core::Bytes saved_payload(const std::function<void(const fs::path&)>& save) {
  const fs::path tmp = out_dir / ".seed.tmp";
  save(tmp);
  const core::Bytes bytes = core::read_file_bytes(tmp, std::uint64_t{1} << 30);
  fs::remove(tmp);
  return payload(bytes);
}

core::Bytes model_bytes(const ml::Model& m) {
  return core::seal_envelope(ml::kModelKind, ml::kModelFormatVersion, ml::encode_model(m));
}

// The service's messages (service_messages_fuzz): the selector, a zero byte,
// then the protobuf message (or the metadata text).
void write_service_seeds() {
  const auto& served = *fuzz::served_models().begin()->second.server;
  const secure::Client client(served.card());
  const auto hash = served.card().plan_hash();
  service::v1::KeyRef ref;
  ref.set_model("qm7");
  ref.set_plan_hash(std::string(hash.begin(), hash.end()));
  ref.set_key_id(std::string(client.key_id().begin(), client.key_id().end()));
  const auto seed = [](const char* name, std::uint8_t selector, const std::string& body) {
    core::Bytes b{selector, 0};
    b.insert(b.end(), body.begin(), body.end());
    write("service_messages_fuzz", name, 0, b, false);
  };
  service::v1::EvaluateRequest request;
  *request.mutable_key() = ref;
  request.set_request_id("seed-request-00000001");
  const auto& molecules = fuzz::service_molecules();
  const core::Bytes query =
      client.encrypt({molecules.begin() + 40, molecules.end()}).encode(*client.context());
  request.set_query(std::string(query.begin(), query.end()));
  // Valid seeds, or the target starts from nothing that passes.
  service::check_evaluate(fuzz::served_models(), request, std::uint64_t{1} << 24);
  seed("evaluate", 0, request.SerializeAsString());
  service::v1::KeyChunk first;
  *first.mutable_key() = ref;
  first.set_total_bytes(5000);
  first.set_data(std::string(100, 'k'));
  service::check_upload_start(fuzz::served_models(), first, std::uint64_t{1} << 30);
  seed("upload_first", 1, first.SerializeAsString());
  service::v1::KeyChunk later;
  later.set_data(std::string(300, 'k'));
  seed("upload_chunk", 2, later.SerializeAsString());
  seed("key_ref", 3, ref.SerializeAsString());
  seed("authorization", 4, "Bearer " + service::token::issue().text);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: encmol_fuzz_seeds OUTPUT_DIR\n");
    return 2;
  }
  out_dir = argv[1];
  const auto all = chem::read_molecules(fs::path(ENCMOL_SOURCE_DIR) / "data" / "qm7.xyz.gz");
  const std::vector<chem::Molecule> few(all.begin(), all.begin() + 12);

  // Models of three families (small: a few kB each), and the version-1 test model.
  ml::TrainOptions krr;
  krr.targets = {"ae_pbe0"};
  krr.sigmas = {100};
  krr.lambdas = {1e-6};
  const ml::Model kernel = ml::train(few, krr).model;
  ml::TrainOptions quadratic = krr;
  quadratic.family = ml::ModelFamily::Quadratic;
  quadratic.representation = chem::RepresentationKind::Cmbdf;
  quadratic.coef0s = {2};
  quadratic.atom_pca = 4;
  ml::TrainOptions rf = quadratic;
  rf.family = ml::ModelFamily::RandomFeatures;
  rf.atom_pca = 0;
  rf.feature_counts = {16};
  rf.sigmas = {4};
  for (const auto& [name, options] :
       {std::pair{"krr", krr}, std::pair{"quadratic", quadratic}, std::pair{"rf", rf}}) {
    const core::Bytes bytes = model_bytes(ml::train(few, options).model);
    write("ml_model_fuzz", name, 0, bytes, false);
    write("core_envelope_fuzz", std::string("model_") + name, 0, bytes, false);
  }
  write("ml_model_fuzz", "v1_bob", 0,
        core::read_file_bytes(
            fs::path(ENCMOL_SOURCE_DIR) / "tests" / "data" / "model_v1_bob.encmol", 1 << 24),
        false);

  // CKKS objects of the fuzz context.
  const auto ctx = fuzz::small_context();
  ckks::KeyGenerator keygen(ctx);
  const ckks::Encoder encoder(ctx);
  const std::vector<double> values{1.5, -2.25, 3.0};
  const ckks::Plaintext pt = encoder.encode(values, std::ldexp(1.0, 30), 1);
  const ckks::PublicKey pk = keygen.create_public_key();
  const ckks::Ciphertext ct = ckks::Encryptor(ctx, pk).encrypt(pt);
  const int steps[] = {1};
  write("ckks_objects_fuzz", "parameters", 0, payload(ckks::serialize(ctx->params())));
  write("ckks_objects_fuzz", "secret_key", 1, payload(ckks::serialize(*ctx, keygen.secret_key())));
  write("ckks_objects_fuzz", "public_key", 2, payload(ckks::serialize(*ctx, pk)));
  write("ckks_objects_fuzz", "relin_key", 3,
        payload(ckks::serialize(*ctx, keygen.create_relin_key())));
  write("ckks_objects_fuzz", "galois_keys", 4,
        payload(ckks::serialize(*ctx, keygen.create_galois_keys(steps, false))));
  write("ckks_objects_fuzz", "plaintext", 5, payload(ckks::serialize(*ctx, pt)));
  write("ckks_objects_fuzz", "ciphertext", 6, payload(ckks::serialize(*ctx, ct)));
  write("ckks_objects_fuzz", "ciphertext_seeded", 6,
        payload(ckks::serialize(*ctx, ckks::Encryptor(ctx, keygen.secret_key()).encrypt(pt))));

  // Protocol files: a card (real parameters), and keys, a query and a result under the fuzz
  // context.
  const secure::ModelCard card = secure::ModelCard::from_model(kernel, {});
  {
    core::Bytes b{0, 0};
    const core::Bytes c = payload(card.encode());
    b.insert(b.end(), c.begin(), c.end());
    write("secure_files_fuzz", "card", 0, b, false);
  }
  secure::EvalKeys keys;
  keys.plan_hash = card.plan_hash();
  keys.options = card.plan.options;
  keys.key_id = core::blake2b_256(payload(ckks::serialize(*ctx, pk)));
  keys.public_key = pk;
  keys.relin = keygen.create_relin_key();
  keys.galois = keygen.create_galois_keys(steps, false);
  secure::Query query{card.plan_hash(), keys.key_id, 1, core::Bytes(48, 7), {ct}};
  secure::Result result{card.plan_hash(), keys.key_id, 1, core::Bytes(48, 7), {ct}, 0.5};
  for (const auto& [name, selector, body] :
       {std::tuple{"eval_keys", 1, keys.encode(*ctx)}, std::tuple{"query", 2, query.encode(*ctx)},
        std::tuple{"result", 3, result.encode(*ctx)}}) {
    core::Bytes b{static_cast<std::uint8_t>(selector), 0};
    const core::Bytes inner = payload(body);
    b.insert(b.end(), inner.begin(), inner.end());
    write("secure_files_fuzz", name, 0, b, false);
  }
  const secure::PartySessionOptions so = fuzz::party_session_options();
  {
    core::Bytes b{4, 0};
    const core::Bytes s = payload(secure::create_session(so).encode());
    b.insert(b.end(), s.begin(), s.end());
    write("secure_files_fuzz", "session", 0, b, false);
  }
  {
    const secure::Client client(card);
    core::Bytes b{5, 0};
    const core::Bytes k = saved_payload([&](const fs::path& p) { client.save_secret_key(p); });
    b.insert(b.end(), k.begin(), k.end());
    write("secure_files_fuzz", "secret_key_file", 0, b, false);
    const std::string state = "{\n  \"" + core::to_hex(client.key_id()) + "\": 12\n}\n";
    write("secure_files_fuzz", "budget_state", 6, core::Bytes(state.begin(), state.end()));
  }

  // Multi-party files of a session like the target's; each seed is the payload after the
  // session id (the target puts its own session's id in front).
  const secure::PartySession session = secure::create_session(so);
  std::vector<secure::PartySecret> secrets;
  std::vector<secure::PartyPublicShare> shares;
  for (std::uint32_t i = 1; i <= session.parties; ++i) {
    auto [secret, share] = secure::party_keygen(session, i);
    secrets.push_back(std::move(secret));
    shares.push_back(std::move(share));
  }
  const ckks::PublicKey joint = secure::joint_public_key(session, shares);
  std::vector<secure::Contribution> contributions;
  for (std::uint32_t i = 1; i <= session.parties; ++i)
    contributions.push_back(secure::contribute(session, joint, i, few));
  const secure::Aggregate aggregate = secure::aggregate(session, contributions);
  const secure::PartyDecryption decryption = secure::decrypt_share(session, aggregate, secrets[0]);
  auto party_seed = [&](const char* name, std::uint8_t selector, const auto& object) {
    const core::Bytes p = saved_payload([&](const fs::path& path) { object.save(path, session); });
    write("secure_party_files_fuzz", name, selector,
          core::Bytes(p.begin() + static_cast<std::ptrdiff_t>(session.id.size()), p.end()));
  };
  party_seed("secret_share", 0, secrets[0]);
  party_seed("public_share", 1, shares[0]);
  party_seed("contribution", 2, contributions[0]);
  party_seed("aggregate", 3, aggregate);
  party_seed("decryption_share", 4, decryption);
  write_service_seeds();
  std::printf("wrote the binary seed corpora to %s\n", out_dir.c_str());
  return 0;
}
