mkdir -p t/a t/b t/c
echo a > t/a/a.txt; echo b > t/b/b.txt; echo c > t/c/c.txt; echo plain > plain.txt
T='--numeric-owner --owner=0 --group=0 --mtime=@1000000000'
tar $T -C t -czf x.tgz a
tar $T -C t -cf - b | gzip -n > noext
tar $T -C t -cf - c | gzip -n > looks-plain.txt
tar $T -C t -cf - a b | zstd -q > z.tar.zst
tar $T -C t -cf whole.tar a b c
size=$(stat -c %s whole.tar)
head -c 2048 whole.tar | gzip -n > multi.tar.gz
tail -c +2049 whole.tar | gzip -n >> multi.tar.gz
# the archive's entries without the two zero blocks (and the padding) at the end
python3 - <<'PY'
import tarfile
t = tarfile.open('whole.tar')
end = t.offset
for m in t.getmembers(): pass
end = t.offset
t.close()
data = open('whole.tar', 'rb').read()
open('noend.tar', 'wb').write(data[:end])
open('trailing.tar', 'wb').write(data + b'garbage after the end\n' * 50)
PY
rm -rf t whole.tar
