mkdir -p dir
ln -s /etc dir/was-dir; ln -s /etc/passwd dir/was-file
