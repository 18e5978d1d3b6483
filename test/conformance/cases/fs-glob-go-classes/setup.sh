for n in a1 b1 c1 d1 '!1' '^1' x2 -2 y2; do printf '%s\n' "$n" > "./$n"; done
