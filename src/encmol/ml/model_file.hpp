// Model file: a core envelope (binary.hpp) of kind "MODL", written atomically.
// Format version 3 (every family; little-endian; strings and counts are u64
// length-prefixed):
//
//   family                     u8 (ModelFamily)
//   representation spec        (chem::RepresentationSpec::write)
//   targets                    u64 t; t x { string name, string unit, f64 label_scale }
//   baseline                   u8 per_element, t x f64 mean,
//                              [u64 e, e x u32 Z, e x t f64 coefficients (row = element)]
//   Δ baseline                 u8 active; if 1: t x {u8 source, f64 factor},
//                              xTB settings f64 accuracy, u32 iterations,
//                              f64 electronic temperature, i64 total charge
//   atom projection (v3)       per-element PCA (atomic_pca.hpp: u64 components,
//                              0 = none; else u64 elements, per element u32 Z,
//                              f64 variance kept, d f64 mean, d x k f64 basis)
//   body                       family specific:
//     krr                      u8 kernel kind, f64 sigma, f64 gamma, f64 coef0,
//                              u32 degree, f64 lambda, u64 n, u64 d,
//                              n x d f64 training representations, n x t f64 alpha,
//                              t x f64 sum|alpha| (checked against alpha)
//     local-krr                u64 blocks, per block {u64 begin, u64 end, f64 sigma,
//                              f64 weight} (v2: one f64 sigma), f64 lambda, training atoms (u64 n,
//                              u64 atoms, (n + 1) x u64 offsets, atoms x u32 Z,
//                              atoms x d f64; d = k when projected), n x t f64 alpha
//     rf                       u8 feature kind, f64 sigma, u64 feature seed, u64 d,
//                              u64 e, e x {u32 Z, u64 features}, u64 pca, u8 shared pca,
//                              (0, 1 or e) x pca x d f64 projections, 32-byte BLAKE2b
//                              digest of the frequencies regenerated from the seed
//                              (checked on load), f64 lambda, D x t f64 weights
//     nn                       u32 depth L, u32 width w, u32 power, u8 linear skip,
//                              u64 e, per element: u32 Z, 1 x d mean, 1 x d scale,
//                              d x w W0, 1 x w b0, L x {w x w W, 1 x w b, 1 x w c},
//                              w x t V, 1 x t beta, [d x t skip] (all f64, row-major)
//     quadratic                f64 coef0, f64 scale, f64 lambda, u64 elements,
//                              per element: u32 Z, t x f64 c, d x t f64 g,
//                              t x (d (d + 1) / 2) f64 upper triangle of H
//   provenance                 string data set, u64 seed, u32 folds, f64 CV score,
//                              string encmol version, u64 training size
//
// Version 2 is the same without the atom projection (read as none).
// Version 1 (encmol 0.1, global KRR only) is still read: representation,
// kernel, lambda, targets with sum|alpha|, baseline, training
// representations, alpha, provenance without the training size.
//
// Loading bounds every count and length before allocating, requires every
// double to be finite, every size to agree with the others, and no trailing
// bytes; any violation is a FormatError naming the file.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "encmol/core/binary.hpp"

namespace encmol::ml {

struct Model;

inline constexpr core::Kind kModelKind = core::make_kind("MODL");
inline constexpr std::uint32_t kModelFormatVersion = 4;
/// Largest model file read (training representations dominate: 8 GiB holds
/// e.g. 100k molecules x 10k values).
inline constexpr std::uint64_t kMaxModelFileBytes = std::uint64_t{8} << 30;

/// Payload bytes of a model (validated first; ParameterError if inconsistent).
core::Bytes encode_model(const Model& model);
/// Parses a payload of format `version` (1 to kModelFormatVersion; 4 added the atom frame);
/// `context` (file name) prefixes FormatError messages.
Model decode_model(std::span<const std::uint8_t> payload, const std::string& context,
                   std::uint32_t version = kModelFormatVersion);

void save_model_file(const std::filesystem::path& path, const Model& model);
Model load_model_file(const std::filesystem::path& path);

}  // namespace encmol::ml
