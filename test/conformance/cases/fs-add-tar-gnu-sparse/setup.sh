mkdir -p s
truncate -s 1048576 s/holes
printf 'start' | dd of=s/holes conv=notrunc status=none
printf 'middle' | dd of=s/holes bs=1 seek=300000 conv=notrunc status=none
chmod 0644 s/holes
tar --numeric-owner --owner=0 --group=0 --mtime=@1000000000 --sparse --format=gnu -C s -cf gnu-sparse.tar holes
rm -rf s
