#include "encmol/ml/atomic_network.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "encmol/chem/elements.hpp"
#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/ml/linalg.hpp"
#include "encmol/ml/matrix_io.hpp"
#include "encmol/ml/network_pass.hpp"

namespace encmol::ml {
namespace {

std::size_t ceil_log2(int p) {
  std::size_t levels = 0;
  for (int reach = 1; reach < p; reach *= 2) ++levels;
  return levels;
}

std::string element_list(const std::vector<int>& elements) {
  std::string s;
  for (int z : elements) {
    if (!s.empty()) s += ' ';
    s += chem::element_symbol(z);
  }
  return s;
}

}  // namespace

void NetworkOptions::validate() const {
  auto fail = [](const std::string& what) { throw ParameterError("network option " + what); };
  if (depth > kMaxNetworkDepth) fail("depth " + std::to_string(depth) + " is above " + std::to_string(kMaxNetworkDepth));
  if (width < 1 || width > kMaxNetworkWidth) {
    fail("width " + std::to_string(width) + " is outside 1.." + std::to_string(kMaxNetworkWidth));
  }
  if (power != 2 && power != 3) fail("power " + std::to_string(power) + " is not 2 or 3");
  if (!std::isfinite(learning_rate) || !(learning_rate > 0)) fail("learning rate must be finite and > 0");
  if (!std::isfinite(weight_decay) || weight_decay < 0) fail("weight decay must be finite and >= 0");
  if (epochs < 1) fail("epochs must be at least 1");
  if (batch_molecules < 1) fail("batch size (molecules) must be at least 1");
  if (patience < 1) fail("patience must be at least 1 epoch");
  if (!std::isfinite(validation_fraction) || validation_fraction < 0 || validation_fraction > 0.5) {
    fail("validation fraction must lie in [0, 0.5]");
  }
}

std::vector<int> AtomicNetwork::elements() const {
  std::vector<int> z;
  for (const auto& n : networks) z.push_back(n.element);
  return z;
}

int AtomicNetwork::find(int z) const {
  for (std::size_t k = 0; k < networks.size(); ++k) {
    if (networks[k].element == z) return static_cast<int>(k);
  }
  return -1;
}

Eigen::MatrixXd AtomicNetwork::predict(const chem::AtomicFeatures& atoms) const {
  if (networks.empty()) throw ParameterError("predict: the network has no element networks");
  if (atoms.dimension() != atom_dimension()) {
    throw ParameterError("predict: atoms have " + std::to_string(atoms.dimension()) + " values each, the network expects " +
                         std::to_string(atom_dimension()));
  }
  atoms.validate();
  const AtomGroups groups = group_atoms(*this, atoms.charges, atoms.offsets);
  std::vector<Eigen::MatrixXd> outs(groups.chunks.size());
  {
    SingleThreadedBlas single;
    core::parallel_for(groups.chunks.size(), [&](std::size_t k) {
      const AtomChunk& chunk = groups.chunks[k];
      const ElementNetwork& net = networks[chunk.network];
      BlockPass pass;
      standardize_rows_into(net, atoms.values, groups.rows[chunk.network], chunk.begin, chunk.end, pass.z);
      forward(net, power, pass);
      outs[k] = std::move(pass.out);
    });
  }
  std::vector<std::size_t> molecule_of(atoms.atom_count());
  for (std::size_t m = 0; m < atoms.molecule_count(); ++m) {
    std::fill(molecule_of.begin() + static_cast<std::ptrdiff_t>(atoms.offsets[m]),
              molecule_of.begin() + static_cast<std::ptrdiff_t>(atoms.offsets[m + 1]), m);
  }
  Eigen::MatrixXd result = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(atoms.molecule_count()),
                                                 static_cast<Eigen::Index>(target_count()));
  for (std::size_t k = 0; k < groups.chunks.size(); ++k) {
    const AtomChunk& chunk = groups.chunks[k];
    for (std::size_t i = chunk.begin; i < chunk.end; ++i) {
      result.row(static_cast<Eigen::Index>(molecule_of[groups.rows[chunk.network][i]])) +=
          outs[k].col(static_cast<Eigen::Index>(i - chunk.begin)).transpose();
    }
  }
  return result;
}

