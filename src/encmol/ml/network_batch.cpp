#include "encmol/ml/network_batch.hpp"

#include "encmol/core/error.hpp"
#include "encmol/core/parallel.hpp"
#include "encmol/ml/linalg.hpp"

namespace encmol::ml {

NetworkData prepare_network_data(const AtomicNetwork& network, const chem::AtomicFeatures& features) {
  features.validate();
  if (features.dimension() != network.atom_dimension()) {
    throw ParameterError("network training: atoms have " + std::to_string(features.dimension()) +
                         " values each, the network expects " + std::to_string(network.atom_dimension()));
  }
  const AtomGroups groups = group_atoms(network, features.charges, features.offsets);
  NetworkData data;
  data.z.resize(network.networks.size());
  std::vector<std::uint32_t> column_of(features.atom_count());
  for (std::size_t k = 0; k < groups.rows.size(); ++k) {
    data.z[k].resize(static_cast<Eigen::Index>(features.dimension()), static_cast<Eigen::Index>(groups.rows[k].size()));
    for (std::size_t i = 0; i < groups.rows[k].size(); ++i) column_of[groups.rows[k][i]] = static_cast<std::uint32_t>(i);
  }
  core::parallel_for(groups.chunks.size(), [&](std::size_t c) {
    const AtomChunk& chunk = groups.chunks[c];
    Eigen::MatrixXd z;
    standardize_rows_into(network.networks[chunk.network], features.values, groups.rows[chunk.network], chunk.begin,
                          chunk.end, z);
    data.z[chunk.network].middleCols(static_cast<Eigen::Index>(chunk.begin), z.cols()) = z;
  });
  data.atoms.resize(features.molecule_count());
  for (std::size_t m = 0; m < features.molecule_count(); ++m) {
    for (std::size_t a = features.offsets[m]; a < features.offsets[m + 1]; ++a) {
      data.atoms[m].emplace_back(static_cast<std::uint32_t>(network.find(features.charges[a])), column_of[a]);
    }
  }
  return data;
}

ElementNetwork zero_like(const ElementNetwork& net) {
  ElementNetwork g = net;
  g.for_each_block([](const char*, double* p, std::size_t n, bool) { std::fill(p, p + n, 0.0); });
  return g;
}

void BatchEvaluator::forward_batch(const AtomicNetwork& network, const NetworkData& data,
                                   const std::vector<std::size_t>& batch) {
  const std::size_t nets = network.networks.size();
  columns_.assign(nets, {});
  slots_.assign(nets, {});
  for (std::size_t s = 0; s < batch.size(); ++s) {
    for (const auto& [k, column] : data.atoms[batch[s]]) {
      columns_[k].push_back(column);
      slots_[k].push_back(static_cast<std::uint32_t>(s));
    }
  }
  chunks_.clear();
  for (std::size_t k = 0; k < nets; ++k) {
    for (std::size_t begin = 0; begin < columns_[k].size(); begin += kNetworkChunkAtoms) {
      chunks_.push_back({k, begin, std::min(columns_[k].size(), begin + kNetworkChunkAtoms)});
    }
  }
  if (passes_.size() < chunks_.size()) passes_.resize(chunks_.size());
  core::parallel_for(chunks_.size(), [&](std::size_t c) {
    const AtomChunk& chunk = chunks_[c];
    BlockPass& pass = passes_[c];
    const Eigen::MatrixXd& z = data.z[chunk.network];
    pass.z.resize(z.rows(), static_cast<Eigen::Index>(chunk.end - chunk.begin));
    for (std::size_t i = chunk.begin; i < chunk.end; ++i) {
      pass.z.col(static_cast<Eigen::Index>(i - chunk.begin)) = z.col(columns_[chunk.network][i]);
    }
    forward(network.networks[chunk.network], network.power, pass);
  });
}

double BatchEvaluator::loss(const AtomicNetwork& network, const NetworkData& data, const std::vector<std::size_t>& batch,
                            const Eigen::MatrixXd& labels, const Eigen::RowVectorXd& inv_scale,
                            std::vector<ElementNetwork>* gradient) {
  forward_batch(network, data, batch);
  const Eigen::Index targets = inv_scale.size();
  Eigen::MatrixXd residual = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(batch.size()), targets);
  for (std::size_t c = 0; c < chunks_.size(); ++c) {
    const AtomChunk& chunk = chunks_[c];
    for (std::size_t i = chunk.begin; i < chunk.end; ++i) {
      residual.row(slots_[chunk.network][i]) += passes_[c].out.col(static_cast<Eigen::Index>(i - chunk.begin)).transpose();
    }
  }
  for (std::size_t s = 0; s < batch.size(); ++s) {
    const auto row = static_cast<Eigen::Index>(s);
    residual.row(row) = (residual.row(row) - labels.row(static_cast<Eigen::Index>(batch[s]))).cwiseProduct(inv_scale);
  }
  const double count = static_cast<double>(batch.size()) * static_cast<double>(targets);
  const double value = residual.squaredNorm() / count;
  if (gradient == nullptr) return value;

