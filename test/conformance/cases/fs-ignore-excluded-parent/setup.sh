mkdir -p dir/sub/deeper dir/other
echo k > dir/sub/deeper/keep; echo d > dir/sub/drop; echo o > dir/other/o; echo t > dir/top
chmod 0700 dir; chmod 0750 dir/sub; chmod 0711 dir/sub/deeper; chown -R 1234:5678 dir
printf 'dir\n!dir/sub/deeper/keep\n' > .dockerignore
