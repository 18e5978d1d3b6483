for n in 'lit*eral.txt' litXeral.txt 'q?m.txt' qXm.txt '[br].txt' b.txt r.txt; do printf '%s\n' "$n" > "./$n"; done
