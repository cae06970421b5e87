#include "encmol/ml/model_file.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "encmol/core/binary.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"
#include "encmol/chem/readers.hpp"
#include "encmol/ml/model.hpp"
#include "encmol/ml/train.hpp"
#include "ml_test_util.hpp"

namespace encmol::ml {
namespace {

namespace fs = std::filesystem;

class ModelFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(ENCMOL_BINARY_DIR) / "tmp" / ("model_file_test_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    mols_ = testing::synthetic_molecules(50, 3);
    TrainOptions opt;
    opt.representation = chem::RepresentationKind::BagOfBonds;
    opt.kernel = KernelKind::Gaussian;
    opt.targets = {"energy", "second"};
    opt.units = {"Ha", "arb"};
    opt.lambdas = {1e-6};
    opt.folds = 2;
    opt.dataset = "synthetic";
    opt.seed = 77;
    model_ = train_krr(mols_, opt).model;
  }
  void TearDown() override { fs::remove_all(dir_); }

  core::Bytes good_file() {
    const fs::path p = dir_ / "good.model";
    model_.save(p);
    return core::read_file_bytes(p);
  }
  void expect_rejected(const core::Bytes& bytes, const std::string& label) {
    const fs::path p = dir_ / "bad.model";
    core::write_file_atomic(p, bytes);
    try {
      (void)Model::load(p);
      ADD_FAILURE() << label << ": accepted";
    } catch (const FormatError& e) {
      EXPECT_NE(std::string(e.what()).find("bad.model"), std::string::npos) << label << ": " << e.what();
    } catch (const std::exception& e) {
      ADD_FAILURE() << label << ": wrong exception type: " << e.what();
    }
  }

