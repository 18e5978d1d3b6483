echo a > a.txt; echo b > b.txt; echo b2 > b2.md
mkdir -p d1 d2 e1; echo 1 > d1/x.txt; echo 2 > d2/x.txt; echo e > e1/x.txt
