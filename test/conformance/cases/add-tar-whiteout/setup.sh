# An archive with whiteout-like names (made here: owners and modes fixed).
mkdir -p s/dir s/opq
printf 'x\n' > s/dir/x
printf '' > s/dir/.wh.gone
printf '' > s/opq/.wh..wh..opq
printf 'n\n' > s/opq/new
chmod 0644 s/dir/x s/dir/.wh.gone s/opq/.wh..wh..opq s/opq/new
chmod 0755 s/dir s/opq
tar --numeric-owner --owner=0 --group=0 -C s -cf wh.tar dir opq
rm -rf s
