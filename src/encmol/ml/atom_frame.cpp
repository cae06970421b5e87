#include "encmol/ml/atom_frame.hpp"

#include <algorithm>
#include <cmath>
#include <string>

#include "encmol/core/error.hpp"

namespace encmol::ml {

AtomFrame AtomFrame::fit(const chem::AtomicFeatures& atoms, const std::vector<int>& elements,
                         double scale_floor) {
  const auto d = static_cast<Eigen::Index>(atoms.dimension());
  AtomFrame f;
  for (int z : elements) {
    Element e;
    e.z = z;
    e.center = Eigen::VectorXd::Zero(d);
    Eigen::VectorXd square = Eigen::VectorXd::Zero(d);
    std::size_t count = 0;
    for (std::size_t a = 0; a < atoms.atom_count(); ++a) {
      if (atoms.charges[a] != z) continue;
      const auto x = atoms.values.row(static_cast<Eigen::Index>(a)).transpose();
      e.center += x;
      ++count;
    }
    if (count == 0) {
      e.scale = Eigen::VectorXd::Ones(d);
      f.elements.push_back(std::move(e));
      continue;
    }
    e.center /= static_cast<double>(count);
    for (std::size_t a = 0; a < atoms.atom_count(); ++a)
      if (atoms.charges[a] == z)
        square +=
            (atoms.values.row(static_cast<Eigen::Index>(a)).transpose() - e.center).cwiseAbs2();
    e.scale = (square / static_cast<double>(count)).cwiseSqrt();
    const double rms =
        std::sqrt(e.scale.squaredNorm() / static_cast<double>(std::max<Eigen::Index>(d, 1)));
    const double floor = rms > 0 ? scale_floor * rms : 1.0;
    e.scale = e.scale.cwiseMax(floor);
    for (std::size_t a = 0; a < atoms.atom_count(); ++a) {
      if (atoms.charges[a] != z) continue;
      const Eigen::VectorXd offset =
          atoms.values.row(static_cast<Eigen::Index>(a)).transpose() - e.center;
      e.radius = std::max(e.radius, (offset.array() / e.scale.array()).matrix().norm());
      e.ball_radius = std::max(e.ball_radius, offset.norm());
    }
    f.elements.push_back(std::move(e));
  }
  return f;
}

AtomFrame AtomFrame::ball() const {
  AtomFrame b = *this;
  for (Element& e : b.elements) {
    e.scale.setOnes();
    e.radius = e.ball_radius;
  }
  return b;
}

int AtomFrame::find(int z) const {
  for (std::size_t e = 0; e < elements.size(); ++e)
    if (elements[e].z == z) return static_cast<int>(e);
  return -1;
}

Eigen::VectorXd AtomFrame::standardize(std::size_t e,
                                       const Eigen::Ref<const Eigen::RowVectorXd>& x) const {
  return ((x.transpose() - elements[e].center).array() / elements[e].scale.array()).matrix();
}

void AtomFrame::validate(std::size_t dimension, const std::vector<int>& spec_elements) const {
  if (empty()) return;
  auto fail = [](const std::string& what) { throw ParameterError("invalid atom frame: " + what); };
  if (elements.size() != spec_elements.size()) fail("its elements are not the representation's");
  for (std::size_t e = 0; e < elements.size(); ++e) {
    const Element& el = elements[e];
    if (el.z != spec_elements[e]) fail("its elements are not the representation's");
    if (static_cast<std::size_t>(el.center.size()) != dimension ||
        static_cast<std::size_t>(el.scale.size()) != dimension)
      fail("its size differs from the atom vectors'");
    if (!el.center.allFinite() || !el.scale.allFinite() || (el.scale.array() <= 0).any())
      fail("non-finite values or non-positive scales");
    if (!(std::isfinite(el.radius) && el.radius >= 0 && std::isfinite(el.ball_radius) &&
          el.ball_radius >= 0))
      fail("negative or non-finite radius");
  }
}

nlohmann::json AtomFrame::describe_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (const Element& e : elements) j[std::to_string(e.z)] = {{"radius", e.radius}};
  return j;
}

void AtomFrame::write(core::ByteWriter& out) const {
  out.u64(elements.size());
  for (const Element& e : elements) {
    out.u32(static_cast<std::uint32_t>(e.z));
    out.f64(e.radius);
    out.f64(e.ball_radius);
    for (Eigen::Index j = 0; j < e.center.size(); ++j) out.f64(e.center(j));
    for (Eigen::Index j = 0; j < e.scale.size(); ++j) out.f64(e.scale(j));
  }
}

AtomFrame AtomFrame::read(core::ByteReader& in, std::size_t dimension) {
  AtomFrame f;
  const std::size_t n = in.count("atom frame elements", 256, 20 + 16 * dimension);
  for (std::size_t k = 0; k < n; ++k) {
    Element e;
    e.z = static_cast<int>(in.u32());
    e.radius = in.finite_f64("atom frame radius");
    e.ball_radius = in.finite_f64("atom frame ball radius");
    e.center.resize(static_cast<Eigen::Index>(dimension));
    e.scale.resize(static_cast<Eigen::Index>(dimension));
    for (std::size_t j = 0; j < dimension; ++j)
      e.center(static_cast<Eigen::Index>(j)) = in.finite_f64("atom frame center");
    for (std::size_t j = 0; j < dimension; ++j)
      e.scale(static_cast<Eigen::Index>(j)) = in.finite_f64("atom frame scale");
    f.elements.push_back(std::move(e));
  }
  return f;
}

}  // namespace encmol::ml
