mkdir -p dir sub excluded nest/one
echo a > a.txt; echo d > dir/d; echo s > sub/s.txt; echo b > b.txt
echo k > excluded/keep.txt; echo x > excluded/drop.txt; echo n > nest/one/nested.txt; echo n2 > nested.txt
echo sp > spaced.txt
printf './a.txt\ndir/\nsub/../b.txt\n*/nested.txt\n\n   \n  spaced.txt  \nexcluded\n!excluded/keep.txt\n' > .dockerignore
