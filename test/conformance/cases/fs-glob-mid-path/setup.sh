mkdir -p x/sub1 x/sub2 y/sub1/inner z
echo xb1 > x/sub1/b1.txt; echo xa1 > x/sub1/a1.txt; echo xb2 > x/sub2/b2.txt; echo xc > x/sub2/c.txt
echo yc > y/sub1/c.txt; echo yi > y/sub1/inner/i.txt; echo top > x/top.txt; echo zf > z/sub1
