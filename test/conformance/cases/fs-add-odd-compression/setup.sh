mkdir -p t/a; echo a > t/a/a.txt
tar --numeric-owner --owner=0 --group=0 --mtime=@1000000000 -C t -cf - a | lz4 -q > x.tar.lz4
rm -rf t
