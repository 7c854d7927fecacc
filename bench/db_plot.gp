# Bar chart of bench/db.sh's medians: requests (or pgbench transactions) per second.
# Usage: gnuplot -e "datafile='x.dat'; outfile='x.png'" bench/db_plot.gp
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 900,480 enhanced font "sans,10"
} else {
    set terminal png size 900,480 font "sans,10"
}
set output outfile
set title "Database tests: requests per second, median of runs (pgbench: transactions per second)"
set style fill solid 0.85 border -1
set boxwidth 0.6
set grid ytics lc rgb "#dddddd"
set ylabel "per second"
set format y "%.1s%c"
set yrange [0:*]
set xtics nomirror scale 0 rotate by -20
unset key
plot datafile using 0:2:xtic(1) with boxes lc rgb "#3b6ea8", \
     '' using 0:2:(sprintf("%.0f", $2)) with labels offset 0,0.8 font ",9"
