mkdir -p s/was-file s/link s/rel-link
echo now-file > s/was-dir; echo n > s/was-file/n; echo through > s/link/f; echo rel > s/rel-link/g
chmod 0644 s/was-dir s/was-file/n s/link/f s/rel-link/g; chmod 0755 s/was-file s/link s/rel-link
tar --numeric-owner --owner=0 --group=0 -C s -cf change.tar was-dir was-file link rel-link
rm -rf s
