mkdir -p dir/sub keepdir/inner other
echo k > keep.txt; echo d > drop.txt; echo x > dir/sub/x; echo y > dir/sub/y; echo i > keepdir/inner/i; echo o > other/o
printf '*\n!keep.txt\n!dir/sub/x\n!keepdir\n' > .dockerignore
