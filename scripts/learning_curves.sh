#!/usr/bin/env bash
# Learning curves of QM7 PBE0 atomization energies (5,700 / 1,401 split, seed
# 42) for representation x family x {direct, Δ-xTB}: one CSV per curve in
# docs/learning_curves/, then one log-log plot of them all (gnuplot).
#
#   scripts/learning_curves.sh [COMBO...]     # default: every combo below
#   PLOT_ONLY=1 scripts/learning_curves.sh    # only redraw the plot
#
# A combo is FAMILY:REPRESENTATION[:EXTRA-OPTIONS], e.g. krr:bob:-k,laplacian.
# Each curve cross-validates its hyper-parameters at every size, so the
# FCHL19 local kernels take tens of minutes per curve on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
ENCMOL=${ENCMOL:-build/encmol}
OUT=${OUT:-docs/learning_curves}
SIZES=${SIZES:-500,1000,2000,4000,5700}
DATA=${DATA:-data/qm7.xyz.gz}
mkdir -p "$OUT"
combos=("$@")
if [ ${#combos[@]} -eq 0 ]; then
  combos=(krr:cm krr:bob:-k,laplacian krr:cmbdf local-krr:cmbdf quadratic:cmbdf rf:cmbdf nn:cmbdf
          local-krr:fchl19 local-krr:fchl19+cmbdf)
fi
[ "${PLOT_ONLY:-0}" = 1 ] && combos=()
for combo in ${combos[@]+"${combos[@]}"}; do
  IFS=: read -r family rep extra <<<"$combo"
  for mode in direct delta; do
    name="${family}_${rep/+/_}${extra:+_${extra//[^a-z0-9]/}}_${mode}"
    delta=()
    [ "$mode" = delta ] && delta=(--delta xtb)
    echo "== $name"
    # shellcheck disable=SC2086
    "$ENCMOL" -q learning-curve "$DATA" -t ae_pbe0 --units kcal/mol -f "$family" -r "$rep" ${extra//,/ } \
      "${delta[@]}" --test-size 1401 --seed 42 --sizes "$SIZES" --no-plot -o "$OUT/$name.csv"
  done
done
# One plot of every CSV in $OUT.
plot="set terminal pngcairo size 1100,750; set output '$OUT/learning_curves.png'; set logscale xy; set xrange [400:7000]; set yrange [0.15:20];"
plot+=" set xlabel 'training molecules'; set ylabel 'test MAE (kcal/mol)'; set key outside right;"
plot+=" set title 'QM7 PBE0 atomization energy, 1,401 test molecules (seed 42)'; set datafile separator ',';"
plot+=" plot"
sep=""
for csv in "$OUT"/*.csv; do
  title=$(basename "$csv" .csv)
  dash=1; [[ $title == *_delta ]] && dash=2
  plot+="$sep '$csv' every ::1 using 1:5 with linespoints dt $dash title '${title//_/ }'"
  sep=","
done
gnuplot -e "$plot"
echo "wrote $OUT/learning_curves.png"
