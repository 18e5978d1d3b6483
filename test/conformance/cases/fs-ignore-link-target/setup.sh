mkdir -p dir
echo s > secret.txt; ln -s ../secret.txt dir/link; echo k > dir/keep
printf 'secret.txt\n' > .dockerignore
