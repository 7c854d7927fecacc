# Bar chart of median req/s per test and layout, chopin next to nginx.
# Usage: gnuplot -e "datafile='chart.dat'; outfile='x.png'; subtitle='...'; has_nginx=1" bench/plot.gp
# chart.dat (from report.py): "test" "layout" chopin_req_s nginx_req_s ratio
# Missing values are NaN and leave a gap.

if (!exists("subtitle")) subtitle = ""

# pngcairo draws anti-aliased text; gnuplot-nox has it, but fall back to the
# libgd terminal if a build lacks cairo.
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1100,560 enhanced font "sans,10"
} else {
    set terminal png size 1100,560 font "sans,10"
}
set output outfile

set title "Requests per second, median of runs (higher is better)\n{/*0.85 ".subtitle."}"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set key top right
set grid ytics lc rgb "#dddddd"
set ylabel "requests/s"
set format y "%.1s%c"
set yrange [0:*]
set offsets 0, 0, graph 0.12, 0
set xtics nomirror scale 0
set bmargin 4.5
stats datafile using (1) nooutput
set xrange [-0.6:STATS_records - 0.4]
set ytics nomirror

# Two bars per cluster of width 1/3 each, centred at x - 1/6 and x + 1/6;
# the ratio sits over the pair. Without nginx (SKIP_NGINX=1) its column is
# all NaN, which crashes gnuplot 5.4's histogram code, so it is left out.
if (!exists("has_nginx")) has_nginx = 1
if (has_nginx) {
    plot datafile using 3:xtic(strcol(1)."\n".strcol(2)) title "chopin" lc rgb "#2b6cb0", \
         ''       using 4 title "nginx" lc rgb "#a0aec0", \
         ''       using ($0 - 1.0/6):3:(sprintf("%.0fk", $3/1000)) with labels offset 0,0.7 font ",9" notitle, \
         ''       using ($0 + 1.0/6):4:(sprintf("%.0fk", $4/1000)) with labels offset 0,0.7 font ",9" notitle, \
         ''       using 0:($3 > $4 ? $3 : $4):(sprintf("%.2fx", $5)) with labels offset 0,2.0 font ",10" tc rgb "#2b6cb0" notitle
} else {
    plot datafile using 3:xtic(strcol(1)."\n".strcol(2)) title "chopin" lc rgb "#2b6cb0", \
         ''       using 0:3:(sprintf("%.0fk", $3/1000)) with labels offset 0,0.7 font ",9" notitle
}
