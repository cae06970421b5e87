"""Rich (HTML) representations for Jupyter: what a chemist wants to see of a
model, a model card or decrypted predictions, as small tables."""

from __future__ import annotations

import html

from ._encmol import Model, ModelCard, Predictions

__all__: list[str] = []


def _table(rows, header=None) -> str:
    out = ["<table>"]
    if header:
        out.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in header) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _model_html(model: Model) -> str:
    info = model.info()
    provenance = info.get("provenance", {})
    rows = [("family", model.family), ("representation", model.representation.describe()),
            ("training molecules", model.training_size),
            ("targets", ", ".join(f"{t} [{u}]" if u else t for t, u in zip(model.targets, model.units))),
            ("Δ baseline", "xTB (client computes it)" if info.get("baseline", {}).get("delta") else "none"),
            ("data set", provenance.get("dataset", "")), ("encmol", provenance.get("encmol_version", ""))]
    return f"<b>encmol model</b>{_table(rows)}"


def _card_html(card: ModelCard) -> str:
    plan = card.plan()
    targets = [(t["name"], t["unit"], f"{t['bound']:.3g}", t["rounding_step"]) for t in plan["targets"]]
    rows = [("circuit", plan["circuit"]), ("representation", plan["representation"]),
            ("CKKS", f"N = {plan['ring_degree']}, depth {plan['depth']}, log2 PQ = {plan['log2_pq']:.0f} (128-bit)"),
            ("molecules per ciphertext", plan["queries_per_ciphertext"]), ("flooding bits", plan["flood_bits"]),
            ("client adds xTB baseline", "yes" if card.needs_molecules_to_decrypt else "no")]
    return (f"<b>encmol model card</b> (no weights, no training data){_table(rows)}"
            f"{_table(targets, ['target', 'unit', 'guaranteed |enc − plain| ≤', 'rounded to'])}")


def _predictions_html(p: Predictions, limit: int = 20) -> str:
    header = ["molecule"] + [f"{t} [{u}]" if u else t for t, u in zip(p.targets, p.units)]
    rows = [[name] + list(p.values[i]) for i, name in enumerate(p.names[:limit])]
    more = f"<p>… {len(p.names) - limit} more</p>" if len(p.names) > limit else ""
    return f"<b>decrypted predictions</b> (precision {p.precision}){_table(rows, header)}{more}"


Model._repr_html_ = _model_html
ModelCard._repr_html_ = _card_html
Predictions._repr_html_ = _predictions_html