  fs::path dir_;
  std::vector<chem::Molecule> mols_;
  Model model_;
};

TEST_F(ModelFile, RoundTripGivesBitIdenticalPredictions) {
  const fs::path p = dir_ / "m.model";
  model_.save(p);
  const Model back = Model::load(p);
  EXPECT_TRUE(back.predict(mols_) == model_.predict(mols_));
  EXPECT_EQ(back.representation, model_.representation);
  EXPECT_EQ(back.family(), ModelFamily::GlobalKrr);
  EXPECT_EQ(back.global_krr().kernel, model_.global_krr().kernel);
  EXPECT_EQ(back.global_krr().lambda, model_.global_krr().lambda);
  EXPECT_EQ(back.targets, model_.targets);
  EXPECT_EQ(back.units, model_.units);
  EXPECT_EQ(back.training_size(), 50u);
  EXPECT_TRUE(back.global_krr().training_features == model_.global_krr().training_features);
  EXPECT_TRUE(back.global_krr().alpha == model_.global_krr().alpha);
  EXPECT_TRUE(back.baseline.coefficients == model_.baseline.coefficients);
  EXPECT_EQ(back.info.dataset, "synthetic");
  EXPECT_EQ(back.info.seed, 77u);
  EXPECT_EQ(back.info.folds, 2u);
  EXPECT_EQ(back.describe(), model_.describe());
  EXPECT_NE(back.describe().find("energy (Ha)"), std::string::npos);
  EXPECT_NE(back.describe().find("family: krr"), std::string::npos);
  EXPECT_TRUE(back.describe_json().contains("sum_abs_alpha"));
  EXPECT_EQ(back.describe_json()["family"], "krr");
  EXPECT_EQ(back.describe_json(), model_.describe_json());
  // Saving again gives the same bytes (deterministic encoding).
  EXPECT_EQ(encode_model(back), encode_model(model_));
}

TEST_F(ModelFile, TruncationIsRejected) {
  const core::Bytes good = good_file();
  for (std::size_t len : {std::size_t{0}, std::size_t{10}, std::size_t{24}, good.size() / 2, good.size() - 1}) {
    expect_rejected(core::Bytes(good.begin(), good.begin() + static_cast<std::ptrdiff_t>(len)),
                    "truncated to " + std::to_string(len));
  }
}

TEST_F(ModelFile, BitFlipsAreRejected) {
  const core::Bytes good = good_file();
  for (std::size_t pos : {std::size_t{3}, std::size_t{9}, std::size_t{30}, good.size() / 3, good.size() - 40, good.size() - 1}) {
    core::Bytes bad = good;
    bad[pos] ^= 0x10;
    expect_rejected(bad, "bit flip at " + std::to_string(pos));
  }
}

TEST_F(ModelFile, WrongKindVersionAndTrailingDataAreRejected) {
  const core::Bytes payload = encode_model(model_);
  expect_rejected(core::seal_envelope(core::make_kind("CTXT"), 1, payload), "wrong kind");
  expect_rejected(core::seal_envelope(kModelKind, kModelFormatVersion + 1, payload), "newer version");
  expect_rejected(core::seal_envelope(kModelKind, 1, payload), "version 2 payload labelled version 1");
  expect_rejected(core::seal_envelope(kModelKind, 0, payload), "version 0");
  core::Bytes longer = payload;
  longer.push_back(0);
  expect_rejected(core::seal_envelope(kModelKind, kModelFormatVersion, longer), "trailing byte");
  expect_rejected(core::Bytes(100, 0x41), "not an envelope");
}

TEST_F(ModelFile, ValidChecksumButBadContentIsRejected) {
  // Hostile payloads with a correct checksum: the decoder itself must refuse.
  core::Bytes payload = encode_model(model_);
  // Last 8 bytes of alpha are just before the provenance; simpler: NaN in
  // the first training value. Find it: the spec, kernel, lambda ... are
  // variable-length, so locate the first training value by its bytes.
  const double first = model_.global_krr().training_features(0, 0);
  std::uint8_t pattern[8];
  std::memcpy(pattern, &first, 8);
  auto it = std::search(payload.begin(), payload.end(), pattern, pattern + 8);
  ASSERT_NE(it, payload.end());
  core::Bytes nan_payload = payload;
  const double nan = std::nan("");
  std::memcpy(&nan_payload[static_cast<std::size_t>(it - payload.begin())], &nan, 8);
  expect_rejected(core::seal_envelope(kModelKind, kModelFormatVersion, nan_payload), "NaN feature");
  // A huge molecule count right before it (u64 n, u64 d precede the values).
  core::Bytes huge = payload;
  const std::size_t n_at = static_cast<std::size_t>(it - payload.begin()) - 16;
  const std::uint64_t big = std::uint64_t{1} << 39;
  std::memcpy(&huge[n_at], &big, 8);
  expect_rejected(core::seal_envelope(kModelKind, kModelFormatVersion, huge), "huge n");
  // Unknown family: the first byte.
  core::Bytes bad_family = payload;
  bad_family[0] = 99;
  expect_rejected(core::seal_envelope(kModelKind, kModelFormatVersion, bad_family), "family 99");
  // Unknown kernel kind: the first byte of the body (found by its offset in a
  // re-encoding of the body alone).
  core::ByteWriter body;
  model_.global_krr().write(body);
  const auto body_at = payload.size() - body.size() - 8 /* training size */ -
                       (8 + 9) /* data set */ - 8 - 4 - 8 - (8 + std::string(model_.info.encmol_version).size());
  ASSERT_EQ(payload[body_at], static_cast<std::uint8_t>(KernelKind::Gaussian));
  core::Bytes bad_kernel = payload;
  bad_kernel[body_at] = 9;
  expect_rejected(core::seal_envelope(kModelKind, kModelFormatVersion, bad_kernel), "kernel kind 9");
  expect_rejected(core::seal_envelope(kModelKind, kModelFormatVersion, core::Bytes{}), "empty payload");
}

// A file written by encmol 0.1 (format 1, global KRR on Bag of Bonds, 30 QM7
// molecules, two targets) still loads and predicts what 0.1 predicted.
TEST(ModelFileV1, StillLoadsAndPredictsTheSame) {
  const Model m = Model::load(fs::path(ENCMOL_SOURCE_DIR) / "tests/data/model_v1_bob.encmol");
  EXPECT_EQ(m.family(), ModelFamily::GlobalKrr);
  EXPECT_EQ(m.training_size(), 30u);
  EXPECT_EQ(m.targets, (std::vector<std::string>{"ae_pbe0", "ae_dftb"}));
  EXPECT_EQ(m.global_krr().kernel.sigma, 50.0);
  const auto mols = chem::read_molecules(fs::path(ENCMOL_SOURCE_DIR) / "data/qm7.xyz.gz");
  const std::vector<chem::Molecule> first(mols.begin(), mols.begin() + 3);
  const Eigen::MatrixXd p = m.predict(first);
  // Printed by encmol 0.1's `encmol predict` on the same molecules.
  EXPECT_NEAR(p(0, 0), -417.0310227037481, 1e-9);
  EXPECT_NEAR(p(1, 1), -730.8358255995574, 1e-9);
  EXPECT_NEAR(p(2, 0), -563.0832848781016, 1e-9);
  // Re-saved, it is a format-2 file with the same predictions.
  const Model again = decode_model(encode_model(m), "re-encoded");
  EXPECT_TRUE(again.predict(first) == p);
}

TEST_F(ModelFile, MissingFileIsAnIoError) {
  EXPECT_THROW((void)Model::load(dir_ / "absent.model"), IoError);
}

}  // namespace
}  // namespace encmol::ml
