#include "encmol/ml/model_file.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "encmol/core/binary.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"
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
  EXPECT_EQ(back.kernel, model_.kernel);
  EXPECT_EQ(back.lambda, model_.lambda);
  EXPECT_EQ(back.targets, model_.targets);
  EXPECT_EQ(back.units, model_.units);
  EXPECT_TRUE(back.training_features == model_.training_features);
  EXPECT_TRUE(back.alpha == model_.alpha);
  EXPECT_TRUE(back.baseline.coefficients == model_.baseline.coefficients);
  EXPECT_EQ(back.info.dataset, "synthetic");
  EXPECT_EQ(back.info.seed, 77u);
  EXPECT_EQ(back.info.folds, 2u);
  EXPECT_EQ(back.describe(), model_.describe());
  EXPECT_NE(back.describe().find("energy (Ha)"), std::string::npos);
  EXPECT_NE(back.describe().find("sum|alpha|"), std::string::npos);
  EXPECT_NE(back.describe_json().find("\"sum_abs_alpha\""), std::string::npos);
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
  expect_rejected(core::seal_envelope(kModelKind, 2, payload), "version 2");
  expect_rejected(core::seal_envelope(kModelKind, 0, payload), "version 0");
  core::Bytes longer = payload;
  longer.push_back(0);
  expect_rejected(core::seal_envelope(kModelKind, 1, longer), "trailing byte");
  expect_rejected(core::Bytes(100, 0x41), "not an envelope");
}

TEST_F(ModelFile, ValidChecksumButBadContentIsRejected) {
  // Hostile payloads with a correct checksum: the decoder itself must refuse.
  core::Bytes payload = encode_model(model_);
  // Last 8 bytes of alpha are just before the provenance; simpler: NaN in
  // the first training value. Find it: the spec, kernel, lambda ... are
  // variable-length, so locate the first training value by its bytes.
  const double first = model_.training_features(0, 0);
  std::uint8_t pattern[8];
  std::memcpy(pattern, &first, 8);
  auto it = std::search(payload.begin(), payload.end(), pattern, pattern + 8);
  ASSERT_NE(it, payload.end());
  core::Bytes nan_payload = payload;
  const double nan = std::nan("");
  std::memcpy(&nan_payload[static_cast<std::size_t>(it - payload.begin())], &nan, 8);
  expect_rejected(core::seal_envelope(kModelKind, 1, nan_payload), "NaN feature");
  // A huge molecule count right before it (u64 n, u64 d precede the values).
  core::Bytes huge = payload;
  const std::size_t n_at = static_cast<std::size_t>(it - payload.begin()) - 16;
  const std::uint64_t big = std::uint64_t{1} << 39;
  std::memcpy(&huge[n_at], &big, 8);
  expect_rejected(core::seal_envelope(kModelKind, 1, huge), "huge n");
  // Unknown kernel kind: the byte right after the representation spec.
  core::ByteWriter w;
  model_.representation.write(w);
  core::Bytes bad_kernel = payload;
  bad_kernel[w.size()] = 9;
  expect_rejected(core::seal_envelope(kModelKind, 1, bad_kernel), "kernel kind 9");
  expect_rejected(core::seal_envelope(kModelKind, 1, core::Bytes{}), "empty payload");
}

TEST_F(ModelFile, MissingFileIsAnIoError) {
  EXPECT_THROW((void)Model::load(dir_ / "absent.model"), IoError);
}

}  // namespace
}  // namespace encmol::ml
