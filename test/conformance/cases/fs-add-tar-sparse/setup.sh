mkdir -p s
truncate -s 1048576 s/holes
printf 'start' | dd of=s/holes conv=notrunc status=none
printf 'middle' | dd of=s/holes bs=1 seek=300000 conv=notrunc status=none
printf 'end' | dd of=s/holes bs=1 seek=1048573 conv=notrunc status=none
chmod 0644 s/holes
tar --numeric-owner --owner=0 --group=0 --mtime=@1000000000 --sparse --format=pax --sparse-version=1.0 -C s -cf pax-sparse.tar holes
rm -rf s
# GNU tar names the entry ./GNUSparseFile.<pid>/holes: make the pid a fixed 1 (checksums redone)
python3 - <<'PY'
import re
d = bytearray(open('pax-sparse.tar', 'rb').read())
for off in range(0, len(d), 512):
    blk = d[off:off+512]
    if blk[257:262] != b'ustar':
        continue
    name = bytes(blk[0:100]).rstrip(b'\0')
    new = re.sub(rb'GNUSparseFile\.\d+', b'GNUSparseFile.1', name)
    if new != name:
        d[off:off+100] = new.ljust(100, b'\0')
        d[off+148:off+156] = b' ' * 8
        d[off+148:off+156] = b'%06o\0 ' % sum(d[off:off+512])
open('pax-sparse.tar', 'wb').write(bytes(d))
PY
