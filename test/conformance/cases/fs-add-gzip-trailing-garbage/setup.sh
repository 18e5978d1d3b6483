mkdir -p t/a; echo a > t/a/a.txt
tar --numeric-owner --owner=0 --group=0 --mtime=@1000000000 -C t -cf - a | gzip -n > garbage.tar.gz
printf 'not gzip at all\n' >> garbage.tar.gz
rm -rf t
