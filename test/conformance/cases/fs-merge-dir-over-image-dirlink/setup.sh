mkdir -p dir/sub
echo s > dir/sub/s