  // d loss / d (molecule sum) = 2 r inv_scale / count, the same for each atom of the molecule.
  const Eigen::MatrixXd d_sum = (2.0 / count) * residual * inv_scale.asDiagonal();
  if (partial_.size() < chunks_.size()) partial_.resize(chunks_.size());
  core::parallel_for(chunks_.size(), [&](std::size_t c) {
    const AtomChunk& chunk = chunks_[c];
    Eigen::MatrixXd d_out(targets, static_cast<Eigen::Index>(chunk.end - chunk.begin));
    for (std::size_t i = chunk.begin; i < chunk.end; ++i) {
      d_out.col(static_cast<Eigen::Index>(i - chunk.begin)) = d_sum.row(slots_[chunk.network][i]).transpose();
    }
    backward(network.networks[chunk.network], network.power, passes_[c], d_out, partial_[c]);
  });
  // Per network, the chunk gradients in chunk order.
  gradient->resize(network.networks.size());
  core::parallel_for(network.networks.size(), [&](std::size_t k) {
    ElementNetwork& g = (*gradient)[k];
    g = zero_like(network.networks[k]);
    for (std::size_t c = 0; c < chunks_.size(); ++c) {
      if (chunks_[c].network != k) continue;
      std::vector<const double*> sources;
      partial_[c].for_each_block([&](const char*, const double* p, std::size_t, bool) { sources.push_back(p); });
      std::size_t block = 0;
      g.for_each_block([&](const char*, double* p, std::size_t n, bool) {
        const double* q = sources[block++];
        for (std::size_t i = 0; i < n; ++i) p[i] += q[i];
      });
    }
  });
  return value;
}

Eigen::MatrixXd BatchEvaluator::hidden_sums(const AtomicNetwork& network, const NetworkData& data,
                                            const std::vector<std::size_t>& batch) {
  forward_batch(network, data, batch);
  const auto w = static_cast<Eigen::Index>(network.width);
  Eigen::MatrixXd x = Eigen::MatrixXd::Zero(static_cast<Eigen::Index>(batch.size()),
                                            static_cast<Eigen::Index>(network.networks.size()) * (w + 1));
  for (std::size_t c = 0; c < chunks_.size(); ++c) {
    const AtomChunk& chunk = chunks_[c];
    const Eigen::MatrixXd& h = passes_[c].h.back();
    const auto base = static_cast<Eigen::Index>(chunk.network) * (w + 1);
    for (std::size_t i = chunk.begin; i < chunk.end; ++i) {
      const auto row = static_cast<Eigen::Index>(slots_[chunk.network][i]);
      x.row(row).segment(base, w) += h.col(static_cast<Eigen::Index>(i - chunk.begin)).transpose();
      x(row, base + w) += 1.0;
    }
  }
  return x;
}

}  // namespace encmol::ml
