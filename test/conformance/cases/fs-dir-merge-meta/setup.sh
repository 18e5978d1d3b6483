mkdir -p dir/sub; echo x > dir/x; echo s > dir/sub/s
chmod 0705 dir; chmod 0750 dir/sub
