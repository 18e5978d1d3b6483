mkdir -p t/a; echo a > t/a/a.txt
tar --numeric-owner --owner=0 --group=0 --mtime=@1000000000 -C t -cf - a | gzip -n > good.tar.gz
python3 - <<'PY'
d = bytearray(open('good.tar.gz', 'rb').read())
d[-8] ^= 0xff
open('badcrc.tar.gz', 'wb').write(bytes(d))
PY
rm -rf t good.tar.gz
