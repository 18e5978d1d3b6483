mkdir -p dir/sub logs
echo a > dir/a.log; echo b > dir/b.txt; echo c > dir/sub/c.log; echo d > dir/sub/d.txt
echo l > logs/x.log; echo m > logs/y.md; echo t > top.tmp; echo u > keep.tmp
cat > .dockerignore <<'IGN'
dir
!dir
dir/*.log
logs
!logs/*.md
*.tmp
!*.tmp
keep.tmp
IGN
