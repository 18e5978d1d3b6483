mkdir -p sub/a/b dir/inner keepdir/x
echo t > top.txt; echo k > keep-me.txt; echo s > sub/s.txt; echo d > sub/a/b/deep; echo d2 > sub/deep
echo h > '#hash'; echo b > sub/x.bak; echo i > sub/a/important.bak
echo x > dir/x; echo y > dir/y; echo i > dir/inner/i
echo a > a.md; echo b > b.md; echo kx > keepdir/x/k
cat > .dockerignore <<'IGN'
*.txt
!keep*.txt
sub/**/deep
\#hash
**/*.bak
!sub/**/important.bak
dir/*
!dir/x
[!a].md
keepdir/**
IGN
