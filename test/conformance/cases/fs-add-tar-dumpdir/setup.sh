mkdir -p s/d; echo f > s/d/f; chmod 0644 s/d/f; chmod 0755 s/d
tar --numeric-owner --owner=0 --group=0 --mtime=@1000000000 --listed-incremental=snar -C s -cf incr.tar d
rm -rf s snar
