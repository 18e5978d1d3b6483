mkdir -p dir/sub
echo d > dir/sub/d.txt; echo e > dir/sub/e.txt; echo t > d.txt
printf '**/d.txt\n!dir/sub\n' > .dockerignore