void AtomicNetwork::validate(std::size_t atom_dimension, std::size_t targets, const std::vector<int>& elements) const {
  auto fail = [](const std::string& what) { throw ParameterError("invalid network model: " + what); };
  if (depth > kMaxNetworkDepth) fail("depth above " + std::to_string(kMaxNetworkDepth));
  if (width < 1 || width > kMaxNetworkWidth) fail("width outside 1.." + std::to_string(kMaxNetworkWidth));
  if (power != 2 && power != 3) fail("power " + std::to_string(power) + " is not 2 or 3");
  if (targets < 1) fail("no targets");
  if (networks.empty()) fail("no element networks");
  const auto w = static_cast<Eigen::Index>(width), d = static_cast<Eigen::Index>(atom_dimension),
             t = static_cast<Eigen::Index>(targets);
  for (std::size_t k = 0; k < networks.size(); ++k) {
    const ElementNetwork& n = networks[k];
    const std::string where = chem::is_known_element(n.element) ? std::string(chem::element_symbol(n.element))
                                                                : "Z=" + std::to_string(n.element);
    if (k > 0 && n.element <= networks[k - 1].element) fail("element networks are not in ascending, distinct order");
    if (std::find(elements.begin(), elements.end(), n.element) == elements.end()) {
      fail("network of element " + where + ", which the representation lacks");
    }
    auto shape = [&](const auto& m, Eigen::Index rows, Eigen::Index cols, const char* what) {
      if (m.rows() != rows || m.cols() != cols) fail(where + " " + what + " has the wrong size");
      if (!m.allFinite()) fail(where + " " + what + " holds non-finite values");
    };
    shape(n.mean, d, 1, "mean");
    shape(n.scale, d, 1, "scale");
    if (!(n.scale.array() > 0).all()) fail(where + " standardization scale is not > 0");
    shape(n.w0, w, d, "W0");
    shape(n.b0, w, 1, "b0");
    if (n.w.size() != depth || n.b.size() != depth || n.c.size() != depth) fail(where + " does not have depth blocks");
    for (std::size_t l = 0; l < depth; ++l) {
      shape(n.w[l], w, w, "block weights");
      shape(n.b[l], w, 1, "block bias");
      shape(n.c[l], w, 1, "block scale");
    }
    shape(n.v, t, w, "output weights");
    shape(n.beta, t, 1, "output bias");
    if (linear_skip) {
      shape(n.skip, t, d, "linear skip");
    } else if (n.skip.size() != 0) {
      fail(where + " has linear skip weights but the network has no skip");
    }
  }
}

std::size_t AtomicNetwork::multiplicative_depth() const { return 1 + depth * (1 + ceil_log2(power)); }

std::size_t AtomicNetwork::parameter_count() const {
  std::size_t count = 0;
  for (const auto& n : networks) n.for_each_block([&](const char*, const double*, std::size_t size, bool) { count += size; });
  return count;
}

std::string AtomicNetwork::describe() const {
  char buf[400];
  std::snprintf(buf, sizeof(buf),
                "network: depth %zu, width %zu, power %d, %s, elements %s, %zu parameters\n"
                "encrypted depth: %zu (standardization, W0, scales and output folded into the plaintext products)\n",
                depth, width, power, linear_skip ? "linear skip" : "no skip", element_list(elements()).c_str(),
                parameter_count(), multiplicative_depth());
  return buf;
}

nlohmann::json AtomicNetwork::describe_json() const {
  nlohmann::json j;
  j["depth"] = depth;
  j["width"] = width;
  j["power"] = power;
  j["linear_skip"] = linear_skip;
  j["elements"] = elements();
  j["parameters"] = parameter_count();
  j["multiplicative_depth"] = multiplicative_depth();
  return j;
}

