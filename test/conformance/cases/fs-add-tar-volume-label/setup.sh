mkdir -p v; echo v > v/file; chmod 0644 v/file
tar --numeric-owner --owner=0 --group=0 --mtime=@1000000000 -V my-label -C v -cf volume.tar file
rm -rf v
