#include "encmol/core/binary.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "encmol/core/error.hpp"
#include "encmol/core/file_io.hpp"

using namespace encmol;
using namespace encmol::core;

namespace {

Bytes sample_payload() {
  ByteWriter w;
  w.u32(7);
  w.f64(-1.5);
  w.string("benzene");
  std::vector<double> v{1.0, 2.0, 3.0};
  w.f64_vector(v);
  return w.take();
}

}  // namespace

TEST(Binary, WriterReaderRoundTrip) {
  const Bytes payload = sample_payload();
  ByteReader r(payload, "test");
  EXPECT_EQ(r.u32(), 7u);
  EXPECT_EQ(r.f64(), -1.5);
  EXPECT_EQ(r.string(100), "benzene");
  EXPECT_EQ(r.f64_vector(10), (std::vector<double>{1.0, 2.0, 3.0}));
  EXPECT_NO_THROW(r.expect_end());
}

TEST(Binary, ReaderRejectsOversizedCountsBeforeAllocating) {
  ByteWriter w;
  w.u64(std::uint64_t{1} << 60);  // absurd vector length
  const Bytes b = w.take();
  ByteReader r(b, "hostile");
  EXPECT_THROW(r.f64_vector(std::size_t{1} << 62), FormatError);
  ByteReader r2(b, "hostile");
  EXPECT_THROW(r2.f64_vector(100), FormatError);
}

TEST(Binary, ReaderRejectsTruncation) {
  Bytes payload = sample_payload();
  payload.resize(payload.size() - 3);
  ByteReader r(payload, "short");
  r.u32();
  r.f64();
  r.string(100);
  EXPECT_THROW(r.f64_vector(10), FormatError);
}

TEST(Envelope, RoundTripAndKindCheck) {
  const Bytes payload = sample_payload();
  const Bytes sealed = seal_envelope(make_kind("TEST"), 2, payload);
  const auto opened = open_envelope(sealed, make_kind("TEST"), 3, "mem", "test object");
  EXPECT_EQ(opened.version, 2u);
  EXPECT_EQ(Bytes(opened.payload.begin(), opened.payload.end()), payload);
  EXPECT_THROW(open_envelope(sealed, make_kind("MODL"), 3, "mem", "model"), FormatError);
  EXPECT_THROW(open_envelope(sealed, make_kind("TEST"), 1, "mem", "test object"), FormatError);
}

TEST(Envelope, EverySingleByteFlipAndTruncationIsRejected) {
  const Bytes sealed = seal_envelope(make_kind("TEST"), 1, sample_payload());
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    Bytes bad = sealed;
    bad[i] ^= 0x5a;
    EXPECT_THROW(open_envelope(bad, make_kind("TEST"), 1, "mem", "test object"), FormatError)
        << "flip at byte " << i;
  }
  for (std::size_t n = 0; n < sealed.size(); ++n) {
    Bytes bad(sealed.begin(), sealed.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_THROW(open_envelope(bad, make_kind("TEST"), 1, "mem", "test object"), FormatError);
  }
}

TEST(Envelope, ErrorMessageNamesTheFile) {
  const auto dir = std::filesystem::temp_directory_path() / "encmol_core_test";
  std::filesystem::create_directories(dir);
  const auto path = dir / "corrupt.bin";
  Bytes sealed = seal_envelope(make_kind("TEST"), 1, sample_payload());
  sealed[30] ^= 1;
  write_file_atomic(path, sealed);
  try {
    load_envelope_file(path, make_kind("TEST"), 1, "test object", 1 << 20);
    FAIL() << "corrupt file accepted";
  } catch (const FormatError& e) {
    EXPECT_NE(std::string(e.what()).find("corrupt.bin"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
  }
  std::filesystem::remove_all(dir);
}

TEST(Zstd, RoundTripAndBombRefused) {
  Bytes big(1 << 20, 0);
  const Bytes packed = zstd_compress(big);
  EXPECT_LT(packed.size(), big.size() / 100);
  EXPECT_EQ(zstd_decompress(packed, big.size(), "mem"), big);
  EXPECT_THROW(zstd_decompress(packed, big.size() - 1, "mem"), FormatError);
  Bytes garbage(100, 0x42);
  EXPECT_THROW(zstd_decompress(garbage, 1 << 20, "mem"), FormatError);
}
