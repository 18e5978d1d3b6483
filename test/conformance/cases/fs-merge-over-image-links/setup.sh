mkdir -p dir
echo f > dir/file-link; echo d > dir/dangling
