// Model file: a core envelope (binary.hpp) of kind "MODL", format version 1,
// written atomically. Payload (little-endian; strings and counts are u64
// length-prefixed):
//
//   representation spec        (chem::RepresentationSpec::write)
//   kernel                     u8 kind, f64 sigma, f64 gamma, f64 coef0, u32 degree
//   lambda                     f64
//   targets                    u64 t; t x { string name, string unit,
//                                           f64 label_scale, f64 sum|alpha| }
//   baseline                   u8 per_element, t x f64 mean,
//                              [u64 e, e x u32 Z, e x t f64 coefficients (row = element)]
//   training representations   u64 n, u64 d (= spec dimension), n x d f64 (row = molecule)
//   alpha                      n x t f64 (row = molecule)
//   provenance                 string data set, u64 seed, u32 folds, f64 CV score,
//                              string encmol version
//
// Loading bounds every count and length before allocating, requires every
// double to be finite, every size to agree with the others, the stored
// sum|alpha| to match alpha, and no trailing bytes; any violation is a
// FormatError naming the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "encmol/core/binary.hpp"

namespace encmol::ml {

struct Model;

inline constexpr core::Kind kModelKind = core::make_kind("MODL");
inline constexpr std::uint32_t kModelFormatVersion = 1;
/// Largest model file read (training representations dominate: 8 GiB holds
/// e.g. 100k molecules x 10k values).
inline constexpr std::uint64_t kMaxModelFileBytes = std::uint64_t{8} << 30;

/// Payload bytes of a model (validated first; ParameterError if inconsistent).
core::Bytes encode_model(const Model& model);
/// Parses a payload; `context` (file name) prefixes FormatError messages.
Model decode_model(std::span<const std::uint8_t> payload, const std::string& context);

void save_model_file(const std::filesystem::path& path, const Model& model);
Model load_model_file(const std::filesystem::path& path);

}  // namespace encmol::ml
