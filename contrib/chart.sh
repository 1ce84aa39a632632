#!/usr/bin/env bash
# contrib/chart.sh - draw docs/benchmarks.png from a saved `make bench` output.
#
#   make bench | tee bench.txt; contrib/chart.sh bench.txt docs/benchmarks.png
#
# One group of bars per measurement (100 B appends, 1 MiB appends,
# re-read with 1 and 4 MiB read()s, cold read): applog direct_io, topicfs record mode
# and topicfs stream mode, each as a ratio to the plain file of the same
# run.
# Needs gnuplot (apt-get install gnuplot-nox).
set -euo pipefail
in=${1:?bench output} out=${2:?png}
dat=$(mktemp)
trap 'rm -f "$dat"' EXIT
# rows "100 B appends/s (applog direct_io)  plain applog topicfs stream ..."
awk '
/^100 B appends\/s \(applog direct_io\)/ { n = "100 B appends" }
/^1 MiB appends MB\/s \(applog direct_io\)/ { n = "1 MiB appends" }
/^seq. read MB\/s \(applog direct_io\)/ { n = "re-read (1 MiB)" }
/^seq. read MB\/s, BIG_BS \(applog direct_io\)/ { n = "re-read (4 MiB)" }
/^cold read MB\/s \(applog direct_io\)/ { n = "cold read" }
n != "" {
	f = NF - 7   # columns from the right: plain applog topicfs stream 3 ratios
	printf "\"%s\" %.3f %.3f %.3f\n", n, $(f+2)/$(f+1), $(f+3)/$(f+1), $(f+4)/$(f+1)
	n = ""
}' "$in" >"$dat"
[[ -s $dat ]] || { echo "chart: no bench rows in $in" >&2; exit 1; }
when=$(sed -n 's/^topicfs benchmark (\(.*\))$/\1/p' "$in" | head -1)
gnuplot <<GP
set terminal pngcairo size 1000,500 font ",11" noenhanced
set output "$out"
set title "topicfs vs a plain file (= 1.0) and the minimal FUSE file, $when"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set yrange [0:*]
set ylabel "ratio to plain file (same run)"
set grid ytics
set key top left
plot "$dat" using 2:xtic(1) title "applog direct_io (FUSE limit)", \
     "" using 3 title "topicfs record mode", \
     "" using 4 title "topicfs stream mode"
GP
echo "chart: wrote $out"
