python3 - <<'PY'
import tarfile, io
long_dir = 'd' * 90 + '/' + 'e' * 90
long_file = long_dir + '/' + 'f' * 80 + '.txt'
def build(path, fmt):
    t = tarfile.open(path, 'w', format=fmt)
    def f(name, data=b'', typ=tarfile.REGTYPE, link='', mode=0o644):
        i = tarfile.TarInfo(name); i.mode = mode; i.type = typ; i.linkname = link; i.mtime = 1000000000
        if typ == tarfile.REGTYPE:
            i.size = len(data); t.addfile(i, io.BytesIO(data))
        else:
            t.addfile(i)
    f(long_file, b'long\n')
    f('s' * 120, typ=tarfile.SYMTYPE, link=long_file, mode=0o777)
    f('h' * 110, typ=tarfile.LNKTYPE, link=long_file)
    if fmt != tarfile.USTAR_FORMAT:
        f('ünïcödé/名前.txt', b'u\n')
    t.close()
build('gnu.tar', tarfile.GNU_FORMAT)
build('pax.tar', tarfile.PAX_FORMAT)
# USTAR: names up to 255 split into prefix/name (no links with >100 char targets there)
t = tarfile.open('ustar.tar', 'w', format=tarfile.USTAR_FORMAT)
i = tarfile.TarInfo(('p' * 60 + '/') * 2 + 'n' * 90); i.size = 3; i.mode = 0o644; i.mtime = 1000000000
t.addfile(i, io.BytesIO(b'us\n'))
t.close()
# v7: AREGTYPE ('\0') with a trailing slash
t = tarfile.open('v7.tar', 'w', format=tarfile.USTAR_FORMAT)
i = tarfile.TarInfo('olddir/'); i.type = tarfile.AREGTYPE; i.mode = 0o750; i.mtime = 1000000000
t.addfile(i)
i = tarfile.TarInfo('olddir/file'); i.type = tarfile.AREGTYPE; i.mode = 0o644; i.size = 2; i.mtime = 1000000000
t.addfile(i, io.BytesIO(b'v\n'))
t.close()
PY
