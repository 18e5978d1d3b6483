mkdir -p s; echo f > s/fifo; echo h > s/hl-a; echo r > s/ro; chmod 0644 s/fifo s/hl-a s/ro
tar --numeric-owner --owner=0 --group=0 --mtime=@1000000000 -C s -cf over.tar fifo hl-a ro
rm -rf s
