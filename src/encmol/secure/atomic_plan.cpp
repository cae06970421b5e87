#include "encmol/secure/atomic_plan.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <variant>

#include "encmol/chem/elements.hpp"
#include "encmol/core/error.hpp"
#include "encmol/he/linear.hpp"

namespace encmol::secure {

// ------------------------------------------------------------------ circuit fields

std::size_t AtomicCircuit::first_window(std::size_t e) const {
  std::size_t w = 0;
  for (std::size_t k = 0; k < e && k < capacity.size(); ++k) w += capacity[k];
  return w;
}

void AtomicCircuit::write(core::ByteWriter& out) const {
  out.u32(static_cast<std::uint32_t>(power));
  out.u64(elements.size());
  for (std::size_t e = 0; e < elements.size(); ++e) {
    out.u32(static_cast<std::uint32_t>(elements[e]));
    out.u64(capacity[e]);
    out.f64(input_norm[e]);
  }
  out.u64(windows);
  out.u64(window_stride);
  out.u64(window_sum);
  out.u8(ball_frame ? 1 : 0);
}

AtomicCircuit AtomicCircuit::read(core::ByteReader& in) {
  AtomicCircuit c;
  c.power = static_cast<int>(in.u32());
  if (c.power != 2 && c.power != 3)
    in.fail("atomic plan: power " + std::to_string(c.power) + " is not 2 or 3");
  const std::size_t ne = in.count("elements", 128, 20);
  std::size_t total = 0;
  for (std::size_t e = 0; e < ne; ++e) {
    const auto z = static_cast<int>(in.u32());
    if (z < 1 || z > 118 || (!c.elements.empty() && z <= c.elements.back()))
      in.fail("atomic plan: elements are not ascending nuclear charges");
    c.elements.push_back(z);
    const std::uint64_t cap = in.u64();
    if (cap > kMaxAtomWindows) in.fail("atomic plan: implausible element capacity");
    c.capacity.push_back(cap);
    total += cap;
    const double q = in.finite_f64("input norm");
    if (!(q > 0)) in.fail("atomic plan: input norms must be positive");
    c.input_norm.push_back(q);
  }
  c.windows = in.u64();
  c.window_stride = in.u64();
  c.window_sum = in.u64();
  const auto ball = in.u8();
  if (ball > 1) in.fail("atomic plan: unknown frame kind");
  c.ball_frame = ball == 1;
  if (ne == 0 || total == 0 || c.windows < total || c.windows > kMaxAtomWindows ||
      !he::is_two_power_sum(c.windows) || c.window_stride == 0 || c.window_sum == 0 ||
      !he::is_two_power_sum(c.window_sum))
    in.fail("atomic plan: the window layout is inconsistent (corrupt or hostile file)");
  return c;
}

// ------------------------------------------------------------------ model stages

ml::FoldedNetwork atomic_stages(const ml::Model& model) {
  if (const auto* q = std::get_if<ml::QuadraticAtomicModel>(&model.body)) return q->folded();
  if (const auto* n = std::get_if<ml::AtomicNetwork>(&model.body)) {
    if (n->depth != 1)
      throw ParameterError(fmt::format(
          "encrypted plan: this network has {} residual power blocks; the encrypted circuit "
          "evaluates networks "
          "with one (encmol train -f nn --depth 1) and the quadratic model (-f quadratic)",
          n->depth));
    return ml::fold(*n);
  }
  throw ParameterError(
      "encrypted plan: the " + std::string(ml::to_string(model.family())) +
      " family has no encrypted circuit yet; serve krr, rf, quadratic or nn --depth 1 models");
}

ml::AtomFrame plan_frame(const ml::Model& model, const Plan& plan) {
  return plan.atomic.ball_frame ? model.atom_frame.ball() : model.atom_frame;
}

AtomicWeights atomic_weights(const ml::Model& model, const Plan& plan) {
  const ml::FoldedNetwork net = atomic_stages(model);
  const ml::AtomFrame chosen = plan_frame(model, plan);
  const AtomicCircuit& c = plan.atomic;
  const std::size_t d = plan.dimension, C = plan.period, H = plan.rows, nt = plan.targets;
  AtomicWeights w;
  w.elements.resize(c.elements.size());
  for (std::size_t e = 0; e < c.elements.size(); ++e) {
    AtomicWeights::Element& out = w.elements[e];
    out.hidden.assign(H * C, 0.0);
    out.output.assign(nt, std::vector<double>(H, 0.0));
    out.linear.assign(nt, std::vector<double>(C, 0.0));
    const int z = c.elements[e];
    // The per-element (dressed-atom) baseline rides on the occupancy value.
    std::vector<double> dressed(nt, 0.0);
    if (model.baseline.per_element) {
      const auto& be = model.baseline.elements;
      const auto it = std::find(be.begin(), be.end(), z);
      if (it != be.end())
        for (std::size_t t = 0; t < nt; ++t)
          dressed[t] = model.baseline.coefficients(static_cast<Eigen::Index>(it - be.begin()),
                                                   static_cast<Eigen::Index>(t));
    }
    for (std::size_t t = 0; t < nt; ++t) out.linear[t][d] = dressed[t];
    const auto found =
        std::find_if(net.networks.begin(), net.networks.end(),
                     [z](const ml::FoldedElementNetwork& f) { return f.element == z; });
    if (found == net.networks.end()) continue;
    const ml::FoldedElementNetwork& f = *found;
    if (static_cast<std::size_t>(f.input[0].rows()) > H ||
        static_cast<std::size_t>(f.input[0].cols()) != d)
      throw ParameterError("encrypted plan: the model's hidden stage does not match the plan");
    out.present = true;
    // The client sends x~ = z / Q with z = (x - center) / scale, so x = center + scale (.) Q x~.
    const ml::AtomFrame::Element& frame = chosen.elements[e];
    const Eigen::VectorXd stretch = frame.scale * c.input_norm[e];
    const Eigen::MatrixXd hidden = f.input[0] * stretch.asDiagonal();
    const Eigen::VectorXd hidden_bias = f.input[0] * frame.center + f.bias[0];
    const Eigen::MatrixXd linear = f.input[1] * stretch.asDiagonal();
    const Eigen::VectorXd linear_bias = f.input[1] * frame.center + f.bias[1];
    for (Eigen::Index i = 0; i < hidden.rows(); ++i) {
      const double bound = hidden.row(i).norm() + std::fabs(hidden_bias(i));
      const double U = bound > 0 ? bound : 1.0;
      double* row = out.hidden.data() + static_cast<std::size_t>(i) * C;
      for (std::size_t j = 0; j < d; ++j) row[j] = hidden(i, static_cast<Eigen::Index>(j)) / U;
      row[d] = hidden_bias(i) / U;
      for (std::size_t t = 0; t < nt; ++t)
        out.output[t][static_cast<std::size_t>(i)] =
            f.mix[1][0](static_cast<Eigen::Index>(t), i) * std::pow(U, net.power);
    }
    for (std::size_t t = 0; t < nt; ++t) {
      const auto tt = static_cast<Eigen::Index>(t);
      for (std::size_t j = 0; j < d; ++j)
        out.linear[t][j] = linear(tt, static_cast<Eigen::Index>(j));
      out.linear[t][d] += linear_bias(tt);
    }
  }
  return w;
}

// ------------------------------------------------------------------ client side

std::vector<std::vector<double>> atomic_query_windows(const Plan& plan, const ml::AtomFrame& frame,
                                                      const chem::AtomicFeatures& atoms,
                                                      std::size_t molecule,
                                                      const std::string& name) {
  const AtomicCircuit& c = plan.atomic;
  const std::size_t d = plan.dimension;
  if (atoms.dimension() != d)
    throw InputError(fmt::format("{}: {} values per atom, the model card expects {}", name,
                                 atoms.dimension(), d));
  std::vector<std::vector<double>> windows(c.windows, std::vector<double>(plan.period, 0.0));
  std::vector<std::size_t> used(c.elements.size(), 0);
  for (std::size_t a = atoms.offsets[molecule]; a < atoms.offsets[molecule + 1]; ++a) {
    const int z = atoms.charges[a];
    const auto it = std::find(c.elements.begin(), c.elements.end(), z);
    if (it == c.elements.end())
      throw InputError(
          fmt::format("{}: the model card has no element {}", name, chem::element_symbol(z)));
    const auto e = static_cast<std::size_t>(it - c.elements.begin());
    if (used[e] == c.capacity[e])
      throw InputError(
          fmt::format("{}: more than {} {} atoms, the most the model card's encrypted plan holds",
                      name, c.capacity[e], chem::element_symbol(z)));
    const Eigen::VectorXd x = frame.standardize(e, atoms.values.row(static_cast<Eigen::Index>(a)));
    const double norm = x.norm();
    if (!(norm <= c.input_norm[e]))
      throw InputError(
          fmt::format("{}: one of its {} atoms lies {:.4g} standardized units from the training "
                      "atoms' center, beyond {:.4g}, "
                      "the most the model card's encrypted plan covers; this molecule is too far "
                      "from the training set",
                      name, chem::element_symbol(z), norm, c.input_norm[e]));
    std::vector<double>& w = windows[c.first_window(e) + used[e]++];
    for (std::size_t j = 0; j < d; ++j) w[j] = x(static_cast<Eigen::Index>(j)) / c.input_norm[e];
    w[d] = 1.0;
  }
  return windows;
}

}  // namespace encmol::secure