void AtomicNetwork::write(core::ByteWriter& w) const {
  w.u32(static_cast<std::uint32_t>(depth));
  w.u32(static_cast<std::uint32_t>(width));
  w.u32(static_cast<std::uint32_t>(power));
  w.u8(linear_skip ? 1 : 0);
  w.u64(networks.size());
  for (const auto& n : networks) {
    w.u32(static_cast<std::uint32_t>(n.element));
    write_matrix_rows(w, n.mean);
    write_matrix_rows(w, n.scale);
    write_matrix_rows(w, n.w0);
    write_matrix_rows(w, n.b0);
    for (std::size_t l = 0; l < n.w.size(); ++l) {
      write_matrix_rows(w, n.w[l]);
      write_matrix_rows(w, n.b[l]);
      write_matrix_rows(w, n.c[l]);
    }
    write_matrix_rows(w, n.v);
    write_matrix_rows(w, n.beta);
    if (linear_skip) write_matrix_rows(w, n.skip);
  }
}

AtomicNetwork AtomicNetwork::read(core::ByteReader& r, std::size_t atom_dimension, std::size_t targets) {
  AtomicNetwork m;
  const std::uint32_t depth = r.u32(), width = r.u32(), power = r.u32();
  if (depth > kMaxNetworkDepth) r.fail("network depth " + std::to_string(depth) + " is above " + std::to_string(kMaxNetworkDepth));
  if (width < 1 || width > kMaxNetworkWidth) r.fail("network width " + std::to_string(width) + " is outside 1..4096");
  if (power != 2 && power != 3) r.fail("network power " + std::to_string(power) + " is not 2 or 3");
  const std::uint8_t skip = r.u8();
  if (skip > 1) r.fail("network skip flag " + std::to_string(skip) + " is not 0 or 1");
  if (targets < 1 || targets > kMaxNetworkTargets) r.fail("network models need 1.." + std::to_string(kMaxNetworkTargets) + " targets");
  m.depth = depth;
  m.width = width;
  m.power = static_cast<int>(power);
  m.linear_skip = skip == 1;
  // Each network holds at least its element, mean and scale.
  const std::size_t count = r.count("element network", chem::kMaxAtomicNumber, 4 + 16 * atom_dimension);
  if (count == 0) r.fail("network model has no element networks");
  m.networks.resize(count);
  for (std::size_t k = 0; k < count; ++k) {
    ElementNetwork& n = m.networks[k];
    const std::uint32_t z = r.u32();
    if (!chem::is_known_element(static_cast<int>(z))) r.fail("network element " + std::to_string(z) + " is not an element");
    n.element = static_cast<int>(z);
    if (k > 0 && n.element <= m.networks[k - 1].element) r.fail("network elements are not ascending and distinct");
    read_matrix_rows(r, n.mean, atom_dimension, 1, "network mean");
    read_matrix_rows(r, n.scale, atom_dimension, 1, "network scale");
    if (!(n.scale.array() > 0).all()) r.fail("network standardization scale is not > 0");
    read_matrix_rows(r, n.w0, width, atom_dimension, "network W0");
    read_matrix_rows(r, n.b0, width, 1, "network b0");
    n.w.resize(depth);
    n.b.resize(depth);
    n.c.resize(depth);
    for (std::size_t l = 0; l < depth; ++l) {
      read_matrix_rows(r, n.w[l], width, width, "network block weights");
      read_matrix_rows(r, n.b[l], width, 1, "network block bias");
      read_matrix_rows(r, n.c[l], width, 1, "network block scale");
    }
    read_matrix_rows(r, n.v, targets, width, "network output weights");
    read_matrix_rows(r, n.beta, targets, 1, "network output bias");
    if (m.linear_skip) read_matrix_rows(r, n.skip, targets, atom_dimension, "network linear skip");
  }
  return m;
}

}  // namespace encmol::ml
