mkdir -p t/tree; echo one > t/tree/one
tar --numeric-owner --owner=9 --group=9 --mtime=@1000000000 -C t -cf plain.tar tree
rm -rf t
